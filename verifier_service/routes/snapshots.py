"""POST/GET /v1/snapshots: venues publish immutable snapshots."""

from __future__ import annotations

import hashlib
import json

from fastapi import APIRouter, Request

from verifier_service.deps import now_iso, require, state_of
from verifier_service.errors import ApiError
from verifier_service.schemas import KEY_REQUIRED, SnapshotIn, SnapshotInfo, error_responses
from zkmargin.margin.models import parse_snapshot, snapshot_to_json

router = APIRouter(prefix="/v1/snapshots", tags=["snapshots"])


@router.post("", status_code=201, response_model=SnapshotInfo,
             responses=error_responses(401, 403, 409, 422, 429, 503), openapi_extra=KEY_REQUIRED)
def publish_snapshot(body: SnapshotIn, request: Request) -> SnapshotInfo:
    """Publish a snapshot (venue key); ids are unique and snapshots never change."""
    caller = require(request, "venue")
    state = state_of(request)
    snapshot = parse_snapshot(body.model_dump(exclude_none=True))
    document = snapshot_to_json(snapshot)
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    info = SnapshotInfo(snapshot_id=snapshot.snapshot_id, venue=snapshot.venue,
                        digest=hashlib.sha256(text.encode()).hexdigest(), published_at=now_iso(), document=document)
    with state.storage.transaction() as cursor:
        cursor.execute("SELECT 1 FROM snapshots WHERE snapshot_id = ?", (snapshot.snapshot_id,))
        if cursor.fetchone() is not None:
            raise ApiError(409, "already_published", f"snapshot {snapshot.snapshot_id!r} exists; snapshots are immutable")
        cursor.execute(
            "INSERT INTO snapshots (snapshot_id, document, venue, digest, published_by, published_at) VALUES (?, ?, ?, ?, ?, ?)",
            (info.snapshot_id, text, info.venue, info.digest, caller.key_id, info.published_at),
        )
    return info


@router.get("/{snapshot_id}", response_model=SnapshotInfo, responses=error_responses(404, 422, 503))
def get_snapshot(snapshot_id: str, request: Request) -> SnapshotInfo:
    """A published snapshot."""
    row = state_of(request).storage.fetch_one(
        "SELECT snapshot_id, venue, digest, published_at, document FROM snapshots WHERE snapshot_id = ?", (snapshot_id,))
    if row is None:
        raise ApiError(404, "unknown_snapshot", f"snapshot {snapshot_id!r} is not published")
    return SnapshotInfo(snapshot_id=row[0], venue=row[1], digest=row[2], published_at=row[3], document=json.loads(row[4]))
