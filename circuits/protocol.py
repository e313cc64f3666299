"""The statement protocol: what a margin statement provides, and nothing more.

A statement is a plain frozen dataclass (its capacity) with these members. Its capacity
declarations (fields, id, layout digest, domain tag) are written once in parts.SlotCapacity
(dense) or sparse_parts.SparseCapacity (sparse), which it extends; constraints are never
inherited: synthesize is each statement's own, shared logic lives in free functions
(circuits/parts.py), and the generic work (compiling, public inputs, proving, verifying) is done on any
statement by circuits/circuit.py and circuits/proving.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from zkmargin.circuits.layout import AllocatedPublic, PublicLayout
    from zkmargin.margin.models import Account, Snapshot
    from zkmargin.r1cs import ConstraintSystem, LinearCombination

W = TypeVar("W")


class SlotWitness(Protocol):
    """Private slot values every statement commits to: snapshot order, zero-padded to the capacity."""

    @property
    def quantities_e8(self) -> tuple[int, ...]: ...

    @property
    def entry_prices_e8(self) -> tuple[int, ...]: ...

    @property
    def amounts_e8(self) -> tuple[int, ...]: ...

    @property
    def salt(self) -> int: ...


@runtime_checkable
class Statement(Protocol[W]):
    """A margin statement at one capacity; W is its witness type."""

    @property
    def model(self) -> str:
        """The margin model's registry name."""
        ...

    @property
    def circuit_id(self) -> str:
        """Stable name of the statement and capacity (key caches, registries, openings)."""
        ...

    @property
    def layout(self) -> PublicLayout[Any]:
        """The public inputs, declared once."""
        ...

    def snapshot_values(self, snapshot: Snapshot) -> Any:
        """The layout's snapshot part from a snapshot the verifier trusts; range-checked for the overflow argument."""
        ...

    def synthesize(self, cs: ConstraintSystem, inputs: AllocatedPublic[Any], witness: W | None) -> LinearCombination:
        """Add the constraints over allocated public inputs (witness is None in setup mode); return the salt variable
        the commitment opening constrained (a membership wrapper derives the nullifier from it)."""
        ...

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> W:
        """Private values of an account in this snapshot's slot layout."""
        ...

    def commitment(self, witness: W) -> int:
        """The commitment the witness opens."""
        ...

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Raise MarginCallError when this model's reference engine says margin call."""
        ...
