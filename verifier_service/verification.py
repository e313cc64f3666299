"""The service's verification path: cached keys and snapshots, checked decoding, durable receipts.

Helpers here raise typed errors (UnknownCircuit, UnknownSnapshot, SnapshotDoesNotFit, the
library's ZkMarginError) or return values; the app maps the errors to HTTP responses.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import uuid
from operator import attrgetter

from cachetools import LRUCache, cachedmethod
from cachetools.keys import hashkey

from circuits.circuit import AnyCircuit
from circuits.proving import parse_field_element
from circuits.registry import circuit_from_id
from verifier_service.deps import ServiceState, now_iso
from verifier_service.errors import SnapshotDoesNotFit, UnknownCircuit, UnknownSnapshot
from verifier_service.repository import ReceiptRecord, Repository
from verifier_service.schemas import FIELD_ELEMENT
from zkmargin.errors import FormatError, ZkMarginError
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


class Catalog:
    """Registered circuits and published snapshots as parsed objects, in LRU caches per process.

    Keys and snapshots never change once stored, so an entry is never stale; a failed load
    (an unknown id) is not cached, since the id may be registered later.
    """

    def __init__(self, repository: Repository, backend, max_circuits: int = 256,  # noqa: ANN001
                 max_snapshots: int = 1024) -> None:
        self.repository, self.backend = repository, backend
        self.circuit_cache: LRUCache = LRUCache(max(1, max_circuits))
        self.snapshot_cache: LRUCache = LRUCache(max(1, max_snapshots))
        """Parsed snapshots, their per-circuit public inputs and folded fixed inputs."""
        self.lock = threading.Lock()

    @cachedmethod(attrgetter("circuit_cache"), lock=attrgetter("lock"))
    def circuit(self, circuit_id: str):  # noqa: ANN201
        """(circuit, parsed verification key) of a registered circuit."""
        text = self.repository.circuit_key(circuit_id)
        if text is None:
            raise UnknownCircuit(circuit_id)
        return circuit_from_id(circuit_id), vk_from_json(text, self.backend)

    @cachedmethod(attrgetter("snapshot_cache"), key=lambda _, snapshot_id: hashkey("snapshot", snapshot_id),
                  lock=attrgetter("lock"))
    def snapshot(self, snapshot_id: str):  # noqa: ANN201
        """(snapshot, its digest) of a published snapshot."""
        record = self.repository.snapshot(snapshot_id)
        if record is None:
            raise UnknownSnapshot(snapshot_id)
        return parse_snapshot(json.loads(record.document)), record.digest

    @cachedmethod(attrgetter("snapshot_cache"), lock=attrgetter("lock"),
                  key=lambda _, circuit, snapshot: hashkey("inputs", circuit.circuit_id, snapshot.snapshot_id))
    def snapshot_inputs(self, circuit: AnyCircuit, snapshot) -> list[int]:  # noqa: ANN001
        """The snapshot's public inputs for this circuit (risk arrays are not free to derive)."""
        try:
            return circuit.snapshot_inputs(snapshot)
        except ZkMarginError as exc:
            raise SnapshotDoesNotFit(str(exc)) from None

    @cachedmethod(attrgetter("snapshot_cache"), lock=attrgetter("lock"),
                  key=lambda _, circuit, vk, snapshot: hashkey("fixed", circuit.circuit_id, snapshot.snapshot_id))
    def fixed_inputs(self, circuit: AnyCircuit, vk, snapshot) -> FixedInputs:  # noqa: ANN001
        """The snapshot's public inputs folded into one point per (circuit, snapshot): per proof, only
        the commitment and the context are multiplied."""
        return fixed_inputs_sum(vk, 2, self.snapshot_inputs(circuit, snapshot), self.backend)


_CANONICAL_FIELD_ELEMENT = re.compile(FIELD_ELEMENT)


def canonical_field_element(text: str, what: str) -> int:
    """A commitment or context in its one canonical text (see schemas.FIELD_ELEMENT), below r."""
    # int() alone would also take " +1001 ", "1_001", "-0" and non-ASCII digits: one number, many texts.
    if not _CANONICAL_FIELD_ELEMENT.fullmatch(text):
        raise FormatError(f"{what}: {text[:100]!r} is not a canonical decimal (no sign, spaces, underscores "
                          "or leading zeros; ASCII digits) or 0x-hex (lowercase, no leading zeros)")
    return parse_field_element(text, what)


def decode_proof(backend, proof: dict | None, proof_b64: str | None) -> Proof:  # noqa: ANN001
    """A checked proof from snarkjs JSON or base64 bytes (the request schema makes exactly one present)."""
    if proof is not None:
        return proof_from_json(proof, backend)
    try:
        data = base64.b64decode(proof_b64 or "", validate=True)
    except (binascii.Error, ValueError):
        raise FormatError("proof_b64 is not valid base64") from None
    return proof_from_bytes(data, backend)


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


def new_receipt(circuit_id: str, snapshot_id: str, snapshot_digest: str, commitment: int, context: int,
                proof_hex: str, valid: bool) -> ReceiptRecord:
    """The receipt of one verdict (not yet stored)."""
    return ReceiptRecord(
        receipt_id=uuid.uuid4().hex, circuit_id=circuit_id, snapshot_id=snapshot_id, snapshot_digest=snapshot_digest,
        commitment=str(commitment), context=str(context), proof_hex=proof_hex, valid=valid,
        reason="proof verifies for these inputs" if valid else "proof does not verify for these inputs",
        input_digest=input_digest(circuit_id, snapshot_id, snapshot_digest, commitment, context, proof_hex, valid),
        checked_at=now_iso())


def verify_and_record(state: ServiceState, request) -> ReceiptRecord:  # noqa: ANN001
    """Verify one request (CPU-bound: runs in the worker pool) and commit its receipt."""
    circuit, vk = state.catalog.circuit(request.circuit_id)
    snapshot, snapshot_digest = state.catalog.snapshot(request.snapshot_id)
    commitment = canonical_field_element(request.commitment, "commitment")
    context = canonical_field_element(request.context, "context")
    proof = decode_proof(state.backend, request.proof.model_dump(exclude_none=True) if request.proof else None,
                         request.proof_b64)
    valid = verify_with_fixed_inputs(vk, [commitment, context], state.catalog.fixed_inputs(circuit, vk, snapshot),
                                     proof, state.backend)
    state.metrics.observe_result("valid" if valid else "invalid")
    receipt = new_receipt(circuit.circuit_id, snapshot.snapshot_id, snapshot_digest, commitment, context,
                          proof_to_bytes(proof, state.backend).hex(), valid)
    state.repository.insert_receipts([receipt])
    return receipt


def verify_batch_and_record(state: ServiceState, request) -> dict:  # noqa: ANN001
    """The auditor's batch path (zkmargin.groth16.batch) with one receipt per well-formed item."""
    circuit, vk = state.catalog.circuit(request.circuit_id)
    snapshot, snapshot_digest = state.catalog.snapshot(request.snapshot_id)
    fixed = state.catalog.fixed_inputs(circuit, vk, snapshot)
    items: list[BatchItem] = []
    decoded: list[tuple[int, int, str] | None] = []
    for item in request.items:
        try:
            commitment = canonical_field_element(item.commitment, "commitment")
            context = canonical_field_element(item.context, "context")
            proof = decode_proof(state.backend, item.proof.model_dump(exclude_none=True) if item.proof else None,
                                 item.proof_b64)
        except ZkMarginError as exc:
            items.append(BatchItem(error=str(exc), label=item.id or ""))
            decoded.append(None)
            continue
        items.append(BatchItem([commitment, context], proof, label=item.id or ""))
        decoded.append((commitment, context, proof_to_bytes(proof, state.backend).hex()))
    result = verify_batch(vk, items, state.backend, fixed=fixed)
    results, receipts = [], []
    for verdict, entry, item in zip(result.items, decoded, request.items):
        receipt_id = None
        if entry is not None:
            receipt = new_receipt(circuit.circuit_id, snapshot.snapshot_id, snapshot_digest, *entry, verdict.valid)
            receipts.append(receipt)
            receipt_id = receipt.receipt_id
        state.metrics.observe_result("valid" if verdict.valid else ("malformed" if verdict.error else "invalid"))
        results.append({"index": verdict.index, "id": item.id, "valid": verdict.valid, "error": verdict.error,
                        "receipt_id": receipt_id})
    state.repository.insert_receipts(receipts)
    return {
        "valid": sum(r["valid"] for r in results),
        "invalid": sum(not r["valid"] and r["error"] is None for r in results),
        "malformed": sum(r["error"] is not None for r in results),
        "results": results,
    }
