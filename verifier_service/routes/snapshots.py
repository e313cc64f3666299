"""POST/GET /v1/snapshots: venues publish immutable snapshots."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path

from zkmargin.service.deps import KEY_OPTIONAL_OPENAPI, Reader, State, Venue, now_iso
from zkmargin.service.errors import ApiError
from zkmargin.service.repository import SnapshotRecord
from zkmargin.service.schemas import IDENTIFIER, SnapshotIn, SnapshotInfo, error_responses
from zkmargin.service.strict_json import StrictJsonRoute
from zkmargin.attestation import snapshot_digest
from zkmargin.margin.models import parse_snapshot, snapshot_to_json

router = APIRouter(prefix="/v1/snapshots", tags=["snapshots"], route_class=StrictJsonRoute)
SnapshotId = Annotated[str, Path(pattern=IDENTIFIER)]


@router.post("", status_code=201, response_model=SnapshotInfo, responses=error_responses(401, 403, 409, 422, 429, 503))
def publish_snapshot(body: SnapshotIn, state: State, caller: Venue) -> SnapshotInfo:
    """Publish a snapshot (venue key); ids are unique and snapshots never change."""
    snapshot = parse_snapshot(body.model_dump(exclude_none=True))
    document = snapshot_to_json(snapshot)
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    # The digest attestations sign: a receipt's snapshot_digest is the one the venue's attestation names.
    record = SnapshotRecord(snapshot.snapshot_id, snapshot.venue, snapshot_digest(snapshot).hex(),
                            caller.key_id, now_iso(), text)
    if not state.repository.insert_snapshot(record):
        raise ApiError(409, "already_published", f"snapshot {snapshot.snapshot_id!r} exists; snapshots are immutable")
    return SnapshotInfo(snapshot_id=record.snapshot_id, venue=record.venue, digest=record.digest,
                        published_at=record.published_at, document=document)


@router.get("/{snapshot_id}", response_model=SnapshotInfo, responses=error_responses(401, 404, 422, 429, 503),
            openapi_extra=KEY_OPTIONAL_OPENAPI)
def get_snapshot(snapshot_id: SnapshotId, state: State, _: Reader) -> SnapshotInfo:
    """A published snapshot."""
    record = state.repository.snapshot(snapshot_id)
    if record is None:
        raise ApiError(404, "unknown_snapshot", f"snapshot {snapshot_id!r} is not published")
    return SnapshotInfo(snapshot_id=record.snapshot_id, venue=record.venue, digest=record.digest,
                        published_at=record.published_at, document=json.loads(record.document))
