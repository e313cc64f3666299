"""Prove an account and verify a proof against the verifier's own snapshot, for any statement."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from zkmargin.circuits.circuit import Circuit
from zkmargin.circuits.layout import StatementPublic
from zkmargin.circuits.membership import Membership
from zkmargin.circuits.parts import check_field_element
from zkmargin.errors import CircuitError, FormatError, OpeningMismatchError, PublicInputError
from zkmargin.field import R
from zkmargin.margin.models import Account, Snapshot
from zkmargin.venue.tree import MerklePath

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


FIELD_ELEMENT = r"^(0|[1-9][0-9]{0,77}|0x(0|[1-9a-f][0-9a-f]{0,63}))$"
"""One canonical text per number: ASCII decimal without sign or leading zeros, or 0x and lowercase
hex without leading zeros. Values must also lie below r (checked on use)."""
_CANONICAL_FIELD_ELEMENT = re.compile(FIELD_ELEMENT)


def canonical_field_element(text: object, what: str) -> int:
    """A field element in its one canonical text (FIELD_ELEMENT), below r; raises FormatError or PublicInputError."""
    # int() alone would also take " +1001 ", "1_001", "-0", "0001" and non-ASCII digits: one number, many texts,
    # so a count kept on texts (repeats, duplicates) would miss the same value written twice.
    if not isinstance(text, str):
        raise FormatError(f"{what}: must be a string (canonical decimal or 0x-hex), got {type(text).__name__}")
    if not _CANONICAL_FIELD_ELEMENT.fullmatch(text):
        raise FormatError(f"{what}: {text[:100]!r} is not a canonical decimal (no sign, spaces, underscores "
                          "or leading zeros; ASCII digits) or 0x-hex (lowercase, no leading zeros)")
    return parse_field_element(text, what)


def split_public_inputs(circuit: Circuit[Any], values: Sequence[int]) -> tuple[int, int]:
    """(commitment, context) from a full public-input list of this circuit."""
    header = split_header(circuit, values)
    return header[0], header[1]


def split_header(circuit: Circuit[Any], values: Sequence[int]) -> tuple[int, ...]:
    """The per-proof inputs (circuit.header order) from a full public-input list of this circuit."""
    if len(values) != circuit.num_public:
        raise PublicInputError(f"{circuit.circuit_id} expects {circuit.num_public} public inputs, got {len(values)}")
    return tuple(values[: circuit.per_proof_inputs])


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
    started = time.perf_counter()
    public, witness = prepare_proof(circuit, account, snapshot, salt, context)
    return _prove(circuit, pk, public, witness, started, backend, timings), public


def prove_member(
    circuit: Circuit[Any],
    pk: ProvingKey,
    account: Account,
    snapshot: Snapshot,
    salt: int,
    context: int,
    path: MerklePath,
    scope: int,
    secret: int,
    backend: CurveBackend | None = None,
    timings: dict[str, float] | None = None,
) -> tuple[Proof, StatementPublic]:
    """Prove that a healthy account's leaf (its commitment under the secret's identity) is under path.root.

    Public: root, context, scope, nullifier = Poseidon(secret, scope). Raises MarginCallError when unhealthy,
    CircuitError when the path is not this commitment's and identity's leaf or has another depth.
    """
    started = time.perf_counter()
    public, witness = prepare_proof(circuit, account, snapshot, salt, context, path, scope, secret)
    return _prove(circuit, pk, public, witness, started, backend, timings), public


def prepare_proof(circuit: Circuit[Any], account: Account, snapshot: Snapshot, salt: int, context: int,
                  path: MerklePath | None = None, scope: int | None = None, secret: int | None = None, *,
                  commitment: int | None = None,
                  checks: Callable[[], None] | None = None) -> tuple[StatementPublic, Any]:
    """(public inputs, witness) of a healthy account: named mode, or membership mode with path, scope and secret.

    The witness is built once. In order: CircuitError when the mode does not fit the circuit; with commitment
    (the opening's), OpeningMismatchError when the account and salt do not open it; then the caller's checks
    (a venue's attestation or signed root); MarginCallError when unhealthy; CircuitError when the path is not
    this commitment's.
    """
    statement = circuit.statement
    if (isinstance(statement, Membership) != (path is not None) or (path is None) != (scope is None)
            or (path is None) != (secret is None)):
        raise CircuitError(
            f"{circuit.circuit_id} proves membership under a root: give the account's Merkle path, a scope and "
            "the owner's identity secret"
            if isinstance(statement, Membership) else
            f"{circuit.circuit_id} is not a membership circuit (ids end in -m<depth>): it takes no path, scope or secret")
    witness = None
    if commitment is not None:
        witness = circuit.witness(account, snapshot, salt)
        if circuit.commitment(witness) != commitment:
            raise OpeningMismatchError(
                "the account does not match the commitment in the opening (was it changed after commit?)")
    if checks is not None:
        checks()
    # Health before the witness when nothing asked for it yet: a margin call is the answer, whatever else is wrong.
    circuit.require_healthy(account, snapshot)
    if witness is None:
        witness = circuit.witness(account, snapshot, salt)
    if not isinstance(statement, Membership) or path is None or scope is None or secret is None:
        return circuit.public_inputs(snapshot, circuit.commitment(witness), context), witness
    check_field_element(scope, "scope")
    witness = statement.place(witness, path, secret)
    return circuit.public_inputs(snapshot, path.root, context, (scope, statement.nullifier(witness, scope))), witness


def prove_prepared(circuit: Circuit[Any], pk: ProvingKey, public: StatementPublic, witness: Any,
                   backend: CurveBackend | None = None, timings: dict[str, float] | None = None) -> Proof:
    """Prove what prepare_proof returned (health already checked, witness already built)."""
    return _prove(circuit, pk, public, witness, time.perf_counter(), backend, timings)


def _prove(circuit: Circuit[Any], pk: ProvingKey, public: StatementPublic, witness: Any, started: float,
           backend: CurveBackend | None, timings: dict[str, float] | None) -> Proof:
    from zkmargin.groth16 import prove

    z = circuit.witness_assignment(public, witness)
    if timings is not None:
        timings["witness"] = time.perf_counter() - started
    return prove(pk, circuit.compile(), z, backend=backend, timings=timings)


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
    from zkmargin.backends import get_backend
    from zkmargin.circuits.verification import SnapshotVerifier

    return SnapshotVerifier(circuit, vk, snapshot, backend or get_backend()).verify(commitment, context, proof)
