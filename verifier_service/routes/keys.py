"""POST/GET /v1/keys, DELETE /v1/keys/{key_id}: the admin creates, lists and revokes API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from zkmargin.verifier_service.deps import Admin, State, new_token, now_iso
from zkmargin.verifier_service.errors import ApiError
from zkmargin.verifier_service.repository import ApiKeyRecord
from zkmargin.verifier_service.schemas import KeyCreated, KeyInfo, KeyRequest, error_responses
from zkmargin.verifier_service.strict_json import StrictJsonRoute

router = APIRouter(prefix="/v1/keys", tags=["keys"], route_class=StrictJsonRoute)
KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="the key_id returned at creation")]


def _info(key: ApiKeyRecord) -> KeyInfo:
    return KeyInfo(key_id=key.key_id, role=key.role, name=key.name, created_at=key.created_at,
                   revoked_at=key.revoked_at)


@router.post("", status_code=201, response_model=KeyCreated, responses=error_responses(401, 403, 422, 429, 503))
def create_key(body: KeyRequest, state: State, _: Admin) -> KeyCreated:
    """Create a key; only its SHA-256 is stored, the token is returned once."""
    token, key_id, key_hash = new_token()
    state.repository.insert_api_key(ApiKeyRecord(key_id, key_hash, body.role, body.name, now_iso()))
    return KeyCreated(key_id=key_id, role=body.role, name=body.name, token=token)


@router.get("", response_model=list[KeyInfo], responses=error_responses(401, 403, 429, 503))
def list_keys(state: State, _: Admin) -> list[KeyInfo]:
    """Every key (never its secret), revoked ones included."""
    return [_info(key) for key in state.repository.api_keys()]


@router.delete("/{key_id}", response_model=KeyInfo, responses=error_responses(401, 403, 404, 422, 429, 503))
def revoke_key(key_id: KeyId, state: State, _: Admin) -> KeyInfo:
    """Revoke a key: from now on it is refused with 401 (revoking again changes nothing)."""
    key = state.repository.revoke_api_key(key_id, now_iso())
    if key is None:
        raise ApiError(404, "unknown_key", f"API key {key_id!r} does not exist")
    return _info(key)
