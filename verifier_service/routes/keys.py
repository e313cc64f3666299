"""POST /v1/keys: the admin creates venue and verifier API keys."""

from __future__ import annotations

from fastapi import APIRouter, Request

from verifier_service.deps import new_token, now_iso, require, state_of
from verifier_service.schemas import KEY_REQUIRED, KeyCreated, KeyRequest, error_responses

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.post("", status_code=201, response_model=KeyCreated,
             responses=error_responses(401, 403, 422, 429, 503), openapi_extra=KEY_REQUIRED)
def create_key(body: KeyRequest, request: Request) -> KeyCreated:
    """Create a key; only its SHA-256 is stored, the token is returned once."""
    require(request, "admin")
    token, key_id, key_hash = new_token()
    state_of(request).storage.execute(
        "INSERT INTO api_keys (key_id, key_hash, role, name, created_at) VALUES (?, ?, ?, ?, ?)",
        (key_id, key_hash, body.role, body.name, now_iso()),
    )
    return KeyCreated(key_id=key_id, role=body.role, name=body.name, token=token)
