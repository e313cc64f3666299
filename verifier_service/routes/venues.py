"""POST/GET /v1/venues: venues' public keys (admin registers); attestations are checked against them."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path

from zkmargin.venue.attestation import parse_public_key, public_key_to_json
from zkmargin.verifier_service.deps import KEY_OPTIONAL_OPENAPI, Admin, Reader, State, now_iso
from zkmargin.verifier_service.errors import ApiError
from zkmargin.verifier_service.repository import VenueKeyRecord
from zkmargin.verifier_service.schemas import NAME, VenueKeyDocument, VenueKeyInfo, error_responses
from zkmargin.verifier_service.strict_json import StrictJsonRoute

router = APIRouter(prefix="/v1/venues", tags=["venues"], route_class=StrictJsonRoute)
VenueName = Annotated[str, Path(pattern=NAME, max_length=128)]


def _info(record: VenueKeyRecord) -> VenueKeyInfo:
    return VenueKeyInfo(venue=record.venue, key_id=record.key_id, registered_at=record.registered_at,
                        document=VenueKeyDocument(**json.loads(record.document)))


@router.post("", status_code=201, response_model=VenueKeyInfo, responses=error_responses(401, 403, 409, 422, 429, 503))
def register_venue_key(body: VenueKeyDocument, state: State, _: Admin) -> VenueKeyInfo:
    """Register a venue's public key; from then on, proofs against its snapshots need its attestation."""
    key = parse_public_key(body.model_dump())
    document = json.dumps(public_key_to_json(key), sort_keys=True, separators=(",", ":"))
    record = VenueKeyRecord(key.venue, document, key.key_id, now_iso())
    existing = state.repository.insert_venue_key(record)
    if existing is not None:
        same = existing.document == document
        raise ApiError(409, "already_registered" if same else "conflict",
                       f"venue {key.venue!r} is already registered" + ("" if same else " with a different key"))
    return _info(record)


@router.get("/{venue}", response_model=VenueKeyInfo, responses=error_responses(401, 404, 422, 429, 503),
            openapi_extra=KEY_OPTIONAL_OPENAPI)
def get_venue_key(venue: VenueName, state: State, _: Reader) -> VenueKeyInfo:
    """A venue's registered public key."""
    record = state.repository.venue_key(venue)
    if record is None:
        raise ApiError(404, "unknown_venue", f"venue {venue!r} has no registered key")
    return _info(record)
