"""One verification path: a snapshot verifier that the CLI, the batch verifier and the service all use.

SnapshotVerifier(circuit, verifying key, snapshot) checks the key against the circuit once,
folds the snapshot's public inputs into one point once (only the per-proof header,
Circuit.header, is multiplied per proof) and, given a venue's public key, accepts a
proof only with the venue's attestation of its commitment for this snapshot (named mode,
verify) or with the venue's signed root for this snapshot (membership mode, verify_member:
circuit ids ending in -m<depth>, per-proof inputs root, context, scope, nullifier).
Proof fields of items and requests ({"proof": snarkjs JSON} or {"proof_b64": base64 of the
192-byte form}) are decoded here and nowhere else.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zkmargin.attestation import (
    Attestation,
    SignedRoot,
    VenuePublicKey,
    check_attestation,
    check_signed_root,
    snapshot_digest,
)
from zkmargin.circuits.circuit import AnyCircuit
from zkmargin.circuits.parts import check_field_element
from zkmargin.errors import (
    AttestationError,
    MalformedAttestationError,
    MalformedProofError,
    PublicInputError,
    UnattestedError,
    WrongCommitmentError,
    WrongScopeError,
    WrongVenueError,
)
from zkmargin.groth16.batch import BatchItem, verify_batch
from zkmargin.groth16.serialization import proof_from_bytes, proof_from_json
from zkmargin.groth16.verifier import fixed_inputs_sum, verify_with_fixed_inputs
from zkmargin.margin.models import Snapshot

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
    encoded = encoded_proof(proof, proof_b64)
    return proof_from_json(encoded, backend) if isinstance(encoded, dict) else proof_from_bytes(encoded, backend)


@dataclass(frozen=True)
class ProofItem:
    """One proof to check against the snapshot, or the reason it could not be read (error).

    Named mode (plain circuits): commitment, context, proof and, under a venue key, attestation.
    Membership mode (circuits ending in -m<depth>): root, context, scope, nullifier, proof and,
    under a venue key, signed_root; commitment and attestation stay None (the root is its own
    field, never the commitment field, so an item never means one thing in one mode and
    another in the other).
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

    def header(self, membership: bool) -> list[int] | None:
        """The per-proof public inputs of this item in the given mode, None when one is missing."""
        values = ([self.root, self.context, self.scope, self.nullifier] if membership
                  else [self.commitment, self.context])
        return None if any(v is None for v in values) else [v for v in values if v is not None]


@dataclass(frozen=True)
class Verdict:
    """valid; invalid (neither error nor refused); malformed (error); refused by the attestation policy (refused)."""

    index: int
    label: str
    valid: bool
    error: str | None = None
    refused: str | None = None

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

    def _require_mode(self, membership: bool) -> None:
        if self.circuit.is_membership != membership:
            raise PublicInputError(
                f"{self.circuit.circuit_id} takes per-proof inputs {', '.join(self.circuit.header)}: "
                + ("verify it with a root, scope and nullifier (verify_member)" if self.circuit.is_membership
                   else "it is not a membership circuit (ids end in -m<depth>); verify it with a commitment"))

    def verify(self, commitment: int, context: int, proof: Proof, attestation: Attestation | None = None) -> bool:
        """True iff the proof is valid; raises an AttestationError kind when the attestation policy refuses it."""
        self._require_mode(False)
        header = [check_field_element(commitment, "commitment"), check_field_element(context, "context")]
        self.check_attested(commitment, attestation)
        return verify_with_fixed_inputs(self.vk, header, self.fixed, proof, self.backend)

    def verify_member(self, root: int, context: int, scope: int, nullifier: int, proof: Proof,
                      signed_root: SignedRoot | None = None) -> bool:
        """Membership mode: True iff the proof is valid for (root, context, scope, nullifier); raises an
        AttestationError kind when, under a venue key, the root is not the venue's signed root for this snapshot."""
        self._require_mode(True)
        header = [check_field_element(value, name)
                  for value, name in zip((root, context, scope, nullifier), self.circuit.header)]
        self.check_scope(scope)
        self.check_root_signed(root, signed_root)
        return verify_with_fixed_inputs(self.vk, header, self.fixed, proof, self.backend)

    def refusal(self, item: ProofItem) -> str | None:
        """Why the attestation policy refuses a well-formed item, or None; a malformed attestation raises."""
        try:
            if self.circuit.is_membership:
                self.check_scope(item.scope or 0)
                self.check_root_signed(item.root or 0, item.signed_root)
            else:
                self.check_attested(item.commitment or 0, item.attestation)
        except MalformedAttestationError:
            raise
        except AttestationError as exc:
            return str(exc)
        return None

    def verify_batch(self, items: Sequence[ProofItem]) -> BatchReport:
        """Verdicts for every item (malformed and refused items never stop the batch), in one weighted check."""
        verdicts: list[Verdict | None] = [None] * len(items)
        batch: list[BatchItem] = []
        positions: list[int] = []
        membership = self.circuit.is_membership
        for index, item in enumerate(items):
            header = item.header(membership)
            if item.error is not None or item.proof is None or header is None:
                missing = ("missing proof or public inputs (root, context, scope, nullifier)" if membership
                           else "missing proof or public inputs")
                verdicts[index] = Verdict(index, item.label, False, item.error or missing)
                continue
            try:
                # A header value >= r is malformed whatever the policy says about it (x + r is x in the field).
                for value, name in zip(header, self.circuit.header):
                    check_field_element(value, name)
            except PublicInputError as exc:
                verdicts[index] = Verdict(index, item.label, False, str(exc))
                continue
            try:
                refused = self.refusal(item)
            except MalformedAttestationError as exc:
                verdicts[index] = Verdict(index, item.label, False, f"attestation: {exc}")
                continue
            if refused is not None:
                verdicts[index] = Verdict(index, item.label, False, refused=refused)
                continue
            positions.append(index)
            batch.append(BatchItem(header, item.proof, label=item.label))
        result = verify_batch(self.vk, batch, self.backend, fixed=self.fixed)
        for index, checked in zip(positions, result.items):
            verdicts[index] = Verdict(index, items[index].label, checked.valid, checked.error)
        return BatchReport([v for v in verdicts if v is not None], result.pairing_checks)
