"""POST /v1/snapshots, GET /v1/venues/{venue}/snapshots/{id}: venues publish immutable snapshots, each signed by the
venue's registered key, under ids of their own (two venues may use the same id; neither blocks the other)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path

from zkmargin.margin.models import parse_snapshot, snapshot_to_json
from zkmargin.venue.attestation import (
    check_snapshot_signature,
    parse_snapshot_signature,
    snapshot_digest,
    snapshot_signature_to_json,
)
from zkmargin.verifier_service.deps import KEY_OPTIONAL_OPENAPI, Reader, State, Venue, now_iso
from zkmargin.verifier_service.errors import AmbiguousSnapshot, ApiError, refuse_unless
from zkmargin.verifier_service.repository import SnapshotRecord
from zkmargin.verifier_service.routes.venues import VenueName
from zkmargin.verifier_service.schemas import (
    IDENTIFIER,
    SignedSnapshotIn,
    SnapshotInfo,
    SnapshotSignatureJson,
    error_responses,
)
from zkmargin.verifier_service.strict_json import StrictJsonRoute

router = APIRouter(prefix="/v1/snapshots", tags=["snapshots"], route_class=StrictJsonRoute)
venue_router = APIRouter(prefix="/v1/venues", tags=["snapshots"], route_class=StrictJsonRoute)
"""The snapshots of one venue: ids are unique per venue only."""
SnapshotId = Annotated[str, Path(pattern=IDENTIFIER)]


def _info(record: SnapshotRecord) -> SnapshotInfo:
    signature = None if record.signature is None else SnapshotSignatureJson(**json.loads(record.signature))
    return SnapshotInfo(snapshot_id=record.snapshot_id, venue=record.venue, digest=record.digest,
                        published_at=record.published_at, document=json.loads(record.document), signature=signature)


@router.post("", status_code=201, response_model=SnapshotInfo, responses=error_responses(401, 403, 409, 422, 429, 503))
def publish_snapshot(body: SignedSnapshotIn, state: State, caller: Venue) -> SnapshotInfo:
    """Publish a snapshot signed by its venue's registered key (venue API key); ids are unique per venue (another
    venue may use the same id), snapshots never change.

    The signature must be the registered key's over this snapshot's id and digest, and the snapshot must name
    that key's venue: an unsigned snapshot, a bad signature, another venue's key or a snapshot claiming
    another venue is refused with 422 `snapshot_refused`.
    """
    snapshot = parse_snapshot(body.snapshot.model_dump(exclude_none=True))
    signed = parse_snapshot_signature(body.signature.model_dump())
    key = state.catalog.venue_key(snapshot.venue)
    if key is None:
        raise ApiError(422, "snapshot_refused", f"venue {snapshot.venue!r} has no registered key: an admin registers "
                       "it (POST /v1/venues) before the venue's snapshots are accepted")
    # The venue stored is the key's: check_snapshot_signature refuses a snapshot naming any other.
    refuse_unless(check_snapshot_signature, signed, key, snapshot, code="snapshot_refused")
    document = snapshot_to_json(snapshot)
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    signature = json.dumps(snapshot_signature_to_json(signed), sort_keys=True, separators=(",", ":"))
    # The digest attestations sign: a receipt's snapshot_digest is the one the venue's attestation names.
    record = SnapshotRecord(snapshot.snapshot_id, key.venue, snapshot_digest(snapshot).hex(), caller.key_id, now_iso(),
                            text, signature)
    if not state.repository.insert_snapshot(record):
        raise ApiError(409, "already_published", f"venue {key.venue!r} already published snapshot "
                       f"{snapshot.snapshot_id!r}; snapshots are immutable")
    return _info(record)


@venue_router.get("/{venue}/snapshots/{snapshot_id}", response_model=SnapshotInfo,
                  responses=error_responses(401, 404, 422, 429, 503), openapi_extra=KEY_OPTIONAL_OPENAPI)
def get_venue_snapshot(venue: VenueName, snapshot_id: SnapshotId, state: State, _: Reader) -> SnapshotInfo:
    """A venue's published snapshot with the venue signature it was accepted with."""
    record = state.repository.snapshot(venue, snapshot_id)
    if record is None:
        raise ApiError(404, "unknown_snapshot", f"venue {venue!r} has published no snapshot {snapshot_id!r}")
    return _info(record)


@router.get("/{snapshot_id}", response_model=SnapshotInfo, responses=error_responses(401, 404, 409, 422, 429, 503),
            openapi_extra=KEY_OPTIONAL_OPENAPI)
def get_snapshot(snapshot_id: SnapshotId, state: State, _: Reader) -> SnapshotInfo:
    """The snapshot published under this id while only one venue has published it (409 `ambiguous_snapshot` once
    several have: read /v1/venues/{venue}/snapshots/{snapshot_id})."""
    venues = state.repository.snapshot_venues(snapshot_id)
    if not venues:
        raise ApiError(404, "unknown_snapshot", f"snapshot {snapshot_id!r} is not published")
    if len(venues) > 1:
        raise AmbiguousSnapshot(snapshot_id, venues)
    record = state.repository.snapshot(venues[0], snapshot_id)
    if record is None:  # unreachable: snapshots are never deleted
        raise ApiError(404, "unknown_snapshot", f"snapshot {snapshot_id!r} is not published")
    return _info(record)
