"""POST/GET /v1/circuits: verification keys by circuit id (admin registers)."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path

from zkmargin.circuits.registry import circuit_from_id
from zkmargin.errors import CeremonyError, EncodingError
from zkmargin.groth16.ptau import read_ptau
from zkmargin.groth16.serialization import vk_digest, vk_from_json
from zkmargin.groth16.transcript import check_transcript
from zkmargin.groth16.zkey import ZKey, new_zkey
from zkmargin.verifier_service.deps import KEY_OPTIONAL_OPENAPI, Admin, Reader, State, now_iso
from zkmargin.verifier_service.errors import ApiError
from zkmargin.verifier_service.repository import CircuitRecord, TranscriptRecord
from zkmargin.verifier_service.schemas import (
    REGISTERED_CIRCUIT_ID,
    CircuitInfo,
    CircuitRegistration,
    ContributorInfo,
    error_responses,
)
from zkmargin.verifier_service.strict_json import StrictJsonRoute

router = APIRouter(prefix="/v1/circuits", tags=["circuits"], route_class=StrictJsonRoute)
CircuitId = Annotated[str, Path(pattern=REGISTERED_CIRCUIT_ID, examples=["cross-n64-k8"])]


def _info(record: CircuitRecord) -> CircuitInfo:
    contributions = [] if record.contributions is None else json.loads(record.contributions)
    return CircuitInfo(circuit_id=record.circuit_id, num_public=record.num_public, vk_digest=record.vk_digest,
                       registered_at=record.registered_at,
                       setup="single-party" if record.contributions is None else "ceremony",
                       contributions=[ContributorInfo(**entry) for entry in contributions])


def _canonical(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


_initial_keys: dict[tuple[str, int, int, str, str], ZKey] = {}
_initial_keys_lock = threading.Lock()


def _initial_key(state: State, circuit_id: str) -> ZKey:
    """The circuit's initial .zkey from our own R1CS and the configured ptau (header and IC kept, per process)."""
    setting = state.settings.ceremony_ptau
    if not setting:
        raise ApiError(422, "invalid_transcript", "this service has no phase-1 ptau (ZKMARGIN_CEREMONY_PTAU), so it "
                       "cannot tie a transcript to the circuit; register the key without one (single-party)")
    path = FilePath(setting)
    backend = state.backend
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, circuit_id, backend.name)
        with _initial_keys_lock:
            if key not in _initial_keys:
                # Registration is rare and the initial key costs about a setup: kept once per circuit,
                # without the sections no check reads.
                initial = new_zkey(circuit_from_id(circuit_id).compile(), read_ptau(path.read_bytes(), str(path)),
                                   backend)
                _initial_keys[key] = replace(initial, sections={3: initial.sections[3]})
            return _initial_keys[key]
    except OSError as exc:
        raise ApiError(422, "invalid_transcript", f"the service's ptau cannot be read ({exc.strerror})") from None
    except (EncodingError, CeremonyError) as exc:
        raise ApiError(422, "invalid_transcript", f"the service's ptau cannot serve {circuit_id}: {exc}") from None


@router.post("", status_code=201, response_model=CircuitInfo, responses=error_responses(401, 403, 409, 422, 429, 503))
def register_circuit(body: CircuitRegistration, state: State, _: Admin) -> CircuitInfo:
    """Register a circuit's verification key (unsafe keys and wrong input counts are refused), with its transcript.

    A transcript is checked against the circuit hash of the service's own R1CS and its ptau
    (ZKMARGIN_CEREMONY_PTAU), and every key point must follow from it (alpha, beta, gamma, IC
    from the initial key, delta_g2 from the last contribution); otherwise 422 invalid_transcript.
    vk_digest is zkmargin.groth16.serialization.vk_digest, the one `zkmargin setup` prints.

    Bodies here may be as large as ZKMARGIN_MAX_KEY_BODY_BYTES (32 MiB) when they carry the admin key.
    """
    circuit = circuit_from_id(body.circuit_id)
    key_json = body.verification_key.model_dump(exclude_unset=True)
    vk = vk_from_json(key_json, state.backend)
    if vk.num_public != circuit.num_public:
        raise ApiError(422, "wrong_public_input_count",
                       f"{body.circuit_id} has {circuit.num_public} public inputs; the key expects {vk.num_public}")
    transcript = None
    if body.transcript is not None:
        document = body.transcript.model_dump(exclude_none=True)
        initial = _initial_key(state, body.circuit_id)
        try:
            entries = check_transcript(document, vk, initial, state.backend)
        except CeremonyError as exc:
            raise ApiError(422, "invalid_transcript", str(exc)) from None
        transcript = TranscriptRecord(_canonical(document), _canonical(entries))
    text = _canonical(key_json)
    record = CircuitRecord(body.circuit_id, vk.num_public, vk_digest(vk, state.backend), now_iso(),
                           None if transcript is None else transcript.contributions)
    existing_digest = state.repository.insert_circuit(record, text, transcript)
    if existing_digest == record.vk_digest:
        raise ApiError(409, "already_registered", f"circuit {body.circuit_id!r} is already registered")
    if existing_digest is not None:
        raise ApiError(409, "conflict", f"circuit {body.circuit_id!r} is registered with a different key")
    return _info(record)


@router.get("", response_model=list[CircuitInfo], responses=error_responses(401, 429, 503),
            openapi_extra=KEY_OPTIONAL_OPENAPI)
def list_circuits(state: State, _: Reader) -> list[CircuitInfo]:
    """All registered circuits."""
    return [_info(record) for record in state.repository.circuits()]


@router.get("/{circuit_id}", response_model=CircuitInfo, responses=error_responses(401, 404, 422, 429, 503),
            openapi_extra=KEY_OPTIONAL_OPENAPI)
def get_circuit(circuit_id: CircuitId, state: State, _: Reader) -> CircuitInfo:
    """One registered circuit."""
    record = state.repository.circuit(circuit_id)
    if record is None:
        raise ApiError(404, "unknown_circuit", f"circuit {circuit_id!r} is not registered")
    return _info(record)
