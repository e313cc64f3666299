"""Prove an account and verify a proof against the verifier's own snapshot, for any statement."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from zkmargin.circuits.circuit import Circuit
from zkmargin.circuits.layout import StatementPublic
from zkmargin.errors import PublicInputError
from zkmargin.field import R
from zkmargin.margin.models import Account, Snapshot

if TYPE_CHECKING:
    from zkmargin.backends import CurveBackend
    from zkmargin.groth16 import Proof, ProvingKey, VerifyingKey


def random_context() -> int:
    """A fresh random context (for demos; a verifier normally chooses its own)."""
    return secrets.randbelow(R)


def parse_field_element(text: str, what: str) -> int:
    """A field element from decimal or 0x-hex text; raises PublicInputError."""
    try:
        value = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    except (ValueError, AttributeError):
        raise PublicInputError(f"{what}: {text!r} is not an integer") from None
    if not 0 <= value < R:
        raise PublicInputError(f"{what}: must lie in [0, r)")
    return value


def split_public_inputs(circuit: Circuit[Any], values: Sequence[int]) -> tuple[int, int]:
    """(commitment, context) from a full public-input list of this circuit."""
    if len(values) != circuit.num_public:
        raise PublicInputError(f"{circuit.circuit_id} expects {circuit.num_public} public inputs, got {len(values)}")
    return values[0], values[1]


def prove_account(
    circuit: Circuit[Any],
    pk: ProvingKey,
    account: Account,
    snapshot: Snapshot,
    salt: int,
    context: int,
    backend: CurveBackend | None = None,
    timings: dict[str, float] | None = None,
) -> tuple[Proof, StatementPublic]:
    """Check health with the reference engine, then prove; raises MarginCallError when unhealthy."""
    from zkmargin.groth16 import prove

    circuit.require_healthy(account, snapshot)
    started = time.perf_counter()
    witness = circuit.witness(account, snapshot, salt)
    public = circuit.public_inputs(snapshot, circuit.commitment(witness), context)
    z = circuit.witness_assignment(public, witness)
    if timings is not None:
        timings["witness"] = time.perf_counter() - started
    proof = prove(pk, circuit.compile(), z, backend=backend, timings=timings)
    return proof, public


def verify_account_proof(
    circuit: Circuit[Any],
    vk: VerifyingKey,
    snapshot: Snapshot,
    commitment: int,
    context: int,
    proof: Proof,
    backend: CurveBackend | None = None,
) -> bool:
    """Verify one proof against the verifier's own snapshot (a one-off SnapshotVerifier, no attestation policy)."""
    from zkmargin.circuits.verification import SnapshotVerifier
    from zkmargin.backends import get_backend

    return SnapshotVerifier(circuit, vk, snapshot, backend or get_backend()).verify(commitment, context, proof)
