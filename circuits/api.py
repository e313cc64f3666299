"""The library's public API, re-exported by `zkmargin` on first use: prove, verify, keys and snarkjs files.

A trader proves with the venue's proving key; a verifier checks a proof against ITS OWN
snapshot and the venue's verification key, so everything after (commitment, context) in
public.json is recomputed here, never taken from the prover. Files are snarkjs's formats
(proof.json, public.json, verification_key.json), so `snarkjs groth16 verify` reads what
`write_proof`, `write_public` and `write_verification_key` write; the proving key is
zkmargin's binary form (`zkmargin zkey` converts from and to snarkjs .zkey files).

Errors are the typed errors of zkmargin.errors; a wrong proof is not an error: verify
returns False.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zkmargin.circuits.proving import prove_account, prove_member, random_context, split_header
from zkmargin.circuits.registry import DEFAULT_CIRCUIT_ID, circuit_from_id
from zkmargin.circuits.verification import BatchReport, ProofItem, SnapshotVerifier
from zkmargin.errors import CircuitError, MalformedKeyError, PublicInputError
from zkmargin.files import write_atomic, write_json
from zkmargin.groth16.serialization import (
    pk_from_bytes,
    pk_to_bytes,
    proof_from_json,
    proof_to_json,
    public_inputs_from_json,
    public_inputs_to_json,
    vk_from_json,
    vk_to_json,
)
from zkmargin.margin.commitment import new_salt
from zkmargin.margin.models import Account, Snapshot
from zkmargin.venue.attestation import Attestation, SignedRoot, VenuePublicKey
from zkmargin.venue.tree import MerklePath

if TYPE_CHECKING:
    from zkmargin.backends import CurveBackend
    from zkmargin.groth16 import Proof, ProvingKey, VerifyingKey

__all__ = [
    "DEFAULT_CIRCUIT_ID", "BatchReport", "ProvedAccount", "make_keys", "prove", "read_proof", "read_proving_key",
    "read_public", "read_verification_key", "verify", "verify_batch", "write_proof", "write_proving_key",
    "write_public", "write_verification_key",
]


def _backend(backend: CurveBackend | None) -> CurveBackend:
    from zkmargin.backends import get_backend

    return backend or get_backend()


@dataclass(frozen=True)
class ProvedAccount:
    """A proof and its public inputs (snarkjs order); the salt opens the commitment and stays with the trader.

    public starts with the circuit's per-proof header: (commitment, context), or in membership mode
    (root, context, scope, nullifier); the snapshot's values follow.
    """

    circuit_id: str
    proof: Proof
    public: list[int]
    salt: int

    @property
    def header(self) -> dict[str, int]:
        """The per-proof public inputs by name (commitment or root, context, and scope, nullifier)."""
        circuit = circuit_from_id(self.circuit_id)
        return dict(zip(circuit.header, self.public[:circuit.per_proof_inputs]))

    @property
    def context(self) -> int:
        """The verifier's challenge the proof is bound to (public input 1 in both modes)."""
        return self.public[1]


def make_keys(circuit_id: str = DEFAULT_CIRCUIT_ID, backend: CurveBackend | None = None) -> ProvingKey:
    """Single-party setup (the verifier's side, for development); production keys come from a ceremony."""
    from zkmargin.groth16 import setup

    return setup(circuit_from_id(circuit_id).compile(), backend=_backend(backend))


def prove(account: Account, snapshot: Snapshot, proving_key: ProvingKey, *, circuit_id: str = DEFAULT_CIRCUIT_ID,
          context: int | None = None, salt: int | None = None, path: MerklePath | None = None,
          scope: int | None = None, secret: int | None = None,
          backend: CurveBackend | None = None) -> ProvedAccount:
    """Prove that the account is not subject to a margin call; raises MarginCallError when it is.

    Membership circuits (`<id>-m<depth>`) need the account's path in the venue's tree, the verifier's
    scope and the trader's identity secret (whose identity the venue bound into the leaf); the salt
    must then be the one the venue's leaf was committed with.
    """
    circuit = circuit_from_id(circuit_id)
    if proving_key.circuit_digest != circuit.compile().digest():
        raise MalformedKeyError(f"the proving key was made for another circuit than {circuit_id}")
    context = random_context() if context is None else context
    if circuit.is_membership and (path is None or scope is None or salt is None or secret is None):
        # The salt too: a fresh one would commit to a leaf that is not in the venue's tree.
        raise CircuitError(f"{circuit_id} is a membership circuit: give path, scope, identity secret and the "
                           "leaf's salt")
    salt = new_salt() if salt is None else salt
    # prepare_proof (behind both) refuses a path or scope given to a named circuit.
    if path is None and scope is None and secret is None:
        proof, public = prove_account(circuit, proving_key, account, snapshot, salt, context, _backend(backend))
    else:
        proof, public = prove_member(circuit, proving_key, account, snapshot, salt, context, path, scope, secret,
                                     _backend(backend))
    return ProvedAccount(circuit_id, proof, public.as_list(), salt)


def verify(proof: Proof, public: Sequence[int], snapshot: Snapshot, verification_key: VerifyingKey, *,
           circuit_id: str = DEFAULT_CIRCUIT_ID, venue_key: VenuePublicKey | None = None,
           attestation: Attestation | None = None, signed_root: SignedRoot | None = None,
           root: int | None = None, backend: CurveBackend | None = None) -> bool:
    """True iff the proof holds for the per-proof header of `public` against the verifier's snapshot.

    Only the header (commitment, context; or root, context, scope, nullifier) is read from the prover's
    list; the snapshot part is derived from `snapshot`. With venue_key, the venue must vouch: its
    attestation of the commitment, or (membership) its signed root for this snapshot. A membership
    proof needs venue_key or `root`, the root the verifier trusts: a root from the prover proves nothing.
    """
    circuit = circuit_from_id(circuit_id)
    verifier = SnapshotVerifier(circuit, verification_key, snapshot, _backend(backend), venue_key, root)
    header = _header(verifier, public)
    if circuit.is_membership:
        return verifier.verify_member(*header, proof, signed_root=signed_root)
    return verifier.verify(*header, proof, attestation)


def verify_batch(proofs: Sequence[tuple[Proof, Sequence[int]]], snapshot: Snapshot, verification_key: VerifyingKey,
                 *, circuit_id: str = DEFAULT_CIRCUIT_ID, root: int | None = None,
                 backend: CurveBackend | None = None) -> BatchReport:
    """Verdicts for (proof, public) pairs against one snapshot, in one weighted pairing check.

    Named mode only without a venue's attestations (use SnapshotVerifier for attested batches); membership
    circuits need `root`, the one root the verifier trusts.
    """
    verifier = SnapshotVerifier(circuit_from_id(circuit_id), verification_key, snapshot, _backend(backend),
                                root=root)
    items = []
    for index, (proof, public) in enumerate(proofs):
        try:
            header = _header(verifier, public)
        except PublicInputError as exc:
            items.append(ProofItem(error=str(exc), label=str(index)))
            continue
        if verifier.circuit.is_membership:
            root, context, scope, nullifier = header
            items.append(ProofItem(context=context, proof=proof, root=root, scope=scope, nullifier=nullifier,
                                   label=str(index)))
        else:
            items.append(ProofItem(header[0], header[1], proof, label=str(index)))
    return verifier.verify_batch(items)


def _header(verifier: SnapshotVerifier, public: Sequence[int]) -> tuple[int, ...]:
    """The per-proof inputs of a public-input list whose snapshot part must be the verifier's own.

    The snapshot part is never used (the verifier's values are); a list made against another snapshot or
    layout is refused by name rather than reported as an invalid proof.
    """
    header = split_header(verifier.circuit, public)
    if list(public[len(header):]) != verifier.snapshot_values:
        raise PublicInputError(f"the public inputs were made against another snapshot than "
                               f"{verifier.snapshot.snapshot_id!r} (or another layout of it)")
    return header


def _read(path: Path | str) -> bytes:
    return Path(path).read_bytes()


def read_proof(path: Path | str, backend: CurveBackend | None = None) -> Proof:
    """A snarkjs proof.json (curve and subgroup checked)."""
    return proof_from_json(_read(path), _backend(backend))


def write_proof(path: Path | str, proof: Proof, backend: CurveBackend | None = None) -> None:
    """proof.json in snarkjs's format."""
    write_json(path, proof_to_json(proof, _backend(backend)))


def read_public(path: Path | str) -> list[int]:
    """A snarkjs public.json (decimal strings, each in [0, r))."""
    return public_inputs_from_json(_read(path))


def write_public(path: Path | str, public: Sequence[int]) -> None:
    """public.json in snarkjs's format."""
    write_json(path, public_inputs_to_json(public))


def read_verification_key(path: Path | str, backend: CurveBackend | None = None) -> VerifyingKey:
    """A snarkjs verification_key.json (points checked)."""
    return vk_from_json(_read(path), _backend(backend))


def write_verification_key(path: Path | str, verification_key: VerifyingKey,
                           backend: CurveBackend | None = None) -> None:
    """verification_key.json in snarkjs's format (vk_alphabeta_12 included)."""
    write_json(path, vk_to_json(verification_key, _backend(backend)))


def read_proving_key(path: Path | str, backend: CurveBackend | None = None) -> ProvingKey:
    """zkmargin's binary proving key (`zkmargin setup` writes it; `zkmargin zkey` converts .zkey files)."""
    return pk_from_bytes(_read(path), _backend(backend))


def write_proving_key(path: Path | str, proving_key: ProvingKey, backend: CurveBackend | None = None) -> None:
    """The binary proving key, owner-readable only (it is not secret, but it is large and easily swapped)."""
    write_atomic(path, pk_to_bytes(proving_key, _backend(backend)), mode=0o600)
