"""A statement made usable: compiled matrices, public inputs from the verifier's snapshot, the full assignment.

Everything here works on any statement through the protocol alone, so no
statement carries (or inherits) this glue.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from zkmargin.circuits.layout import StatementPublic
from zkmargin.circuits.parts import check_field_element
from zkmargin.circuits.protocol import Statement
from zkmargin.errors import CircuitError
from zkmargin.margin.models import Account, Snapshot
from zkmargin.r1cs import CompiledR1CS, ConstraintSystem

W = TypeVar("W")


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
        """The public inputs after (commitment, context): the same for every proof against one snapshot."""
        return list(self.statement.layout.flatten(self.statement.snapshot_values(snapshot)))

    def public_inputs(self, snapshot: Snapshot, commitment: int, context: int) -> StatementPublic:
        """Public inputs from a snapshot the VERIFIER trusts, with every range the overflow argument needs."""
        check_field_element(commitment, "commitment")
        check_field_element(context, "context")
        return StatementPublic(commitment, context, tuple(self.snapshot_inputs(snapshot)))

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
