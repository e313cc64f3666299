"""The service's verification path: cached keys and snapshots, checked decoding, durable receipts.

Helpers here raise typed errors (UnknownCircuit, UnknownSnapshot, SnapshotDoesNotFit, the
library's ZkMarginError) or return values; the app maps the errors to HTTP responses.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from cachetools import LRUCache, cachedmethod
from cachetools.keys import hashkey

from zkmargin.backends import CurveBackend
from zkmargin.book.document import AnyBook
from zkmargin.circuits.circuit import AnyCircuit
from zkmargin.circuits.proving import canonical_field_element
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.circuits.verification import ProofItem, SnapshotVerifier, encoded_proof
from zkmargin.errors import FormatError, PublicInputError, ZkMarginError
from zkmargin.groth16.data_structures import VerifyingKey
from zkmargin.groth16.serialization import vk_from_json
from zkmargin.margin.models import Snapshot, parse_snapshot
from zkmargin.venue.attestation import (
    Attestation,
    SignedRoot,
    VenuePublicKey,
    attestation_to_json,
    parse_attestation,
    parse_public_key,
    parse_signed_root,
)
from zkmargin.verifier_service.deps import ServiceState, now_iso
from zkmargin.verifier_service.errors import (
    AmbiguousSnapshot,
    SnapshotDoesNotFit,
    UnknownCircuit,
    UnknownRoot,
    UnknownSnapshot,
)
from zkmargin.verifier_service.repository import BookRecord, ReceiptRecord, Repository, RootRecord
from zkmargin.verifier_service.schemas import BatchItemIn, VerifyBatchRequest, VerifyRequest


@dataclass(frozen=True)
class RegisteredRoot:
    """A root as registered (checked against its snapshot's venue key then) and its signed document."""

    record: RootRecord
    signed: SignedRoot

    @property
    def root(self) -> int:
        """The root as a field element."""
        return self.signed.root


@dataclass(frozen=True)
class StoredBook:
    """A stored book parsed once: its record, the library's book, and the service's answer for it."""

    record: BookRecord
    book: AnyBook
    answer: Any

    @property
    def size(self) -> int:
        """Its weight in the catalog's book cache: its batches."""
        return max(1, len(self.book.batches))


class Catalog:
    """Registered circuits and published snapshots as parsed objects, in LRU caches per process.

    Keys and snapshots never change once stored, so an entry is never stale; a failed load
    (an unknown id) is not cached, since the id may be registered later.
    """

    def __init__(self, repository: Repository, backend: CurveBackend, max_circuits: int = 256,
                 max_snapshots: int = 1024, max_book_batches: int = 16384) -> None:
        self.repository, self.backend = repository, backend
        self.circuit_cache: LRUCache = LRUCache(max(1, max_circuits))
        self.snapshot_cache: LRUCache = LRUCache(max(1, max_snapshots))
        """Parsed snapshots and their per-circuit snapshot verifiers (inputs folded once)."""
        self.venue_keys: LRUCache = LRUCache(max(1, max_snapshots))
        self.books: LRUCache = LRUCache(max(1, max_book_batches), getsizeof=lambda stored: stored.size)
        """Stored books parsed once, with their answer, bounded by their batches in all (books are never replaced)."""
        self.lock = threading.Lock()

    @cachedmethod(attrgetter("circuit_cache"), lock=attrgetter("lock"))
    def circuit(self, circuit_id: str) -> tuple[AnyCircuit, VerifyingKey]:
        """(circuit, parsed verification key) of a registered circuit."""
        text = self.repository.circuit_key(circuit_id)
        if text is None:
            raise UnknownCircuit(circuit_id)
        return circuit_from_id(circuit_id), vk_from_json(text, self.backend)

    @cachedmethod(attrgetter("snapshot_cache"), lock=attrgetter("lock"),
                  key=lambda _, venue, snapshot_id: hashkey("snapshot", venue, snapshot_id))
    def snapshot(self, venue: str, snapshot_id: str) -> tuple[Snapshot, str]:
        """(snapshot, its digest) of a venue's published snapshot."""
        record = self.repository.snapshot(venue, snapshot_id)
        if record is None:
            raise UnknownSnapshot(snapshot_id, venue)
        return parse_snapshot(json.loads(record.document)), record.digest

    def venue_of(self, snapshot_id: str) -> str:
        """The one venue that published a snapshot under this id (for requests naming no venue).

        Not cached: another venue may publish the same id later, and from then on the id alone is ambiguous.
        """
        venues = self.repository.snapshot_venues(snapshot_id)
        if not venues:
            raise UnknownSnapshot(snapshot_id)
        if len(venues) > 1:
            raise AmbiguousSnapshot(snapshot_id, venues)
        return venues[0]

    @cachedmethod(attrgetter("snapshot_cache"), key=lambda _, root_id: hashkey("root", root_id),
                  lock=attrgetter("lock"))
    def root(self, root_id: str) -> RegisteredRoot:
        """A registered root with its signed document, parsed (roots never change once registered)."""
        record = self.repository.root(root_id)
        if record is None:
            raise UnknownRoot(root_id)
        return RegisteredRoot(record, parse_signed_root(json.loads(record.document)))

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

    def stored_book(self, venue: str, snapshot_id: str, load: Callable[[BookRecord], StoredBook]) -> StoredBook | None:
        """A venue's stored book for a snapshot as load made it from its record (once per process), or None."""
        with self.lock:
            cached = self.books.get((venue, snapshot_id))
        if cached is not None:
            return cached
        record = self.repository.book(venue, snapshot_id)
        if record is None:
            return None  # not cached: the venue may publish it later
        stored = load(record)
        self.keep_book(stored)
        return stored

    def keep_book(self, stored: StoredBook) -> None:
        """Keep a stored book parsed (a book larger than the whole cache is answered, not kept)."""
        if stored.size <= self.books.maxsize:
            with self.lock:
                self.books[(stored.record.venue, stored.record.snapshot_id)] = stored

    def policy_verifier(self, circuit: AnyCircuit, vk: VerifyingKey, snapshot: Snapshot) -> SnapshotVerifier:
        """The snapshot verifier under the policy of the snapshot's venue: its attestation is required once
        the venue has a registered key."""
        return self.verifier(circuit, vk, snapshot).with_venue_key(self.venue_key(snapshot.venue))

    @cachedmethod(attrgetter("snapshot_cache"), lock=attrgetter("lock"),
                  key=lambda _, circuit, vk, snapshot: hashkey("verifier", circuit.circuit_id, snapshot.venue,
                                                               snapshot.snapshot_id))
    def verifier(self, circuit: AnyCircuit, vk: VerifyingKey, snapshot: Snapshot) -> SnapshotVerifier:
        """The snapshot verifier of (circuit, snapshot): the snapshot's inputs derived and folded once, then cached
        (risk arrays are not free to derive)."""
        try:
            return SnapshotVerifier(circuit, vk, snapshot, self.backend)
        except ZkMarginError as exc:
            raise SnapshotDoesNotFit(str(exc)) from None


def root_id_of(signed: SignedRoot) -> str:
    """A signed root's id: SHA-256 (hex) of the bytes the venue signed (label, venue, snapshot digest, depth,
    leaf count, root), so the same root signed for two snapshots has two ids and anyone can recompute it."""
    return hashlib.sha256(signed.message()).hexdigest()


def input_digest(circuit_id: str, snapshot_id: str, snapshot_digest: str, commitment: int | None, context: int,
                 proof_hex: str, valid: bool, anonymous: tuple[str, int, int] | None = None) -> str:
    """SHA-256 over the canonical JSON (sorted keys, no spaces) of everything the verdict depends on.

    Anyone holding a receipt recomputes it from the receipt's own fields: circuit_id,
    snapshot_id, snapshot_digest, commitment and context (decimal strings), proof (the
    192-byte proof in hex) and valid (a JSON boolean). In anonymous mode (anonymous =
    (root_id, scope, nullifier)) root_id, scope and nullifier take the commitment's place;
    root_id covers the root and everything the venue signed with it.
    """
    fields: dict[str, object] = {"circuit_id": circuit_id, "snapshot_id": snapshot_id,
                                 "snapshot_digest": snapshot_digest, "context": str(context), "proof": proof_hex,
                                 "valid": valid}
    if anonymous is None:
        fields["commitment"] = str(commitment)
    else:
        fields.update(root_id=anonymous[0], scope=str(anonymous[1]), nullifier=str(anonymous[2]))
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_receipt(circuit_id: str, snapshot_id: str, snapshot_digest: str, commitment: int | None, context: int,
                proof_hex: str, valid: bool, attestation: Attestation | None = None, *,
                anonymous: tuple[str, int, int] | None = None, venue: str | None = None,
                verifier: str | None = None) -> ReceiptRecord:
    """The receipt of one verdict (not yet stored), with the attestation it was accepted with (named mode) or its
    (root_id, scope, nullifier) (anonymous mode), for the verifier's API key id (the repository fills in
    seen_before and nullifier_seen_before from that key's history)."""
    root_id, scope, nullifier = (None, None, None) if anonymous is None else anonymous
    return ReceiptRecord(
        receipt_id=uuid.uuid4().hex, circuit_id=circuit_id, snapshot_id=snapshot_id, snapshot_digest=snapshot_digest,
        commitment=None if commitment is None else str(commitment), context=str(context), proof_hex=proof_hex,
        valid=valid, reason="proof verifies for these inputs" if valid else "proof does not verify for these inputs",
        input_digest=input_digest(circuit_id, snapshot_id, snapshot_digest, commitment, context, proof_hex, valid,
                                  anonymous),
        checked_at=now_iso(),
        attestation=None if attestation is None else json.dumps(attestation_to_json(attestation), sort_keys=True,
                                                                separators=(",", ":")),
        mode="named" if anonymous is None else "anonymous", root_id=root_id,
        scope=None if scope is None else str(scope), nullifier=None if nullifier is None else str(nullifier),
        venue=venue, verifier=verifier)


@dataclass(frozen=True)
class Submission:
    """A single verification request and the API key id of its caller (None without a key): whose history its
    showings count in. A bare request is taken as one without a key."""

    request: Any
    verifier: str | None


def request_attestation(body: VerifyRequest | BatchItemIn) -> Attestation | None:
    """The attestation of a request or batch item, parsed (its signature is checked by the verifier)."""
    return None if body.attestation is None else parse_attestation(body.attestation.model_dump())


@dataclass(frozen=True)
class Target:
    """What a request is checked against: the circuit, the snapshot and, in anonymous mode, the root."""

    circuit: AnyCircuit
    snapshot: Snapshot
    snapshot_digest: str
    verifier: SnapshotVerifier
    root: RegisteredRoot | None


def resolve_target(state: ServiceState, circuit_id: str, snapshot_id: str | None, root_id: str | None,
                   venue: str | None = None) -> Target:
    """The circuit, snapshot (the root's in anonymous mode) and policy verifier of a request; typed errors for
    unknown ids, a snapshot id without a venue that several venues published, a snapshot_id or venue that is
    not the root's and a circuit of the other mode."""
    circuit, vk = state.catalog.circuit(circuit_id)
    root = None if root_id is None else state.catalog.root(root_id)
    if root is not None:
        if snapshot_id is not None and snapshot_id != root.record.snapshot_id:
            raise SnapshotDoesNotFit(f"root {root_id} belongs to snapshot {root.record.snapshot_id!r}, "
                                     f"not {snapshot_id!r}")
        if venue is not None and venue != root.record.venue:
            raise SnapshotDoesNotFit(f"root {root_id} belongs to venue {root.record.venue!r}, not {venue!r}")
        snapshot_id, venue = root.record.snapshot_id, root.record.venue
    if circuit.is_membership != (root is not None):
        raise PublicInputError(
            f"{circuit.circuit_id} is a membership circuit: verify it in anonymous mode (root_id, scope, nullifier)"
            if circuit.is_membership else
            f"{circuit.circuit_id} is not a membership circuit (ids end in -m<depth>): anonymous mode needs one")
    if venue is None:
        # Ids are unique per venue only: an id alone names a snapshot only while one venue has published it.
        venue = state.catalog.venue_of(str(snapshot_id))
    snapshot, digest = state.catalog.snapshot(venue, str(snapshot_id))
    verifier = state.catalog.policy_verifier(circuit, vk, snapshot)
    # A registered root was checked against its venue's key when it was stored: it is the one root trusted here.
    return Target(circuit, snapshot, digest, verifier if root is None else verifier.with_root(root.root), root)


@dataclass
class _Prepared:
    """One single request, read and resolved: the library's item for it and how to make its receipt."""

    target: Target
    item: ProofItem
    receipt: Callable[[bool, bytes], ReceiptRecord]


def _prepare(state: ServiceState, request: VerifyRequest, key_id: str | None) -> _Prepared:
    """Everything of a single request the snapshot verifier does not decide: ids and canonical inputs (typed
    errors, exactly as a lone verification raises them)."""
    target = resolve_target(state, request.circuit_id, request.snapshot_id, request.root_id, request.venue)
    root = target.root
    context = canonical_field_element(request.context, "context")
    if root is None:
        commitment = canonical_field_element(request.commitment, "commitment")
    else:
        scope = canonical_field_element(request.scope, "scope")
        nullifier = canonical_field_element(request.nullifier, "nullifier")
    encoded = encoded_proof(request.proof.model_dump(exclude_none=True) if request.proof else None, request.proof_b64)
    ids = (target.circuit.circuit_id, target.snapshot.snapshot_id, target.snapshot_digest)
    if root is None:
        attestation = request_attestation(request)
        kept = attestation if target.verifier.venue_key is not None else None
        return _Prepared(target, ProofItem(commitment, context, attestation=attestation, encoded=encoded),
                         lambda valid, proof: new_receipt(*ids, commitment, context, proof.hex(), valid, kept,
                                                          venue=target.snapshot.venue, verifier=key_id))
    return _Prepared(target, ProofItem(context=context, root=root.root, scope=scope, nullifier=nullifier,
                                       signed_root=root.signed, encoded=encoded),
                     lambda valid, proof: new_receipt(
                         *ids, None, context, proof.hex(), valid, anonymous=(root.record.root_id, scope, nullifier),
                         venue=target.snapshot.venue, verifier=key_id))


def _policy_key(verifier: SnapshotVerifier) -> tuple:
    # Requests share a batch check only under one key, one snapshot's folded inputs and one policy.
    return id(verifier.vk), id(verifier.fixed), id(verifier.venue_key), verifier.root, verifier.scope


def verify_many_and_record(state: ServiceState, requests: list) -> list[ReceiptRecord | Exception]:
    """Verify concurrent single requests (CPU-bound: runs in the worker pool) and commit all their receipts in one
    transaction; per request its stored receipt, or the exception its response is made from.

    The requests for the same circuit, snapshot and policy go to their SnapshotVerifier's verify_batch together
    (one weighted check, fresh random weights; the same verdicts as one by one, a refusal or malformed proof
    raised as its typed error). Nothing is returned before the transaction has committed.
    Each request is a Submission (or a bare request, without a key).
    """
    outcomes: list[ReceiptRecord | Exception | None] = [None] * len(requests)
    groups: dict[tuple, list[tuple[int, _Prepared]]] = {}
    for index, request in enumerate(requests):
        submission = request if isinstance(request, Submission) else Submission(request, None)
        try:
            prepared = _prepare(state, submission.request, submission.verifier)
        except Exception as exc:  # noqa: BLE001 - the request's own error, raised in its response
            outcomes[index] = exc
            continue
        groups.setdefault(_policy_key(prepared.target.verifier), []).append((index, prepared))
    receipts: dict[int, ReceiptRecord] = {}
    for members in groups.values():
        try:
            verdicts: list = members[0][1].target.verifier.verify_batch([p.item for _, p in members]).verdicts
        except ZkMarginError as exc:  # the key itself is refused: so is every request under it
            verdicts = [exc] * len(members)
        for (index, prepared), verdict in zip(members, verdicts):
            if isinstance(verdict, Exception):
                outcomes[index] = verdict
                continue
            if verdict.refused is not None:
                state.metrics.observe_result("refused")
            if verdict.error is not None or verdict.refused is not None or verdict.proof_bytes is None:
                outcomes[index] = verdict.cause or FormatError(verdict.error or verdict.refused or "not verified")
                continue
            state.metrics.observe_result("valid" if verdict.valid else "invalid")
            receipts[index] = prepared.receipt(verdict.valid, verdict.proof_bytes)
    if receipts:
        # Request order, so "seen before" among nullifiers of one job means what it means one by one.
        order = sorted(receipts)
        try:
            stored = state.repository.insert_receipts([receipts[i] for i in order])
        except Exception as exc:  # noqa: BLE001 - no receipt of the job is durable: each request gets the error
            stored = [exc] * len(order)
        for index, receipt in zip(order, stored):
            outcomes[index] = receipt
    return [outcome if outcome is not None else RuntimeError("request left without an outcome")
            for outcome in outcomes]


def _batch_item(item: BatchItemIn, root: RegisteredRoot | None) -> tuple[ProofItem, tuple | None]:
    """A batch item as the library takes it (its proof still encoded), and what its receipt needs (None for a
    malformed item)."""
    try:
        context = canonical_field_element(item.context, "context")
        if root is None:
            if item.scope is not None or item.nullifier is not None:
                raise FormatError("scope and nullifier belong to anonymous mode (a batch with root_id)")
            commitment = canonical_field_element(item.commitment or "", "commitment")
        else:
            if item.commitment is not None or item.attestation is not None:
                raise FormatError("an anonymous batch item takes scope and nullifier, not a commitment or attestation")
            scope = canonical_field_element(item.scope or "", "scope")
            nullifier = canonical_field_element(item.nullifier or "", "nullifier")
        encoded = encoded_proof(item.proof.model_dump(exclude_none=True) if item.proof else None, item.proof_b64)
        attestation = request_attestation(item)
    except ZkMarginError as exc:
        return ProofItem(error=str(exc), label=item.id or ""), None
    if root is None:
        return (ProofItem(commitment, context, attestation=attestation, label=item.id or "", encoded=encoded),
                (commitment, context, None))
    return (ProofItem(context=context, label=item.id or "", root=root.root, scope=scope, nullifier=nullifier,
                      signed_root=root.signed, encoded=encoded),
            (None, context, (root.record.root_id, scope, nullifier)))


def verify_batch_and_record(state: ServiceState, request: VerifyBatchRequest, key_id: str | None = None) -> dict:
    """The auditor's batch path (SnapshotVerifier.verify_batch) with one receipt per well-formed item, its showings
    counted in the history of the caller's API key id (none without a key)."""
    target = resolve_target(state, request.circuit_id, request.snapshot_id, request.root_id, request.venue)
    verifier = target.verifier
    pairs = [_batch_item(item, target.root) for item in request.items]
    items = [item for item, _ in pairs]
    report = verifier.verify_batch(items)
    ids = (target.circuit.circuit_id, target.snapshot.snapshot_id, target.snapshot_digest)
    receipts: dict[int, ReceiptRecord] = {}
    for verdict, (item, entry) in zip(report.verdicts, pairs):
        if entry is not None and verdict.refused is None and verdict.proof_bytes is not None:
            commitment, context, anonymous = entry
            attested = item.attestation if verifier.venue_key is not None and anonymous is None else None
            receipts[verdict.index] = new_receipt(*ids, commitment, context, verdict.proof_bytes.hex(), verdict.valid,
                                                  attested, anonymous=anonymous, venue=target.snapshot.venue,
                                                  verifier=key_id)
        state.metrics.observe_result(verdict.outcome)
    stored = dict(zip(receipts, state.repository.insert_receipts(receipts.values())))
    results = []
    for verdict, item in zip(report.verdicts, request.items):
        receipt = stored.get(verdict.index)
        results.append({"index": verdict.index, "id": item.id, "valid": verdict.valid, "error": verdict.error,
                        "receipt_id": None if receipt is None else receipt.receipt_id, "refused": verdict.refused,
                        "nullifier_seen_before": None if receipt is None else receipt.nullifier_seen_before,
                        "seen_before": None if receipt is None else receipt.seen_before})
    return {**report.tally, "venue": target.snapshot.venue, "snapshot_id": target.snapshot.snapshot_id,
            "results": results}
