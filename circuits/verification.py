"""One verification path: a snapshot verifier that the CLI, the batch verifier and the service all use.

SnapshotVerifier(circuit, verifying key, snapshot) checks the key against the circuit once,
folds the snapshot's public inputs into one point once (only the per-proof header,
Circuit.header, is multiplied per proof) and, given a venue's public key, accepts a
proof only with the venue's attestation of its commitment for this snapshot (named mode,
verify) or with the venue's signed root for this snapshot (membership mode, verify_member:
circuit ids ending in -m<depth>, per-proof inputs root, context, scope, nullifier).
Proof fields of items and requests ({"proof": snarkjs JSON} or {"proof_b64": base64 of the
192-byte form}) are decoded here and nowhere else.

Statements whose per-proof header is neither of those (a book batch: batch_root, context, its sums)
take their leading public inputs whole (ProofItem.leading; verify_leading for one proof): the
snapshot part is folded as for every circuit, and a book's batch proofs are one weighted batch.

SnapshotVerifier.verify_batch is the one entry point that decides verdicts: every surface (the
library's verify, the CLI's verify and verify-batch, the service's single and batch requests, the
venue run, the Dask workers of verify_on_cluster and a book's batch proofs) hands it items and
reads Verdicts back; the CLI's statement-free groth16 verify calls verify_plain, here too. A
soundness fix to decoding, policy, the batch check or bisection is made here once
(tests/test_layout.py forbids calling any Groth16 verifier anywhere else).
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import functools
import hashlib
import pickle
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zkmargin.circuits.circuit import AnyCircuit
from zkmargin.circuits.layout import HEADER, MEMBER_HEADER
from zkmargin.circuits.parts import check_field_element
from zkmargin.errors import (
    AttestationError,
    MalformedAttestationError,
    MalformedKeyError,
    MalformedProofError,
    PublicInputError,
    UnattestedError,
    WrongCommitmentError,
    WrongScopeError,
    WrongVenueError,
    ZkMarginError,
)
from zkmargin.groth16.batch import BatchItem, verify_batch
from zkmargin.groth16.serialization import decode_proofs, proof_from_bytes, proof_from_json, proof_to_bytes
from zkmargin.groth16.verifier import fixed_inputs_sum, verify, verify_with_fixed_inputs
from zkmargin.margin.models import Snapshot
from zkmargin.venue.attestation import (
    Attestation,
    SignedRoot,
    VenuePublicKey,
    check_attestation,
    check_signed_root,
    snapshot_digest,
)

if TYPE_CHECKING:
    from zkmargin.backends import CurveBackend
    from zkmargin.groth16 import Proof, VerifyingKey

def encoded_proof(proof: Any, proof_b64: Any) -> bytes | dict:
    """The encoded proof of an item or request: its snarkjs JSON object, or the bytes behind proof_b64.

    Exactly one of the two must be present (None means absent); raises MalformedProofError.
    """
    if (proof is None) == (proof_b64 is None):
        raise MalformedProofError("give exactly one of proof and proof_b64" if proof is not None
                                  else "item has neither proof nor proof_b64")
    if proof is not None:
        if not isinstance(proof, dict):
            raise MalformedProofError("proof must be a snarkjs proof JSON object")
        return proof
    try:
        return base64.b64decode(str(proof_b64), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedProofError("proof_b64 is not valid base64") from None


def decode_proof(proof: Any, proof_b64: Any, backend: CurveBackend) -> Proof:
    """A checked proof (curve and subgroup checks) from a proof or proof_b64 field."""
    return decode_encoded(encoded_proof(proof, proof_b64), backend)


def decode_encoded(encoded: bytes | dict, backend: CurveBackend) -> Proof:
    """A checked proof from its snarkjs JSON object or its 192 bytes; raises MalformedProofError."""
    return proof_from_json(encoded, backend) if isinstance(encoded, dict) else proof_from_bytes(encoded, backend)


@dataclass(frozen=True)
class ProofItem:
    """One proof to check against the snapshot, or the reason it could not be read (error).

    Named mode (plain circuits): commitment, context, proof and, under a venue key, attestation.
    Membership mode (circuits ending in -m<depth>): root, context, scope, nullifier, proof and,
    under a venue key, signed_root; commitment and attestation stay None (the root is its own
    field, never the commitment field, so an item never means one thing in one mode and
    another in the other). Any other statement (a book batch): leading, its whole per-proof header in
    circuit order, and proof; the named and membership fields stay None. Instead of proof, an item
    may carry its proof still encoded (encoded: snarkjs JSON object or 192 bytes): the verifier
    decodes it with every check.
    """

    commitment: int | None = None
    context: int | None = None
    proof: Proof | None = None
    attestation: Attestation | None = None
    error: str | None = None
    label: str = ""
    root: int | None = None
    scope: int | None = None
    nullifier: int | None = None
    signed_root: SignedRoot | None = None
    encoded: bytes | dict | None = None
    leading: tuple[int, ...] | None = None

    def header(self, membership: bool) -> list[int] | None:
        """The per-proof public inputs of this item in the given mode, None when one is missing."""
        values = ([self.root, self.context, self.scope, self.nullifier] if membership
                  else [self.commitment, self.context])
        return None if any(v is None for v in values) else [v for v in values if v is not None]

    @property
    def named_fields(self) -> bool:
        """Whether any field of the named or membership mode is set (a leading item must set none)."""
        return any(v is not None for v in (self.commitment, self.context, self.attestation, self.root, self.scope,
                                           self.nullifier, self.signed_root))


@dataclass(frozen=True)
class Verdict:
    """valid; invalid (neither error nor refused); malformed (error); refused by the attestation policy (refused).

    proof_bytes: the item's proof in its canonical 192-byte form once decoded (receipts and duplicate counting
    use it). cause: the typed error behind error or refused, which a lone request raises (None for an error
    the caller put on the item; never sent between processes).
    """

    index: int
    label: str
    valid: bool
    error: str | None = None
    refused: str | None = None
    proof_bytes: bytes | None = None
    cause: ZkMarginError | None = field(default=None, compare=False, repr=False)

    @property
    def outcome(self) -> str:
        """'valid', 'invalid', 'malformed' or 'refused'."""
        if self.valid:
            return "valid"
        if self.error is not None:
            return "malformed"
        return "refused" if self.refused is not None else "invalid"


OUTCOMES = ("valid", "invalid", "malformed", "refused")


@dataclass
class BatchReport:
    """Per-item verdicts in input order and the pairing checks they took."""

    verdicts: list[Verdict]
    pairing_checks: int = 0
    decode_s: float = 0.0
    tally: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.tally = {name: 0 for name in OUTCOMES}
        for verdict in self.verdicts:
            self.tally[verdict.outcome] += 1


def check_key_fits(circuit: AnyCircuit, vk: VerifyingKey) -> None:
    """Raise PublicInputError unless the key takes exactly the circuit's public inputs."""
    if vk.num_public != circuit.num_public:
        raise PublicInputError(f"verification key expects {vk.num_public} public inputs; "
                               f"{circuit.circuit_id} has {circuit.num_public}")


def verify_plain(vk: VerifyingKey, public_inputs: Sequence[int], proof: Proof, backend: CurveBackend) -> bool:
    """True iff the proof is valid for all these public inputs: a statement-free check (snarkjs's files).

    Only `zkmargin groth16 verify` asks this: no circuit, snapshot or policy is attached, so no margin verdict
    may rest on it. Raises PublicInputError for a wrong count or a value >= r, MalformedKeyError for a bad key.
    """
    return verify(vk, public_inputs, proof, backend)


class SnapshotVerifier:
    """Verifies proofs of one circuit under one key against the verifier's own snapshot.

    With venue_key, a proof is accepted only with that venue's attestation of its commitment
    for this snapshot, or in membership mode with the venue's signature over the root for this
    snapshot (an AttestationError kind names what differs); without it, no attestation is asked
    for. Membership proofs always need an anchor for their root: the venue's key, or `root`
    (the one root this verifier trusts, e.g. read from the venue's own publication). With
    `scope`, membership proofs for any other scope are refused: the verifier, not the prover,
    chooses the scope its nullifiers are counted in.
    """

    def __init__(self, circuit: AnyCircuit, vk: VerifyingKey, snapshot: Snapshot, backend: CurveBackend,
                 venue_key: VenuePublicKey | None = None, root: int | None = None,
                 scope: int | None = None) -> None:
        check_key_fits(circuit, vk)
        self.circuit, self.vk, self.snapshot, self.backend = circuit, vk, snapshot, backend
        self.venue_key = venue_key
        self.root = None if root is None else check_field_element(root, "root")
        self.scope = None if scope is None else check_field_element(scope, "scope")
        self.snapshot_values: list[int] = circuit.snapshot_inputs(snapshot)
        self.fixed = fixed_inputs_sum(vk, circuit.per_proof_inputs, self.snapshot_values, backend)

    @functools.cached_property
    def digest(self) -> bytes:
        """The snapshot's digest, which attestations and signed roots sign (needed only under a venue key)."""
        return snapshot_digest(self.snapshot)

    def with_venue_key(self, venue_key: VenuePublicKey | None) -> SnapshotVerifier:
        """This verifier (its folded inputs shared, not recomputed) under the policy of venue_key."""
        other = copy.copy(self)
        other.venue_key = venue_key
        return other

    def with_root(self, root: int | None) -> SnapshotVerifier:
        """This verifier (folded inputs shared) trusting one root: membership proofs must name exactly it."""
        other = copy.copy(self)
        other.root = None if root is None else check_field_element(root, "root")
        return other

    def check_scope(self, scope: int) -> None:
        """Raise WrongScopeError unless the proof's scope is the one this verifier chose (any scope without one)."""
        if self.scope is not None and scope != self.scope:
            raise WrongScopeError(f"the proof's scope {scope} is not the scope this verifier chose ({self.scope})")

    def _check_venue(self) -> VenuePublicKey | None:
        if self.venue_key is not None and self.snapshot.venue != self.venue_key.venue:
            raise WrongVenueError(f"snapshot {self.snapshot.snapshot_id!r} is venue {self.snapshot.venue!r}'s; "
                                  f"the key held is venue {self.venue_key.venue!r}'s")
        return self.venue_key

    def check_attested(self, commitment: int, attestation: Attestation | None) -> None:
        """Raise an AttestationError kind unless the policy is met (always met without a venue key)."""
        venue_key = self._check_venue()
        if venue_key is None:
            return
        if attestation is None:
            raise UnattestedError(f"no attestation: venue {venue_key.venue!r} must attest the commitment "
                                  f"for snapshot {self.snapshot.snapshot_id!r}")
        check_attestation(attestation, venue_key, self.digest, commitment)

    def check_root_signed(self, root: int, signed_root: SignedRoot | None) -> None:
        """Raise an AttestationError kind unless the root is anchored: equal to the root this verifier trusts
        (`root`), and/or signed by the venue at this circuit's depth for this snapshot (under a venue key).

        With neither anchor every root is refused: a root taken from the prover proves only that the account
        is in a tree the prover may have built itself (a one-leaf tree of its own commitment).
        """
        if self.root is not None and root != self.root:
            raise WrongCommitmentError(f"the proof's root {root} is not the root this verifier trusts ({self.root})")
        venue_key = self._check_venue()
        if venue_key is None:
            if self.root is None:
                raise UnattestedError("no trusted root: a membership proof needs the venue's key (its signed root) "
                                      "or the root the verifier takes from the venue itself")
            return
        if signed_root is None:
            raise UnattestedError(f"no signed root: venue {venue_key.venue!r} must sign the root "
                                  f"for snapshot {self.snapshot.snapshot_id!r}")
        check_signed_root(signed_root, venue_key, self.digest, root)
        depth = getattr(self.circuit.statement, "depth", None)
        if signed_root.depth != depth:
            raise WrongCommitmentError(f"the signed root is of a depth-{signed_root.depth} tree; "
                                       f"{self.circuit.circuit_id} proves membership at depth {depth}")

    @property
    def takes_leading(self) -> bool:
        """Whether the circuit's per-proof header is neither (commitment, context) nor the membership one: its
        items carry it whole (ProofItem.leading), as a book batch's (batch_root, context, sums) does."""
        return self.circuit.header not in (HEADER, MEMBER_HEADER)

    def verify_leading(self, leading: Sequence[int], proof: Proof) -> bool:
        """True iff the proof is valid with these leading public inputs (the circuit's whole per-proof header, in
        order) and the verifier's snapshot part; the one call for one proof of a statement that takes_leading.

        Raises PublicInputError for a value >= r or a wrong count, and an AttestationError kind under a venue key
        (such statements carry no per-proof attestation: the venue signs the document listing them).
        """
        return self._verify_one(ProofItem(proof=proof, leading=tuple(leading)))

    def _header(self, item: ProofItem) -> list[int] | str:
        """The item's per-proof public inputs in circuit order, or why it has none fit for this circuit."""
        if not self.takes_leading:
            if item.leading is not None:
                return (f"{self.circuit.circuit_id} takes per-proof inputs {', '.join(self.circuit.header)} "
                        "as their own fields, not leading")
            header = item.header(self.circuit.is_membership)
            if header is None:
                return ("missing proof or public inputs (root, context, scope, nullifier)" if self.circuit.is_membership
                        else "missing proof or public inputs")
            return header
        if item.leading is None or item.named_fields:
            return f"{self.circuit.circuit_id} takes its per-proof inputs ({', '.join(self.circuit.header)}) as leading"
        if len(item.leading) != self.circuit.per_proof_inputs:
            return (f"{self.circuit.circuit_id} takes {self.circuit.per_proof_inputs} leading public inputs "
                    f"({', '.join(self.circuit.header)}), got {len(item.leading)}")
        return list(item.leading)

    def _require_mode(self, membership: bool) -> None:
        if self.circuit.is_membership != membership:
            raise PublicInputError(
                f"{self.circuit.circuit_id} takes per-proof inputs {', '.join(self.circuit.header)}: "
                + ("verify it with a root, scope and nullifier (verify_member)" if self.circuit.is_membership
                   else "it is not a membership circuit (ids end in -m<depth>); verify it with a commitment"))

    def verify(self, commitment: int, context: int, proof: Proof, attestation: Attestation | None = None) -> bool:
        """True iff the proof is valid; raises an AttestationError kind when the attestation policy refuses it."""
        self._require_mode(False)
        return self._verify_one(ProofItem(commitment, context, proof, attestation))

    def verify_member(self, root: int, context: int, scope: int, nullifier: int, proof: Proof,
                      signed_root: SignedRoot | None = None) -> bool:
        """Membership mode: True iff the proof is valid for (root, context, scope, nullifier); raises an
        AttestationError kind when, under a venue key, the root is not the venue's signed root for this snapshot."""
        self._require_mode(True)
        return self._verify_one(ProofItem(context=context, proof=proof, root=root, scope=scope, nullifier=nullifier,
                                          signed_root=signed_root))

    def _verify_one(self, item: ProofItem) -> bool:
        verdict = self.verify_batch([item]).verdicts[0]
        if verdict.cause is not None:
            raise verdict.cause
        return verdict.valid

    def refusal(self, item: ProofItem) -> str | None:
        """Why the attestation policy refuses a well-formed item, or None; a malformed attestation raises."""
        refused = self._refusal_error(item)
        return None if refused is None else str(refused)

    def _refusal_error(self, item: ProofItem) -> AttestationError | None:
        try:
            if self.takes_leading:
                venue_key = self._check_venue()
                if venue_key is not None:
                    # Fail closed: a caller who asked for the venue's policy gets no proof the policy cannot cover.
                    raise UnattestedError(f"{self.circuit.circuit_id} proofs carry no per-proof attestation: check "
                                          f"them through the document venue {venue_key.venue!r} signs")
            elif self.circuit.is_membership:
                self.check_scope(item.scope or 0)
                self.check_root_signed(item.root or 0, item.signed_root)
            else:
                self.check_attested(item.commitment or 0, item.attestation)
        except MalformedAttestationError:
            raise
        except AttestationError as exc:
            return exc
        return None

    def _decoded(self, items: Sequence[ProofItem], workers: int | None,
                 on_decoded: Callable[[int], None] | None) -> list[ProofItem | MalformedProofError]:
        """Items with their encoded proofs decoded (checked), or the decoding error in place."""
        out: list[ProofItem | MalformedProofError] = list(items)
        wanted = [i for i, item in enumerate(items) if item.error is None and item.proof is None
                  and item.encoded is not None]
        if workers == 1 or len(wanted) < DECODE_CHUNK // 8:
            # One by one in this process: what a single request or a worker's chunk needs (no pool to start).
            for i in wanted:
                try:
                    out[i] = dataclasses.replace(items[i], proof=decode_encoded(items[i].encoded or b"", self.backend),
                                                 encoded=None)
                except MalformedProofError as exc:
                    out[i] = exc
            if on_decoded is not None:
                on_decoded(len(items))
            return out
        # Checked point decoding dominates a large batch; decode_proofs spreads it over local processes.
        for start in range(0, len(wanted), DECODE_CHUNK):
            chunk = wanted[start : start + DECODE_CHUNK]
            for i, proof in zip(chunk, decode_proofs([items[i].encoded or b"" for i in chunk], self.backend,
                                                     workers=workers)):
                out[i] = proof if isinstance(proof, MalformedProofError) else dataclasses.replace(
                    items[i], proof=proof, encoded=None)
            if on_decoded is not None:
                on_decoded(len(chunk))
        if on_decoded is not None:
            on_decoded(len(items) - len(wanted))
        return out

    def _alone(self, header: list[int], proof: Proof) -> tuple[bool, ZkMarginError | None]:
        # The plain folded check: the typed error a lone request raises for an item the batch could not take.
        try:
            return verify_with_fixed_inputs(self.vk, header, self.fixed, proof, self.backend), None
        except MalformedKeyError:
            raise
        except ZkMarginError as exc:
            return False, exc

    def verify_batch(self, items: Sequence[ProofItem], decode_workers: int | None = 1,
                     on_decoded: Callable[[int], None] | None = None) -> BatchReport:
        """Verdicts for every item (malformed and refused items never stop the batch), in one weighted check.

        The one entry point for a chunk of items: decoding (items carrying `encoded`; decode_workers
        processes, None for one per core), field-element checks, the attestation policy, one weighted
        check with fresh CSPRNG weights and bisection down to the invalid proofs. A key that accepts
        forgeries raises MalformedKeyError for the whole chunk.
        """
        started = time.perf_counter()
        decoded = self._decoded(items, decode_workers, on_decoded)
        decode_s = time.perf_counter() - started
        verdicts: list[Verdict | None] = [None] * len(items)
        ready: list[tuple[int, list[int], Proof]] = []
        for index, item in enumerate(decoded):
            label = items[index].label
            if isinstance(item, MalformedProofError):
                verdicts[index] = Verdict(index, label, False, str(item), cause=item)
                continue
            header = self._header(item)
            if item.error is not None or item.proof is None or isinstance(header, str):
                missing = header if isinstance(header, str) else "missing proof or public inputs"
                cause = None if item.error is not None else PublicInputError(missing)
                verdicts[index] = Verdict(index, label, False, item.error or missing, cause=cause)
                continue
            proof_bytes = proof_to_bytes(item.proof, self.backend)
            try:
                # A header value >= r is malformed whatever the policy says about it (x + r is x in the field).
                for value, name in zip(header, self.circuit.header):
                    check_field_element(value, name)
                refused = self._refusal_error(item)
            except PublicInputError as exc:
                verdicts[index] = Verdict(index, label, False, str(exc), proof_bytes=proof_bytes, cause=exc)
                continue
            except MalformedAttestationError as exc:
                verdicts[index] = Verdict(index, label, False, f"attestation: {exc}", proof_bytes=proof_bytes,
                                          cause=exc)
                continue
            if refused is not None:
                verdicts[index] = Verdict(index, label, False, refused=str(refused), proof_bytes=proof_bytes,
                                          cause=refused)
                continue
            ready.append((index, header, item.proof))
            verdicts[index] = Verdict(index, label, False, proof_bytes=proof_bytes)
        checks = 0
        if len(ready) == 1:
            index, header, proof = ready[0]
            valid, cause = self._alone(header, proof)
            checks = 1
            verdicts[index] = dataclasses.replace(verdicts[index], valid=valid, cause=cause,  # type: ignore[arg-type]
                                                  error=None if cause is None else str(cause))
        elif ready:
            result = verify_batch(self.vk, [BatchItem(header, proof, label=items[index].label)
                                            for index, header, proof in ready], self.backend, fixed=self.fixed)
            checks = result.pairing_checks
            for (index, header, proof), checked in zip(ready, result.items):
                valid, cause = checked.valid, None
                if checked.error is not None:
                    valid, cause = self._alone(header, proof)
                    checks += 1
                    cause = cause or MalformedProofError(checked.error)
                verdicts[index] = dataclasses.replace(verdicts[index], valid=valid, cause=cause,  # type: ignore[arg-type]
                                                      error=None if cause is None else str(cause))
        return BatchReport([v for v in verdicts if v is not None], checks, decode_s)

    def spec(self) -> VerifierSpec:
        """What a worker process needs to rebuild this verifier (keys and snapshot as data, the policy included)."""
        return VerifierSpec.of(self)

    def verify_on_cluster(self, client: Any, items: Sequence[ProofItem], chunk_size: int = 1000,
                          on_chunk: Callable[[int], None] | None = None) -> BatchReport:
        """verify_batch over a Dask cluster: one task per chunk, each its own batch with its own fresh weights.

        Every worker rebuilds this verifier from its spec (once per process) and runs verify_batch on
        its chunk, decoding included; a chunk that fails on the cluster marks its items malformed with
        the reason rather than stopping the batch.
        """
        from zkmargin.venue.cluster import map_chunks
        from zkmargin.venue.run import chunks

        started = time.perf_counter()
        parts = chunks(list(items), chunk_size)
        spec = self.spec()
        found: list[list[Verdict] | None] = [None] * len(parts)
        checks = 0
        for number, result, error in map_chunks(client, verify_chunk, parts, spec, retries=1):
            if error is not None:
                found[number] = [Verdict(0, item.label, False, f"chunk failed on the cluster: {error}")
                                 for item in parts[number]]
            else:
                found[number], chunk_checks = result
                checks += chunk_checks
            if on_chunk is not None:
                on_chunk(len(parts[number]))
        verdicts = [dataclasses.replace(v, index=index)
                    for index, v in enumerate(v for part in found for v in (part or []))]
        return BatchReport(verdicts, checks, time.perf_counter() - started)


DECODE_CHUNK = 2000
"""Proofs decoded per call to decode_proofs (a progress step); batches under an eighth of it decode in-process."""


@dataclass(frozen=True)
class VerifierSpec:
    """A SnapshotVerifier as plain data for a worker process: circuit id, key JSON, snapshot, backend, policy."""

    circuit_id: str
    vk_json: dict
    snapshot: Snapshot
    backend_name: str
    venue: tuple[str, bytes] | None
    root: int | None
    scope: int | None

    @classmethod
    def of(cls, verifier: SnapshotVerifier) -> VerifierSpec:
        """The spec of a verifier (the venue key as (venue, key bytes): its parsed key is not picklable)."""
        from zkmargin.groth16.serialization import vk_to_json

        key = verifier.venue_key
        return cls(verifier.circuit.circuit_id, vk_to_json(verifier.vk, verifier.backend), verifier.snapshot,
                   verifier.backend.name, None if key is None else (key.venue, key.key_bytes), verifier.root,
                   verifier.scope)

    @functools.cached_property
    def digest(self) -> str:
        """SHA-256 of the pickled spec: the per-process cache key of its verifier."""
        return hashlib.sha256(pickle.dumps((self.circuit_id, self.vk_json, self.snapshot, self.backend_name,
                                            self.venue, self.root, self.scope))).hexdigest()

    def verifier(self) -> SnapshotVerifier:
        """The verifier this spec describes (its key checked against the circuit again)."""
        from zkmargin.backends import get_backend
        from zkmargin.circuits.registry import circuit_from_id
        from zkmargin.groth16.serialization import vk_from_json

        backend = get_backend(self.backend_name)
        venue_key = None if self.venue is None else VenuePublicKey(*self.venue)
        return SnapshotVerifier(circuit_from_id(self.circuit_id), vk_from_json(self.vk_json, backend), self.snapshot,
                                backend, venue_key, self.root, self.scope)


_WORKER_VERIFIERS: dict[str, SnapshotVerifier] = {}
_WORKER_LOCK = threading.Lock()


def verify_chunk(items: list[ProofItem], spec: VerifierSpec) -> tuple[list[Verdict], int]:
    """One cluster task: the spec's verifier (built once per process) runs verify_batch on a chunk.

    Returns the verdicts without their causes (exceptions do not travel between processes) and the pairing checks.
    """
    with _WORKER_LOCK:
        verifier = _WORKER_VERIFIERS.get(spec.digest)
        if verifier is None:
            if len(_WORKER_VERIFIERS) >= 16:
                _WORKER_VERIFIERS.clear()
            verifier = _WORKER_VERIFIERS[spec.digest] = spec.verifier()
    report = verifier.verify_batch(items)
    return [dataclasses.replace(v, cause=None) for v in report.verdicts], report.pairing_checks
