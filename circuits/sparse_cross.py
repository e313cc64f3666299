"""Sparse cross margin: P held-position slots select their instruments privately from an N-row public table.

The proof costs what the account holds (P slots), not what the venue lists (N rows):
each held slot pays for one N-leaf multiplexer instead of every row paying for a slot.
Which instruments the account holds stays private; only "at most P positions" is public.

Public inputs, in this order: commitment, context, the layout digest, the table digest
(SHA-256 of the table's values, zkmargin.margin.sparse.table_value_digest), per table row one
element mark_size_rate_e8 = mark_price_e8 + contract_size_e8 2^64 + maintenance_rate_e8 2^128
(packed by the verifier AFTER its range checks, so one input a row instead of three), per asset
slot (price_e8, haircut_e8).
The table and both digests are the verifier's, from its own snapshot, folded once per snapshot;
the layout digest binds the whole ordered table (names, N, P, K, model).
Private: per held slot index, quantity_e8, entry_price_e8; per asset slot amount_e8; the salt.

Selection (measured in bench/cross.py --sparse: the lookup is the registered one; the mux
tree, P (N - 1) constraints, stays as the '-mux' variant for measurement):
  * index_s in [0, N): b = ceil(log2 N) boolean bits that sum to index_s, plus
    N - 1 - index_s in b bits when N is not a power of two. index_s + N has no such
    bits; index_s + r is the same field element (witness values >= r are refused
    before synthesis, public ones by the verifier's checks).
  * mark_s, size_s, rate_s are private and range-checked to 64, 64 and 27 bits, so
    row_s = mark_s + size_s 2^64 + rate_s 2^128 < 2^155 is an injective packing; the
    verifier's range checks (mark, size < 2^64, rate <= 1e8 < 2^27) put every table row
    in the same range, so row_s equals a row's packing only with that row's own values.
  * lookup (zkmargin.gadgets.selection.assert_lookups): every used slot's
    row_s + index_s 2^155 is a table entry t_j = row_j + j 2^155 (distinct per j, below
    2^169), i.e. index_s = j and (mark, size, rate)_s are row j's values. Its challenge is
    Poseidon(layout digest, table digest, every slot's value and used flag, the packed
    boolean multiplicities), computed by constraints, so a prover cannot choose it; the
    written argument (a pole at any value outside the table; at most N + P - 1 roots;
    grinding Q witnesses wins with probability below Q 2^-240) is the gadget's docstring.
  * mux ('-mux'): row_s = mux_tree(bits, rows); each node is lo + bit (hi - lo), exactly
    lo or hi for a boolean bit, so row_s = rows[index_s], and row_s = the unpacked parts.
  * used_s = [q_s != 0]: q_s * inv_s = used_s and q_s * (1 - used_s) = 0 force used_s to 0
    when q_s = 0 and to 1 otherwise (so used_s is boolean without a further constraint).
    An unused slot has index 0 and entry 0 ((1 - used_s) * index_s = 0, likewise entry):
    a zero quantity that names an instrument, or carries an entry price, has no assignment.
  * used slots come first (used_s * (1 - used_{s-1}) = 0) and their indices strictly
    increase: used_s * (index_s - index_{s-1} - 1) in [0, 2^b). With both indices in
    [0, N) the difference lies in (-N, N), and a negative one is r - d > 2^b, so two used
    slots never name one instrument and the order is canonical (one commitment per state).
An unused slot selects row 0 with q = 0: its upnl and maintenance are 0, so it changes nothing.

The margin arithmetic is dense cross's, term for term (the reference engine's integers,
scale 1e32), over the held slots:
  collateral_k = amount_k * price_k * (1e8 - haircut_k) * 1e8
  upnl_s       = q_s * (mark_s - entry_s) * size_s * 1e8
  maint_s      = |q_s| * mark_s * size_s * rate_s
and slack = sum collateral + sum upnl - sum maint lies in [0, 2^SLACK_BITS). An account's
positions outside the table cannot be proved (the witness builder refuses them), and a
held position that is left out of the slots is left out of the commitment the venue attested.

Overflow argument: as in cross.py with P + K <= MAX_SLOTS = 1024 terms, each below 2^218
in absolute value, so |slack| < 2^228 and r - 2^228 > 2^SLACK_BITS; N only widens the
table, never the sum.

Commitment: zkmargin.margin.sparse (layout digest, one element per held slot
(q + 2^63) + entry 2^64 + index 2^128 < 2^142, amounts three per element, salt) under
statement tag 7 with P and K in the domain tag; every part is range-bound here, so the
packing is injective.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic

from zkmargin.circuits.cross import require_healthy as require_cross_healthy
from zkmargin.circuits.layout import AllocatedPublic, PublicLayout, at
from zkmargin.circuits.parts import (
    MAX_SLOTS,
    SCALE_E8,
    SLACK_BITS,
    VALUE_BITS,
    Asset,
    V,
    assert_covers,
    collateral_terms,
    notional_of,
    open_commitment,
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
from zkmargin.margin.sparse import (
    INDEX_SHIFT,
    MAX_TABLE_ROWS,
    HeldSlots,
    commit_held,
    held_slots,
    table_value_digest,
)
from zkmargin.r1cs import ConstraintSystem, LinearCombination

STATEMENT_TAG = 7
"""Commitment domain-tag number of the sparse cross statement."""
RATE_BITS = 27
"""Maintenance rates are at most 1e8 < 2^27 (the verifier's check)."""
SIZE_SHIFT = 64
RATE_SHIFT = 128
LOOKUP_INDEX_SHIFT = 155
"""A lookup row is its packed values plus index * 2^155 (distinct rows; below 2^169 since N < 2^14)."""
LOOKUP_VALUE_BITS = 170


@dataclass(frozen=True)
class SparseWitness:
    """Held slots (ascending index, unused slots zero), collateral amounts, the salt and the layout digest."""

    indices: tuple[int, ...]
    quantities_e8: tuple[int, ...]
    entry_prices_e8: tuple[int, ...]
    amounts_e8: tuple[int, ...]
    salt: int
    layout_digest: int


def check_sparse_capacity(n_rows: int, n_held: int, n_collateral: int) -> None:
    """1 <= P <= N <= MAX_TABLE_ROWS, K >= 1 and P + K <= MAX_SLOTS (the overflow argument sums P + K terms)."""
    if n_held < 1 or n_collateral < 1:
        raise CircuitError("capacities must be at least 1 held position and 1 collateral slot")
    if not n_held <= n_rows <= MAX_TABLE_ROWS:
        raise CircuitError(f"a sparse table has P <= N <= {MAX_TABLE_ROWS} rows")
    if n_held + n_collateral > MAX_SLOTS:
        raise CircuitError(f"at most {MAX_SLOTS} held and collateral slots in all (the overflow argument needs it)")


def _check_witness(w: SparseWitness, n_held: int, n_collateral: int) -> None:
    # A value >= r would be reduced silently when assigned (index + r aliasing index): refuse it first.
    if not all(len(v) == n_held for v in (w.indices, w.quantities_e8, w.entry_prices_e8)):
        raise CircuitError(f"a sparse witness has {n_held} held slots")
    if len(w.amounts_e8) != n_collateral:
        raise CircuitError(f"a sparse witness has {n_collateral} collateral amounts")
    for s, index in enumerate(w.indices):
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < R:
            raise CircuitError(f"held slot {s}: index must be a field element in [0, r)")


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


SELECTIONS = ("lookup", "mux")
"""How a held slot reads its row: the log-derivative lookup (registered ids) or a mux tree (bench, '-mux' ids)."""


@dataclass(frozen=True)
class SparseCrossStatement:
    """Cross margin over P held slots selecting from an N-row table, with K collateral slots."""

    n_rows: int
    n_held: int
    n_collateral: int
    selection: str = "lookup"
    model: ClassVar[str] = "cross"

    def __post_init__(self) -> None:
        check_sparse_capacity(self.n_rows, self.n_held, self.n_collateral)
        if self.selection not in SELECTIONS:
            raise CircuitError(f"selection must be one of {', '.join(SELECTIONS)}")

    @property
    def circuit_id(self) -> str:
        """cross-n<N>-p<P>-k<K> (the mux-tree variant, kept for measurement, ends in -mux and is not registered)."""
        suffix = "" if self.selection == "lookup" else f"-{self.selection}"
        return f"{self.model}-n{self.n_rows}-p{self.n_held}-k{self.n_collateral}{suffix}"

    @functools.cached_property
    def layout(self) -> PublicLayout[SparseInputs[Any]]:
        """commitment, context; layout and table digests; (mark, rate, size) per table row; (price, haircut) per asset."""
        return PublicLayout(SparseInputs(0, 0, (TableRow(0),) * self.n_rows, (Asset(0, 0),) * self.n_collateral))

    def snapshot_values(self, snapshot: Snapshot) -> SparseInputs[int]:
        """The table, zero-padded to N rows (marks and sizes below 2^64, rates in [0, 1e8]), and its digests."""
        table = rate_inputs(snapshot, self.n_rows, self.n_collateral, self.layout_digest(snapshot))
        rows = [(q.mark_price_e8, q.maintenance_rate_e8, q.contract_size_e8) for q in table.instruments]
        packed = tuple(TableRow(pack_row(*row)) for row in rows)
        return SparseInputs(table.layout_digest, table_value_digest(rows), packed, table.assets)

    def synthesize(
        self, cs: ConstraintSystem, inputs: AllocatedPublic[SparseInputs[Any]], witness: SparseWitness | None
    ) -> LinearCombination:
        """Held slots (selection, order, position terms), collateral, the commitment opening and the solvency check."""
        w = witness
        if w is not None:
            _check_witness(w, self.n_held, self.n_collateral)
        rows = [row.mark_size_rate_e8 for row in inputs.snapshot.rows]
        width = index_bits_for(self.n_rows)
        equity = cs.constant(0)
        maintenance = cs.constant(0)
        packed: list[LinearCombination] = []
        previous: tuple[LinearCombination, LinearCombination] | None = None
        queries: list[tuple[LinearCombination, LinearCombination]] = []
        for s in range(self.n_held):
            with cs.namespace(f"held[{s}]"):
                index = cs.private_input("index", at(w and w.indices, s))
                bits = assert_index(cs, index, self.n_rows, "index")
                if self.selection == "mux":
                    row = mux_tree(cs, bits, rows, "select")
                    mark, size, rate, packed_row = _row_parts(cs, lambda row=row: row.value or 0)
                    cs.assert_equal(packed_row, row, "row_unpacks")
                else:
                    mark, size, rate, packed_row = _row_parts(cs, lambda index=index: row_hint(rows, index))
                core = position_core(cs, at(w and w.quantities_e8, s), at(w and w.entry_prices_e8, s), mark, size)
                used = _used_flag(cs, core.quantity, index, core.entry)
                queries.append((used, packed_row + index * (1 << LOOKUP_INDEX_SHIFT)))
                if previous is not None:
                    _after(cs, previous, used, index, width)
                previous = (used, index)
                equity = equity + core.upnl * SCALE_E8
                maintenance = maintenance + cs.mul(notional_of(core), rate, "maintenance")
                packed.append(core.quantity + QUANTITY_OFFSET + core.entry * (1 << 64) + index * (1 << INDEX_SHIFT))
        if self.selection == "lookup":
            table = [row + j * (1 << LOOKUP_INDEX_SHIFT) for j, row in enumerate(rows)]
            bound = [inputs.snapshot.layout_digest, inputs.snapshot.table_digest]
            assert_lookups(cs, table, queries, bound, LOOKUP_VALUE_BITS, "lookup")
        collateral_value = collateral_terms(cs, w and w.amounts_e8, inputs.snapshot.assets, packed)
        salt_var = open_commitment(
            cs, inputs.commitment, inputs.snapshot.layout_digest, packed, w and w.salt, self.domain_tag
        )
        with cs.namespace("solvency"):
            assert_covers(cs, equity + collateral_value, maintenance, SLACK_BITS, "equity_covers_maintenance")
        return salt_var

    def layout_digest(self, snapshot: Snapshot) -> int:
        """The table this statement binds: model, statement version, capacity (N, P, K), ordered names."""
        return snapshot_layout_digest(
            self.model, STATEMENT_TAG, (self.n_rows, self.n_held, self.n_collateral), snapshot
        )

    @property
    def domain_tag(self) -> int:
        """Commitment domain tag: statement 7, P and K (N is in the layout digest)."""
        return commitment_domain_tag(self.n_held, self.n_collateral, STATEMENT_TAG)

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> SparseWitness:
        """The account's held slots in this snapshot's table; CapacityError when it holds more than P positions."""
        rate_inputs(snapshot, self.n_rows, self.n_collateral, 0)  # the table must fit N rows and K assets
        slots = held_slots(account, snapshot, self.n_held, self.n_collateral)
        return SparseWitness(
            slots.indices,
            slots.quantities_e8,
            slots.entry_prices_e8,
            slots.amounts_e8,
            salt,
            self.layout_digest(snapshot),
        )

    def commitment(self, witness: SparseWitness) -> int:
        """The commitment this witness opens."""
        slots = HeldSlots(witness.indices, witness.quantities_e8, witness.entry_prices_e8, witness.amounts_e8)
        return commit_held(slots, witness.salt, witness.layout_digest, STATEMENT_TAG)

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Raise MarginCallError when the cross engine says margin call (the same engine as dense cross)."""
        require_cross_healthy(account, snapshot)


def row_hint(rows: list[LinearCombination], index: LinearCombination) -> int:
    """The packed row a held slot reads (solving only; the constraints, not this hint, decide what is valid)."""
    i = index.value or 0
    return (rows[i].value or 0) if i < len(rows) else 0


def _row_parts(
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


def _used_flag(
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


def _after(
    cs: ConstraintSystem,
    previous: tuple[LinearCombination, LinearCombination],
    used: LinearCombination,
    index: LinearCombination,
    width: int,
) -> None:
    """Used slots first, and a used slot's index above the previous one's. width + 3 constraints."""
    previous_used, previous_index = previous
    cs.enforce(used, cs.one - previous_used, cs.constant(0), "used_slots_first")
    gap = cs.mul(used, index - previous_index - 1, "index_gap")
    cs.to_bits(gap, width, "indices_increase")
