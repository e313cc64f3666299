"""Parts shared by the sparse statements: the public table (one packed input a row), held-slot selection by a
private index, the canonical order of held slots, and the lookup that ties every held slot to a table row.

The soundness argument of each step is written in circuits/sparse_cross.py (the first sparse statement) and
in the gadgets' docstrings (zkmargin/gadgets/selection.py); every sparse statement composes these parts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

from zkmargin.circuits.layout import PublicLayout, at
from zkmargin.circuits.parts import (
    MAX_SLOTS,
    SCALE_E8,
    VALUE_BITS,
    Asset,
    PositionCore,
    notional_of,
    position_core,
    rate_inputs,
    snapshot_layout_digest,
)
from zkmargin.errors import CircuitError
from zkmargin.field import R
from zkmargin.gadgets.range import assert_unsigned
from zkmargin.gadgets.selection import assert_index, assert_lookups, index_bits_for, mux_tree
from zkmargin.margin.commitment import QUANTITY_OFFSET, commitment_domain_tag
from zkmargin.margin.models import Account, Snapshot
from zkmargin.margin.sparse import INDEX_SHIFT, MAX_TABLE_ROWS, HeldSlots, commit_held, held_slots, table_value_digest
from zkmargin.r1cs import ConstraintSystem, LinearCombination

RATE_BITS = 27
"""Maintenance rates are at most 1e8 < 2^27 (the verifier's check)."""
SIZE_SHIFT = 64
RATE_SHIFT = 128
LOOKUP_INDEX_SHIFT = 155
"""A lookup row is its packed values plus index * 2^155 (distinct rows; below 2^169 since N < 2^14)."""
LOOKUP_VALUE_BITS = 170
V = TypeVar("V")
SELECTIONS = ("lookup", "mux")
"""How a held slot reads its row: the log-derivative lookup (registered ids) or a mux tree (bench, '-mux' ids)."""


@dataclass(frozen=True)
class TableRow(Generic[V]):
    """One table row, packed by the verifier after its range checks: mark + size * 2^64 + rate * 2^128 (< 2^155)."""

    mark_size_rate_e8: V


@dataclass(frozen=True)
class SparseInputs(Generic[V]):
    """The snapshot part of the public inputs: layout digest, table value digest, per table row, per asset slot."""

    layout_digest: V
    table_digest: V
    rows: tuple[TableRow[V], ...]
    assets: tuple[Asset[V], ...]


def pack_row(mark_price_e8: int, maintenance_rate_e8: int, contract_size_e8: int) -> int:
    """A table row as one public input: mark + size * 2^64 + rate * 2^128 (injective for the checked ranges)."""
    return mark_price_e8 + (contract_size_e8 << SIZE_SHIFT) + (maintenance_rate_e8 << RATE_SHIFT)


def check_sparse_capacity(n_rows: int, n_held: int, n_collateral: int, selection: str) -> None:
    """1 <= P <= N <= MAX_TABLE_ROWS, K >= 1, P + K <= MAX_SLOTS (the overflow arguments sum P + K terms)."""
    if n_held < 1 or n_collateral < 1:
        raise CircuitError("capacities must be at least 1 held position and 1 collateral slot")
    if not n_held <= n_rows <= MAX_TABLE_ROWS:
        raise CircuitError(f"a sparse table has P <= N <= {MAX_TABLE_ROWS} rows")
    if n_held + n_collateral > MAX_SLOTS:
        raise CircuitError(f"at most {MAX_SLOTS} held and collateral slots in all (the overflow argument needs it)")
    if selection not in SELECTIONS:
        raise CircuitError(f"selection must be one of {', '.join(SELECTIONS)}")


def sparse_id(model: str, n_rows: int, n_held: int, n_collateral: int, selection: str) -> str:
    """'<model>-n<N>-p<P>-k<K>', plus '-mux' for the (unregistered) mux-tree variant."""
    suffix = "" if selection == "lookup" else f"-{selection}"
    return f"{model}-n{n_rows}-p{n_held}-k{n_collateral}{suffix}"


def check_held_witness(
    lengths: Sequence[int], n_held: int, n_amounts: int, n_collateral: int, indices: Sequence[Any]
) -> None:
    """Per-slot tuples of n_held, n_collateral amounts, indices ints in [0, r); CircuitError otherwise."""
    # A value >= r would be reduced silently when assigned (index + r aliasing index): refuse it first.
    if any(length != n_held for length in lengths):
        raise CircuitError(f"a sparse witness has {n_held} held slots")
    if n_amounts != n_collateral:
        raise CircuitError(f"a sparse witness has {n_collateral} collateral amounts")
    for s, index in enumerate(indices):
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < R:
            raise CircuitError(f"held slot {s}: index must be a field element in [0, r)")


@dataclass(frozen=True)
class SparseWitness:
    """Held slots (ascending index, unused slots zero), collateral amounts, the salt and the layout digest."""

    indices: tuple[int, ...]
    quantities_e8: tuple[int, ...]
    entry_prices_e8: tuple[int, ...]
    amounts_e8: tuple[int, ...]
    salt: int
    layout_digest: int


@dataclass(frozen=True)
class SparseCapacity:
    """The declarations every sparse statement shares, written once: N table rows, P held slots, K asset slots,
    the selection, and what follows from them and the class's model and statement tag (id, public layout, table
    values, layout digest, commitment domain tag). Declarations only: synthesize is each statement's own.
    """

    n_rows: int
    n_held: int
    n_collateral: int
    selection: str = "lookup"
    model: ClassVar[str]
    statement_tag: ClassVar[int]

    def __post_init__(self) -> None:
        check_sparse_capacity(self.n_rows, self.n_held, self.n_collateral, self.selection)

    @property
    def circuit_id(self) -> str:
        """<model>-n<N>-p<P>-k<K> (the mux-tree variant, kept for measurement, ends in -mux and is not registered)."""
        return sparse_id(self.model, self.n_rows, self.n_held, self.n_collateral, self.selection)

    @property
    def capacity(self) -> tuple[int, ...]:
        """The sizes the layout digest binds: N, P, K."""
        return (self.n_rows, self.n_held, self.n_collateral)

    @functools.cached_property
    def layout(self) -> PublicLayout[SparseInputs[Any]]:
        """commitment, context; layout and table digests; one packed row per table row; (price, haircut) per asset."""
        return sparse_layout(self.n_rows, self.n_collateral)

    def snapshot_values(self, snapshot: Snapshot) -> SparseInputs[int]:
        """The table, zero-padded to N rows (marks and sizes below 2^64, rates in [0, 1e8]), packed, and its digests."""
        return sparse_snapshot_values(snapshot, self.n_rows, self.n_collateral, self.layout_digest(snapshot))

    def layout_digest(self, snapshot: Snapshot) -> int:
        """The table this statement binds: model, statement version, capacity, ordered names."""
        return snapshot_layout_digest(self.model, self.statement_tag, self.capacity, snapshot)

    @property
    def domain_tag(self) -> int:
        """Commitment domain tag: the statement tag, P and K (N is in the layout digest)."""
        return commitment_domain_tag(self.n_held, self.n_collateral, self.statement_tag)

    def check_table_fits(self, snapshot: Snapshot) -> None:
        """The snapshot's table must fit N rows and K assets (CapacityError) with values in range."""
        rate_inputs(snapshot, self.n_rows, self.n_collateral, 0)

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> SparseWitness:
        """The account's held slots in this snapshot's table; CapacityError when it holds more than P positions."""
        self.check_table_fits(snapshot)
        slots = held_slots(account, snapshot, self.n_held, self.n_collateral)
        return SparseWitness(slots.indices, slots.quantities_e8, slots.entry_prices_e8, slots.amounts_e8, salt,
                             self.layout_digest(snapshot))

    def commitment(self, witness: SparseWitness) -> int:
        """The commitment this witness opens: sparse cross's held-slot packing under this statement's tag."""
        slots = HeldSlots(witness.indices, witness.quantities_e8, witness.entry_prices_e8, witness.amounts_e8)
        return commit_held(slots, witness.salt, witness.layout_digest, self.statement_tag)

    def check_witness(self, per_slot: Sequence[Sequence[Any]], amounts_e8: Sequence[int], indices: Sequence[Any]) -> None:
        """Every per-slot tuple has P entries, K amounts, indices ints in [0, r); CircuitError otherwise."""
        check_held_witness([len(v) for v in per_slot], self.n_held, len(amounts_e8), self.n_collateral, indices)


def sparse_layout(n_rows: int, n_collateral: int) -> PublicLayout[SparseInputs[Any]]:
    """commitment, context; layout and table digests; one packed row per table row; (price, haircut) per asset."""
    return PublicLayout(SparseInputs(0, 0, (TableRow(0),) * n_rows, (Asset(0, 0),) * n_collateral))


def sparse_snapshot_values(snapshot: Snapshot, n_rows: int, n_collateral: int, digest: int) -> SparseInputs[int]:
    """The table, zero-padded to N rows (marks and sizes below 2^64, rates in [0, 1e8]), packed, and its digests."""
    table = rate_inputs(snapshot, n_rows, n_collateral, digest)
    rows = [(q.mark_price_e8, q.maintenance_rate_e8, q.contract_size_e8) for q in table.instruments]
    packed = tuple(TableRow(pack_row(*row)) for row in rows)
    return SparseInputs(table.layout_digest, table_value_digest(rows), packed, table.assets)


class HeldSlot(NamedTuple):
    """A held slot's index, position core (over the selected mark and size), used flag, rate and lookup query."""

    slot_index: LinearCombination
    core: PositionCore
    used: LinearCombination
    rate: LinearCombination
    query: tuple[LinearCombination, LinearCombination]


def held_slot(
    cs: ConstraintSystem,
    rows: Sequence[LinearCombination],
    selection: str,
    index_value: int | None,
    quantity_e8: int | None,
    entry_e8: int | None,
    previous: HeldSlot | None,
) -> HeldSlot:
    """Index in [0, N), the row's parts (mux: selected and unpacked; lookup: queried later), the position terms,
    used = [q != 0] with an all-zero unused slot, and the order after the previous slot. Call in the slot's namespace."""
    index = cs.private_input("index", index_value)
    bits = assert_index(cs, index, len(rows), "index")
    if selection == "mux":
        row = mux_tree(cs, bits, rows, "select")
        mark, size, rate, packed_row = row_parts(cs, lambda: row.value or 0)
        cs.assert_equal(packed_row, row, "row_unpacks")
    else:
        mark, size, rate, packed_row = row_parts(cs, lambda: row_hint(rows, index))
    core = position_core(cs, quantity_e8, entry_e8, mark, size)
    used = used_flag(cs, core.quantity, index, core.entry)
    if previous is not None:
        held_after(cs, previous, used, index, index_bits_for(len(rows)))
    return HeldSlot(index, core, used, rate, (used, packed_row + index * (1 << LOOKUP_INDEX_SHIFT)))


class HeldCrossTerms(NamedTuple):
    """The held slots' cross terms in-circuit (scale 1e32), their commitment elements and the slots (for the lookup)."""

    upnl: LinearCombination
    maintenance: LinearCombination
    packed: list[LinearCombination]
    slots: list[HeldSlot]


def held_cross_terms(cs: ConstraintSystem, snapshot: SparseInputs[Any], n_held: int, selection: str,
                     witness: SparseWitness | None) -> HeldCrossTerms:
    """Allocate the P held slots (index, row, order, position core) in held[s] namespaces; sum upnl and maintenance.

    The caller ties the slots to the table (finish_selection: the book's batch runs one lookup over all its
    accounts) and adds the collateral; each term is below 2^218 (circuits.sparse_cross's overflow argument).
    """
    w = witness
    rows = [row.mark_size_rate_e8 for row in snapshot.rows]
    upnl = cs.constant(0)
    maintenance = cs.constant(0)
    packed: list[LinearCombination] = []
    slots: list[HeldSlot] = []
    for s in range(n_held):
        with cs.namespace(f"held[{s}]"):
            slot = held_slot(cs, rows, selection, at(w and w.indices, s), at(w and w.quantities_e8, s),
                             at(w and w.entry_prices_e8, s), slots[-1] if slots else None)
            slots.append(slot)
            core = slot.core
            upnl = upnl + core.upnl * SCALE_E8
            maintenance = maintenance + cs.mul(notional_of(core), slot.rate, "maintenance")
            packed.append(held_element(slot))
    return HeldCrossTerms(upnl, maintenance, packed, slots)


def held_element(slot: HeldSlot) -> LinearCombination:
    """A held slot's commitment element: (q + 2^63) + entry 2^64 + index 2^128 (zkmargin.margin.sparse's packing)."""
    core = slot.core
    return core.quantity + QUANTITY_OFFSET + core.entry * (1 << 64) + slot.slot_index * (1 << INDEX_SHIFT)


def finish_selection(
    cs: ConstraintSystem, snapshot: SparseInputs[Any], slots: Sequence[HeldSlot], selection: str,
    multiplicity_bits: int = 1,
) -> None:
    """Lookup mode: every used slot's (index, row) is a table entry (challenge bound to both digests).

    multiplicity_bits > 1 when slots of several accounts may read one row (a book batch: B accounts, each row at
    most once an account since its used indices strictly increase, so B < 2^multiplicity_bits rows reads)."""
    if selection != "lookup":
        return
    rows = [row.mark_size_rate_e8 for row in snapshot.rows]
    table = [row + j * (1 << LOOKUP_INDEX_SHIFT) for j, row in enumerate(rows)]
    bound = [snapshot.layout_digest, snapshot.table_digest]
    assert_lookups(cs, table, [slot.query for slot in slots], bound, LOOKUP_VALUE_BITS, "lookup", multiplicity_bits)


def row_hint(rows: Sequence[LinearCombination], index: LinearCombination) -> int:
    """The packed row a held slot reads (solving only; the constraints, not this hint, decide what is valid)."""
    i = index.value or 0
    return (rows[i].value or 0) if i < len(rows) else 0


def row_parts(
    cs: ConstraintSystem, packed_hint: Callable[[], int]
) -> tuple[LinearCombination, LinearCombination, LinearCombination, LinearCombination]:
    """(mark, size, rate, their packing) of a held slot's row, range-checked to 64, 64, 27 bits. 158 constraints.

    The ranges make the packing mark + size 2^64 + rate 2^128 injective (below 2^155).
    """

    def part(shift: int, bits: int) -> int:
        return (packed_hint() >> shift) & ((1 << bits) - 1)

    hint = cs.has_values
    mark = cs.alloc("mark_price_e8", (lambda: part(0, 64)) if hint else None)
    size = cs.alloc("contract_size_e8", (lambda: part(SIZE_SHIFT, 64)) if hint else None)
    rate = cs.alloc("maintenance_rate_e8", (lambda: part(RATE_SHIFT, RATE_BITS)) if hint else None)
    assert_unsigned(cs, mark, VALUE_BITS, "mark_range")
    assert_unsigned(cs, size, VALUE_BITS, "size_range")
    assert_unsigned(cs, rate, RATE_BITS, "rate_range")
    return mark, size, rate, mark + size * (1 << SIZE_SHIFT) + rate * (1 << RATE_SHIFT)


def used_flag(
    cs: ConstraintSystem, quantity: LinearCombination, index: LinearCombination, entry: LinearCombination
) -> LinearCombination:
    """used = [q != 0], and an unused slot has index 0 and entry 0. 4 constraints."""
    hint = cs.has_values
    used = cs.alloc("used", (lambda: int((quantity.value or 0) != 0)) if hint else None)
    inverse = cs.alloc(
        "quantity_inverse", (lambda: pow(quantity.value, -1, R) if quantity.value else 0) if hint else None
    )
    zero = cs.constant(0)
    cs.enforce(quantity, inverse, used, "used_when_nonzero")
    cs.enforce(quantity, cs.one - used, zero, "nonzero_when_used")
    cs.enforce(cs.one - used, index, zero, "unused_index_is_zero")
    cs.enforce(cs.one - used, entry, zero, "unused_entry_is_zero")
    return used


def held_after(
    cs: ConstraintSystem, previous: HeldSlot, used: LinearCombination, index: LinearCombination, width: int
) -> None:
    """Used slots first, and a used slot's index above the previous one's. width + 3 constraints."""
    cs.enforce(used, cs.one - previous.used, cs.constant(0), "used_slots_first")
    gap = cs.mul(used, index - previous.slot_index - 1, "index_gap")
    cs.to_bits(gap, width, "indices_increase")


# ----- per-row columns: more public values a row than one element holds -------------------------------------------
COLUMN_INDEX_BITS = 21
"""A column entry's place j * C + c stays below 2^21 (N < 2^14 rows, C < 2^7 columns a row)."""


def column_entry(value: LinearCombination, index: LinearCombination | int, n_columns: int, column: int,
                 shift: int) -> LinearCombination:
    """A column's lookup value: its packed value (below 2^shift) plus (index * C + column) * 2^shift."""
    return value + (index * n_columns + column) * (1 << shift)


def assert_column_lookups(
    cs: ConstraintSystem,
    snapshot: SparseInputs[Any],
    columns: Sequence[Sequence[LinearCombination]],
    queries: Sequence[tuple[LinearCombination, LinearCombination]],
    shift: int,
    label: str,
) -> None:
    """Every used query is column c of row j of the table: a lookup over the entries column_entry(v_jc, j, C, c),
    its challenge bound to both digests (zkmargin.gadgets.selection.assert_lookups states the argument).

    The caller range-checks each query's packed value below 2^shift and builds it with column_entry from the held
    slot's own index (in [0, N)) and a column in [0, C): the place j * C + c then names one row and one column.
    """
    if shift + COLUMN_INDEX_BITS >= 252:
        raise CircuitError(f"{label}: column values of {shift} bits leave no room for the place")
    entries = [column_entry(v, j, len(row), c, shift) for j, row in enumerate(columns) for c, v in enumerate(row)]
    bound = [snapshot.layout_digest, snapshot.table_digest]
    assert_lookups(cs, entries, queries, bound, shift + COLUMN_INDEX_BITS, label)


def unpack_column(cs: ConstraintSystem, packed_hint: Callable[[], int], widths: Sequence[int], label: str
                  ) -> tuple[list[LinearCombination], LinearCombination]:
    """Private parts of one packed column (little end first, widths in bits), each range-checked, and their packing.

    The ranges make the packing injective below 2^sum(widths): it equals a table value only with that value's parts.
    """
    parts: list[LinearCombination] = []
    packed = cs.constant(0)
    offset = 0
    hint = cs.has_values
    for n, width in enumerate(widths):
        def part(offset: int = offset, width: int = width) -> int:
            return (packed_hint() >> offset) & ((1 << width) - 1)

        value = cs.alloc(f"{label}[{n}]", part if hint else None)
        assert_unsigned(cs, value, width, f"{label}[{n}]/range")
        parts.append(value)
        packed = packed + value * (1 << offset)
        offset += width
    return parts, packed
