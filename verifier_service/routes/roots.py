"""POST/GET /v1/roots: a venue's signed Merkle root over the account commitments of a stored snapshot.

A root is what anonymous verification names (root_id) in place of a commitment and its attestation.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path

from zkmargin.venue.attestation import check_signed_root, parse_signed_root, signed_root_to_json
from zkmargin.verifier_service.deps import KEY_OPTIONAL_OPENAPI, Reader, State, Venue, now_iso
from zkmargin.verifier_service.errors import ApiError, refuse_unless
from zkmargin.verifier_service.repository import RootRecord
from zkmargin.verifier_service.schemas import RootIn, RootInfo, SignedRootJson, error_responses
from zkmargin.verifier_service.strict_json import StrictJsonRoute
from zkmargin.verifier_service.verification import root_id_of

router = APIRouter(prefix="/v1/roots", tags=["roots"], route_class=StrictJsonRoute)
RootId = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="the root_id returned at registration")]


def _info(record: RootRecord) -> RootInfo:
    return RootInfo(root_id=record.root_id, snapshot_id=record.snapshot_id, venue=record.venue, root=record.root,
                    depth=record.depth, leaf_count=record.leaf_count, registered_at=record.registered_at,
                    signed_root=SignedRootJson(**json.loads(record.document)))


@router.post("", status_code=201, response_model=RootInfo, responses=error_responses(401, 403, 404, 409, 422, 429, 503))
def register_root(body: RootIn, state: State, caller: Venue) -> RootInfo:
    """Register a signed root for a stored snapshot (venue API key); accepted only when signed by the key registered
    for the snapshot's venue, for that snapshot's digest (else 422 `root_refused`). A snapshot id several venues
    published needs its venue (else 409 `ambiguous_snapshot`)."""
    # Ids are unique per venue only: without a venue, the one venue that published the id (else 409).
    venue = body.venue if body.venue is not None else state.catalog.venue_of(body.snapshot_id)
    snapshot = state.repository.snapshot(venue, body.snapshot_id)
    if snapshot is None:
        raise ApiError(404, "unknown_snapshot", f"venue {venue!r} has published no snapshot {body.snapshot_id!r}")
    signed = parse_signed_root(body.signed_root.model_dump())
    key = state.catalog.venue_key(snapshot.venue)
    if key is None:
        raise ApiError(422, "root_refused", f"venue {snapshot.venue!r} has no registered key to check the root with")
    refuse_unless(check_signed_root, signed, key, bytes.fromhex(snapshot.digest), code="root_refused")
    document = json.dumps(signed_root_to_json(signed), sort_keys=True, separators=(",", ":"))
    record = RootRecord(root_id_of(signed), snapshot.snapshot_id, key.venue, str(signed.root), signed.depth,
                        signed.leaf_count, document, caller.key_id, now_iso())
    existing = state.repository.insert_root(record)
    if existing is not None:
        # The id covers everything signed; the same id is the same root of the same snapshot.
        raise ApiError(409, "already_registered", f"root {record.root_id} is already registered")
    return _info(record)


@router.get("/{root_id}", response_model=RootInfo, responses=error_responses(401, 404, 422, 429, 503),
            openapi_extra=KEY_OPTIONAL_OPENAPI)
def get_root(root_id: RootId, state: State, _: Reader) -> RootInfo:
    """A registered root with the venue's signature."""
    record = state.repository.root(root_id)
    if record is None:
        raise ApiError(404, "unknown_root", f"root {root_id!r} is not registered")
    return _info(record)
