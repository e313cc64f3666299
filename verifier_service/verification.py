"""The service's verification path: cached keys and snapshots, checked decoding, durable receipts.

Helpers here raise typed errors (UnknownCircuit, UnknownSnapshot, SnapshotDoesNotFit, the
library's ZkMarginError) or return values; the app maps the errors to HTTP responses.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from operator import attrgetter

from cachetools import LRUCache, cachedmethod
from cachetools.keys import hashkey

from zkmargin.circuits.circuit import AnyCircuit
from zkmargin.circuits.proving import parse_field_element
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.circuits.verification import ProofItem, SnapshotVerifier, decode_proof
from zkmargin.service.deps import ServiceState, now_iso
from zkmargin.service.errors import SnapshotDoesNotFit, UnknownCircuit, UnknownSnapshot
from zkmargin.service.repository import ReceiptRecord, Repository
from zkmargin.service.schemas import FIELD_ELEMENT
from zkmargin.attestation import (
    Attestation,
    SignedRoot,
    VenuePublicKey,
    attestation_to_json,
    parse_attestation,
    parse_public_key,
)
from zkmargin.errors import AttestationError, FormatError, MalformedAttestationError, ZkMarginError
from zkmargin.groth16.serialization import proof_to_bytes, vk_from_json
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
        """Parsed snapshots and their per-circuit snapshot verifiers (inputs folded once)."""
        self.venue_keys: LRUCache = LRUCache(max(1, max_snapshots))
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

    def venue_key(self, venue: str) -> VenuePublicKey | None:
        """The venue's registered key, or None (a registered key never changes, so found ones are cached)."""
        with self.lock:
            cached = self.venue_keys.get(venue)
        if cached is not None:
            return cached
        record = self.repository.venue_key(venue)
        if record is None:
            return None  # not cached: the venue may register later, and from then on its policy applies
        key = parse_public_key(json.loads(record.document))
        with self.lock:
            self.venue_keys[venue] = key
        return key

    def policy_verifier(self, circuit: AnyCircuit, vk, snapshot) -> SnapshotVerifier:  # noqa: ANN001
        """The snapshot verifier under the policy of the snapshot's venue: its attestation is required once
        the venue has a registered key."""
        return self.verifier(circuit, vk, snapshot).with_venue_key(self.venue_key(snapshot.venue))

    @cachedmethod(attrgetter("snapshot_cache"), lock=attrgetter("lock"),
                  key=lambda _, circuit, vk, snapshot: hashkey("verifier", circuit.circuit_id, snapshot.snapshot_id))
    def verifier(self, circuit: AnyCircuit, vk, snapshot) -> SnapshotVerifier:  # noqa: ANN001
        """The snapshot verifier of (circuit, snapshot): the snapshot's inputs derived and folded once, then cached
        (risk arrays are not free to derive)."""
        try:
            return SnapshotVerifier(circuit, vk, snapshot, self.backend)
        except ZkMarginError as exc:
            raise SnapshotDoesNotFit(str(exc)) from None


_CANONICAL_FIELD_ELEMENT = re.compile(FIELD_ELEMENT)


def canonical_field_element(text: str, what: str) -> int:
    """A commitment or context in its one canonical text (see schemas.FIELD_ELEMENT), below r."""
    # int() alone would also take " +1001 ", "1_001", "-0" and non-ASCII digits: one number, many texts.
    if not _CANONICAL_FIELD_ELEMENT.fullmatch(text):
        raise FormatError(f"{what}: {text[:100]!r} is not a canonical decimal (no sign, spaces, underscores "
                          "or leading zeros; ASCII digits) or 0x-hex (lowercase, no leading zeros)")
    return parse_field_element(text, what)


def root_id_of(signed: SignedRoot) -> str:
    """A signed root's id: SHA-256 (hex) of the bytes the venue signed (label, venue, snapshot digest, depth,
    leaf count, root), so the same root signed for two snapshots has two ids and anyone can recompute it."""
    return hashlib.sha256(signed.message()).hexdigest()


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
                proof_hex: str, valid: bool, attestation: Attestation | None = None) -> ReceiptRecord:
    """The receipt of one verdict (not yet stored), with the attestation it was accepted with."""
    return ReceiptRecord(
        receipt_id=uuid.uuid4().hex, circuit_id=circuit_id, snapshot_id=snapshot_id, snapshot_digest=snapshot_digest,
        commitment=str(commitment), context=str(context), proof_hex=proof_hex, valid=valid,
        reason="proof verifies for these inputs" if valid else "proof does not verify for these inputs",
        input_digest=input_digest(circuit_id, snapshot_id, snapshot_digest, commitment, context, proof_hex, valid),
        checked_at=now_iso(),
        attestation=None if attestation is None else json.dumps(attestation_to_json(attestation), sort_keys=True,
                                                                separators=(",", ":")))


def request_attestation(body) -> Attestation | None:  # noqa: ANN001
    """The attestation of a request or batch item, parsed (its signature is checked by the verifier)."""
    return None if body.attestation is None else parse_attestation(body.attestation.model_dump())


def verify_and_record(state: ServiceState, request) -> ReceiptRecord:  # noqa: ANN001
    """Verify one request (CPU-bound: runs in the worker pool) and commit its receipt."""
    circuit, vk = state.catalog.circuit(request.circuit_id)
    snapshot, snapshot_digest = state.catalog.snapshot(request.snapshot_id)
    commitment = canonical_field_element(request.commitment, "commitment")
    context = canonical_field_element(request.context, "context")
    proof = decode_proof(request.proof.model_dump(exclude_none=True) if request.proof else None, request.proof_b64,
                         state.backend)
    attestation = request_attestation(request)
    verifier = state.catalog.policy_verifier(circuit, vk, snapshot)
    try:
        valid = verifier.verify(commitment, context, proof, attestation)
    except AttestationError as exc:
        if not isinstance(exc, MalformedAttestationError):
            state.metrics.observe_result("refused")
        raise
    state.metrics.observe_result("valid" if valid else "invalid")
    receipt = new_receipt(circuit.circuit_id, snapshot.snapshot_id, snapshot_digest, commitment, context,
                          proof_to_bytes(proof, state.backend).hex(), valid,
                          attestation if verifier.venue_key is not None else None)
    state.repository.insert_receipts([receipt])
    return receipt


def verify_batch_and_record(state: ServiceState, request) -> dict:  # noqa: ANN001
    """The auditor's batch path (zkmargin.groth16.batch) with one receipt per well-formed item."""
    circuit, vk = state.catalog.circuit(request.circuit_id)
    snapshot, snapshot_digest = state.catalog.snapshot(request.snapshot_id)
    verifier = state.catalog.policy_verifier(circuit, vk, snapshot)
    items: list[ProofItem] = []
    decoded: list[tuple[int, int, str] | None] = []
    for item in request.items:
        try:
            commitment = canonical_field_element(item.commitment, "commitment")
            context = canonical_field_element(item.context, "context")
            proof = decode_proof(item.proof.model_dump(exclude_none=True) if item.proof else None, item.proof_b64,
                                 state.backend)
            attestation = request_attestation(item)
        except ZkMarginError as exc:
            items.append(ProofItem(error=str(exc), label=item.id or ""))
            decoded.append(None)
            continue
        items.append(ProofItem(commitment, context, proof, attestation, label=item.id or ""))
        decoded.append((commitment, context, proof_to_bytes(proof, state.backend).hex()))
    report = verifier.verify_batch(items)
    results, receipts = [], []
    for verdict, entry, item in zip(report.verdicts, decoded, request.items):
        receipt_id = None
        if entry is not None and verdict.refused is None:
            attested = items[verdict.index].attestation if verifier.venue_key is not None else None
            receipt = new_receipt(circuit.circuit_id, snapshot.snapshot_id, snapshot_digest, *entry, verdict.valid,
                                  attested)
            receipts.append(receipt)
            receipt_id = receipt.receipt_id
        state.metrics.observe_result(verdict.outcome)
        results.append({"index": verdict.index, "id": item.id, "valid": verdict.valid, "error": verdict.error,
                        "receipt_id": receipt_id, "refused": verdict.refused})
    state.repository.insert_receipts(receipts)
    return {**report.tally, "results": results}
