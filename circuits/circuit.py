"""A statement made usable: compiled matrices, public inputs from the verifier's snapshot, the full assignment.

Everything here works on any statement through the protocol alone, so no
statement carries (or inherits) this glue.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from zkmargin.circuits.layout import MEMBER_HEADER, StatementPublic
from zkmargin.circuits.parts import check_field_element
from zkmargin.circuits.protocol import Statement
from zkmargin.errors import CircuitError, PublicInputError
from zkmargin.margin.models import Account, Snapshot
from zkmargin.r1cs import CompiledR1CS, ConstraintSystem

W = TypeVar("W")
SIZE_SYMBOLS = {"n_positions": "N", "n_rows": "N", "n_held": "P", "n_collateral": "K", "n_tiers": "T",
                "n_scenarios": "S", "depth": "depth"}
"""Statement fields that are sizes, and the letter circuit ids and docs use for each (N is table rows when sparse)."""


@dataclass(frozen=True)
class Circuit(Generic[W]):
    """One statement at one capacity, as keys, provers and verifiers see it."""

    statement: Statement[W]

    @property
    def circuit_id(self) -> str:
        """Stable name of the statement and capacity."""
        return self.statement.circuit_id

    @property
    def model(self) -> str:
        """The margin model's registry name."""
        return self.statement.model

    @property
    def num_public(self) -> int:
        """Number of public inputs (the layout counts itself)."""
        return self.statement.layout.count

    @property
    def header(self) -> tuple[str, ...]:
        """Names of the per-proof public inputs: (commitment, context), or (root, context, scope, nullifier)."""
        return self.statement.layout.header

    @property
    def per_proof_inputs(self) -> int:
        """How many leading public inputs change per proof; the rest are the snapshot's (folded once per snapshot)."""
        return len(self.header)

    @property
    def sizes(self) -> dict[str, int]:
        """The capacity the id names: N (instrument slots; table rows when sparse), P (held slots), K, T, S, depth."""
        statement: Any = self.statement
        layers = (statement.inner, statement) if hasattr(statement, "inner") else (statement,)
        return {symbol: getattr(layer, field) for layer in layers for field, symbol in SIZE_SYMBOLS.items()
                if isinstance(getattr(layer, field, None), int)}

    @property
    def is_membership(self) -> bool:
        """True when the proof shows membership under a public root instead of opening a public commitment."""
        return self.header == MEMBER_HEADER

    def synthesize(self, cs: ConstraintSystem, public: StatementPublic | None = None, witness: W | None = None) -> None:
        """Allocate the declared public inputs and add the statement's constraints (values when cs has them)."""
        if cs.has_values and (public is None or witness is None):
            raise CircuitError("proving needs both public inputs and a witness")
        inputs = self.statement.layout.allocate(cs, public if cs.has_values else None)
        self.statement.synthesize(cs, inputs, witness if cs.has_values else None)

    @functools.cache
    def compile(self) -> CompiledR1CS:
        """Constraint matrices of this statement and capacity (cached per process)."""
        cs = ConstraintSystem("setup")
        self.synthesize(cs)
        return cs.compile()

    def witness_assignment(self, public: StatementPublic, witness: W) -> list[int]:
        """Solve the full assignment z (values only, no constraint recording)."""
        cs = ConstraintSystem("prove")
        self.synthesize(cs, public, witness)
        return cs.assignment()

    def snapshot_inputs(self, snapshot: Snapshot) -> list[int]:
        """The public inputs after the per-proof header: the same for every proof against one snapshot."""
        return list(self.statement.layout.flatten(self.statement.snapshot_values(snapshot)))

    def public_inputs(self, snapshot: Snapshot, commitment: int, context: int,
                      extra: Sequence[int] = ()) -> StatementPublic:
        """Public inputs from a snapshot the VERIFIER trusts, with every range the overflow argument needs.

        commitment is the root for a membership circuit, whose extra is (scope, nullifier).
        """
        header = self.header
        if len(extra) != len(header) - 2:
            raise PublicInputError(f"{self.circuit_id} takes per-proof inputs {', '.join(header)}; "
                                   f"got {2 + len(extra)} values")
        for value, name in zip((commitment, context, *extra), header):
            check_field_element(value, name)
        return StatementPublic(commitment, context, tuple(self.snapshot_inputs(snapshot)), tuple(extra))

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> W:
        """Private values of an account in this snapshot's slot layout."""
        return self.statement.witness(account, snapshot, salt)

    def commitment(self, witness: W) -> int:
        """The commitment this witness opens."""
        return self.statement.commitment(witness)

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Raise MarginCallError when the model's reference engine says margin call."""
        self.statement.require_healthy(account, snapshot)


AnyCircuit = Circuit[Any]
