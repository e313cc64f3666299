"""The service's verification path: cached keys and snapshots, checked decoding, durable receipts."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid

from circuits.circuit import AnyCircuit
from circuits.proving import parse_field_element
from circuits.registry import circuit_from_id
from verifier_service.deps import ServiceState, now_iso
from verifier_service.errors import ApiError
from zkmargin.errors import ZkMarginError
from zkmargin.groth16 import Proof
from zkmargin.groth16.batch import BatchItem, verify_batch
from zkmargin.groth16.serialization import (
    proof_from_bytes,
    proof_from_json,
    proof_to_bytes,
    vk_from_json,
)
from zkmargin.groth16.verifier import FixedInputs, fixed_inputs_sum, verify_with_fixed_inputs
from zkmargin.margin.models import parse_snapshot


def load_circuit(state: ServiceState, circuit_id: str):  # noqa: ANN201
    """(circuit, parsed verification key) of a registered circuit, cached per process."""

    def load() -> tuple:
        row = state.storage.fetch_one("SELECT verification_key FROM circuits WHERE circuit_id = ?", (circuit_id,))
        if row is None:
            raise ApiError(404, "unknown_circuit", f"circuit {circuit_id!r} is not registered")
        return circuit_from_id(circuit_id), vk_from_json(row[0], state.backend)

    return state.vk_cache.get_or_compute(circuit_id, load)


def load_snapshot(state: ServiceState, snapshot_id: str):  # noqa: ANN201
    """(snapshot, its digest) from the store, cached per process (snapshots are immutable)."""

    def load() -> tuple:
        row = state.storage.fetch_one("SELECT document, digest FROM snapshots WHERE snapshot_id = ?", (snapshot_id,))
        if row is None:
            raise ApiError(404, "unknown_snapshot", f"snapshot {snapshot_id!r} is not published")
        return parse_snapshot(json.loads(row[0])), row[1]

    return state.snapshot_cache.get_or_compute(snapshot_id, load)


def decode_proof(state: ServiceState, proof: dict | None, proof_b64: str | None) -> Proof:
    """A checked proof from snarkjs JSON or base64 bytes; exactly one must be given."""
    if (proof is None) == (proof_b64 is None):
        raise ApiError(422, "invalid_request", "give exactly one of proof and proof_b64")
    if proof is not None:
        return proof_from_json(proof, state.backend)
    try:
        data = base64.b64decode(proof_b64 or "", validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "invalid_request", "proof_b64 is not valid base64") from None
    return proof_from_bytes(data, state.backend)


def input_digest(circuit_id: str, snapshot_id: str, snapshot_digest: str, commitment: int, context: int,
                 proof_hex: str, valid: bool) -> str:
    """SHA-256 over the canonical JSON (sorted keys, no spaces) of everything the verdict depends on.

    Anyone holding a receipt recomputes it from the receipt's own fields: circuit_id,
    snapshot_id, snapshot_digest, commitment and context (decimal strings), proof (the
    192-byte proof in hex) and valid (a JSON boolean).
    """
    canonical = json.dumps(
        {"circuit_id": circuit_id, "snapshot_id": snapshot_id, "snapshot_digest": snapshot_digest,
         "commitment": str(commitment), "context": str(context), "proof": proof_hex, "valid": valid},
        sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def snapshot_inputs(state: ServiceState, circuit: AnyCircuit, snapshot) -> list[int]:  # noqa: ANN001
    """The snapshot's public inputs for this circuit, derived once per process (risk arrays are not free)."""

    def derive() -> list[int]:
        try:
            return circuit.snapshot_inputs(snapshot)
        except ZkMarginError as exc:
            raise ApiError(422, "snapshot_does_not_fit", str(exc)) from None

    return state.snapshot_cache.get_or_compute((circuit.circuit_id, snapshot.snapshot_id), derive)


def fixed_inputs(state: ServiceState, circuit: AnyCircuit, vk, snapshot) -> FixedInputs:  # noqa: ANN001
    """The snapshot's public inputs folded into one point per (circuit, snapshot): per proof, only
    the commitment and the context are multiplied."""
    return state.snapshot_cache.get_or_compute(
        ("fixed", circuit.circuit_id, snapshot.snapshot_id),
        lambda: fixed_inputs_sum(vk, 2, snapshot_inputs(state, circuit, snapshot), state.backend))


def verify_and_record(state: ServiceState, request) -> dict:  # noqa: ANN001
    """Verify one request (CPU-bound: runs in the worker pool) and commit its receipt."""
    circuit, vk = load_circuit(state, request.circuit_id)
    snapshot, snapshot_digest = load_snapshot(state, request.snapshot_id)
    commitment = parse_field_element(request.commitment, "commitment")
    context = parse_field_element(request.context, "context")
    proof = decode_proof(state, request.proof.model_dump(exclude_none=True) if request.proof else None, request.proof_b64)
    valid = verify_with_fixed_inputs(vk, [commitment, context], fixed_inputs(state, circuit, vk, snapshot), proof,
                                     state.backend)
    state.metrics.observe_result("valid" if valid else "invalid")
    return record_receipt(state, circuit.circuit_id, snapshot.snapshot_id, snapshot_digest, commitment, context,
                          proof_to_bytes(proof, state.backend).hex(), valid)


def record_receipt(state: ServiceState, circuit_id: str, snapshot_id: str, snapshot_digest: str, commitment: int,
                   context: int, proof_hex: str, valid: bool, cursor=None) -> dict:  # noqa: ANN001
    """Store a receipt (committed before returning unless inside the caller's transaction)."""
    receipt = {
        "valid": valid,
        "reason": "proof verifies for these inputs" if valid else "proof does not verify for these inputs",
        "receipt_id": uuid.uuid4().hex,
        "checked_at": now_iso(),
        "circuit_id": circuit_id,
        "snapshot_id": snapshot_id,
        "snapshot_digest": snapshot_digest,
        "commitment": str(commitment),
        "context": str(context),
        "input_digest": input_digest(circuit_id, snapshot_id, snapshot_digest, commitment, context, proof_hex, valid),
    }
    statement = ("INSERT INTO receipts (receipt_id, circuit_id, snapshot_id, commitment, context, proof, valid, reason,"
                 " input_digest, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    params = (receipt["receipt_id"], circuit_id, snapshot_id, receipt["commitment"], receipt["context"], proof_hex,
              int(valid), receipt["reason"], receipt["input_digest"], receipt["checked_at"])
    if cursor is None:
        state.storage.execute(statement, params)
    else:
        cursor.execute(statement, params)
    return receipt


def verify_batch_and_record(state: ServiceState, request) -> dict:  # noqa: ANN001
    """The auditor's batch path (zkmargin.groth16.batch) with one receipt per well-formed item."""
    if len(request.items) > state.settings.max_batch_items:
        raise ApiError(413, "batch_too_large", f"at most {state.settings.max_batch_items} items per batch")
    circuit, vk = load_circuit(state, request.circuit_id)
    snapshot, snapshot_digest = load_snapshot(state, request.snapshot_id)
    fixed = fixed_inputs(state, circuit, vk, snapshot)
    items: list[BatchItem] = []
    decoded: list[tuple[int, int, str] | None] = []
    for item in request.items:
        try:
            commitment = parse_field_element(item.commitment, "commitment")
            context = parse_field_element(item.context, "context")
            proof = decode_proof(state, item.proof.model_dump(exclude_none=True) if item.proof else None, item.proof_b64)
        except (ZkMarginError, ApiError) as exc:
            items.append(BatchItem(error=getattr(exc, "message", str(exc)), label=item.id or ""))
            decoded.append(None)
            continue
        items.append(BatchItem([commitment, context], proof, label=item.id or ""))
        decoded.append((commitment, context, proof_to_bytes(proof, state.backend).hex()))
    result = verify_batch(vk, items, state.backend, fixed=fixed)
    results = []
    with state.storage.transaction() as cursor:
        for verdict, entry, item in zip(result.items, decoded, request.items):
            receipt_id = None
            if entry is not None:
                receipt = record_receipt(state, circuit.circuit_id, snapshot.snapshot_id, snapshot_digest, *entry,
                                         verdict.valid, cursor=cursor)
                receipt_id = receipt["receipt_id"]
            state.metrics.observe_result("valid" if verdict.valid else ("malformed" if verdict.error else "invalid"))
            results.append({"index": verdict.index, "id": item.id, "valid": verdict.valid, "error": verdict.error,
                            "receipt_id": receipt_id})
    return {
        "valid": sum(r["valid"] for r in results),
        "invalid": sum(not r["valid"] and r["error"] is None for r in results),
        "malformed": sum(r["error"] is not None for r in results),
        "results": results,
    }
