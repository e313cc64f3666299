"""POST/GET /v1/circuits: verification keys by circuit id (admin registers)."""

from __future__ import annotations

import hashlib
import json

from fastapi import APIRouter, Request

from circuits.registry import circuit_from_id
from verifier_service.deps import now_iso, require, state_of
from verifier_service.errors import ApiError
from verifier_service.schemas import KEY_REQUIRED, CircuitInfo, CircuitRegistration, error_responses
from zkmargin.groth16.serialization import vk_from_json

router = APIRouter(prefix="/v1/circuits", tags=["circuits"])
ERRORS = error_responses(401, 403, 409, 422, 429, 503)


@router.post("", status_code=201, response_model=CircuitInfo, responses=ERRORS, openapi_extra=KEY_REQUIRED)
def register_circuit(body: CircuitRegistration, request: Request) -> CircuitInfo:
    """Register a circuit's verification key (unsafe keys and wrong input counts are refused)."""
    require(request, "admin")
    state = state_of(request)
    circuit = circuit_from_id(body.circuit_id)
    vk = vk_from_json(body.verification_key, state.backend)
    if vk.num_public != circuit.num_public:
        raise ApiError(422, "wrong_public_input_count",
                       f"{body.circuit_id} has {circuit.num_public} public inputs; the key expects {vk.num_public}")
    text = json.dumps(body.verification_key, sort_keys=True, separators=(",", ":"))
    info = CircuitInfo(circuit_id=body.circuit_id, num_public=vk.num_public,
                       vk_digest=hashlib.sha256(text.encode()).hexdigest(), registered_at=now_iso())
    with state.storage.transaction() as cursor:
        cursor.execute("SELECT vk_digest FROM circuits WHERE circuit_id = ?", (body.circuit_id,))
        existing = cursor.fetchone()
        if existing is not None:
            if existing[0] == info.vk_digest:
                raise ApiError(409, "already_registered", f"circuit {body.circuit_id!r} is already registered")
            raise ApiError(409, "conflict", f"circuit {body.circuit_id!r} is registered with a different key")
        cursor.execute(
            "INSERT INTO circuits (circuit_id, verification_key, num_public, vk_digest, registered_at) VALUES (?, ?, ?, ?, ?)",
            (info.circuit_id, text, info.num_public, info.vk_digest, info.registered_at),
        )
    return info


@router.get("", response_model=list[CircuitInfo], responses=error_responses(503))
def list_circuits(request: Request) -> list[CircuitInfo]:
    """All registered circuits."""
    rows = state_of(request).storage.fetch_all(
        "SELECT circuit_id, num_public, vk_digest, registered_at FROM circuits ORDER BY circuit_id")
    return [CircuitInfo(circuit_id=r[0], num_public=r[1], vk_digest=r[2], registered_at=r[3]) for r in rows]


@router.get("/{circuit_id}", response_model=CircuitInfo, responses=error_responses(404, 422, 503))
def get_circuit(circuit_id: str, request: Request) -> CircuitInfo:
    """One registered circuit."""
    row = state_of(request).storage.fetch_one(
        "SELECT circuit_id, num_public, vk_digest, registered_at FROM circuits WHERE circuit_id = ?", (circuit_id,))
    if row is None:
        raise ApiError(404, "unknown_circuit", f"circuit {circuit_id!r} is not registered")
    return CircuitInfo(circuit_id=row[0], num_public=row[1], vk_digest=row[2], registered_at=row[3])
