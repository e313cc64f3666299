"""Sparse portfolio margin: P held slots select their instrument's row of risk arrays privately from the table.

The held-slot machinery is sparse cross's (circuits/sparse_parts.py; its soundness argument is
circuits/sparse_cross.py's docstring): each held slot's index is range-checked and its head looked up, used
slots come first with strictly increasing indices, an unused slot is all zero.

Public inputs, in this order: commitment, context, layout digest, table digest
(zkmargin.margin.sparse.table_value_digest over [mark, 0, size, short option minimum, 16 risk-array
entries] a row), per table row its head mark + size 2^64 (sparse cross's packing with rate 0) and
C = 6 columns holding the short option minimum and the 16 entries R_s + 2^63 three to a column
(v0 + v1 2^64 + v2 2^128 < 2^192; the verifier packs them after its range checks: minimum in [0, 2^64),
R_s in [-2^63, 2^63)), per asset slot (price, haircut).

Every used slot s looks up all C columns of its row: column c's value plus (index_s C + c) 2^192 must be
an entry of the verifier's column table (sparse_parts.assert_column_lookups, a log-derivative lookup with
its challenge hashed in-circuit over both digests and every query). The slot's 17 values are private,
range-checked to 64 bits, so each packed column equals a table column only with that column's own values,
and the shared index_s ties them to the head's row. An unused slot is not looked up: its quantity is 0, so
its scenario losses q R_s and its short minimum q (1 - long) minimum are 0 whatever its values.

Then, as circuits/portfolio.py: for every scenario s, equity - sum q R_s 1e16 - short minimum >= 0, and
equity - short minimum >= 0. Overflow: portfolio.py's argument over P + K <= MAX_SLOTS terms.
Commitment: sparse cross's packing under statement tag 10.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from zkmargin.circuits.layout import AllocatedPublic, PublicLayout, at
from zkmargin.circuits.parts import (
    SCALE_E8,
    Asset,
    asset_inputs,
    collateral_terms,
    open_commitment,
)
from zkmargin.circuits.portfolio import (
    E8_TO_E32,
    assert_portfolio_covers,
    portfolio_rows,
    require_portfolio_healthy,
)
from zkmargin.circuits.sparse_parts import (
    HeldSlot,
    SparseCapacity,
    SparseInputs,
    SparseWitness,
    assert_column_lookups,
    column_entry,
    finish_selection,
    held_element,
    held_slot,
    pack_row,
    unpack_column,
)
from zkmargin.margin.models import Account, Snapshot
from zkmargin.margin.portfolio import SCENARIO_COUNT
from zkmargin.margin.sparse import table_value_digest
from zkmargin.r1cs import ConstraintSystem, LinearCombination

STATEMENT_TAG = 10
"""Commitment domain-tag number of the sparse portfolio statement."""
RISK_OFFSET = 1 << 63
"""Risk-array entries enter the columns as R + 2^63, in [0, 2^64)."""
PER_COLUMN = 3
COLUMN_SHIFT = 192
N_VALUES = 1 + SCENARIO_COUNT
N_COLUMNS = -(-N_VALUES // PER_COLUMN)
V = TypeVar("V")


def row_values(short_minimum_e8: int, risk_array_e8: tuple[int, ...]) -> tuple[int, ...]:
    """A row's 17 column values: the short option minimum, then each risk-array entry plus 2^63."""
    return (short_minimum_e8, *(r + RISK_OFFSET for r in risk_array_e8))


def pack_columns(values: tuple[int, ...]) -> tuple[int, ...]:
    """The values three to a column (64 bits each, little end first), the last column zero-padded."""
    padded = values + (0,) * (N_COLUMNS * PER_COLUMN - len(values))
    return tuple(sum(v << (64 * k) for k, v in enumerate(padded[c * PER_COLUMN:(c + 1) * PER_COLUMN]))
                 for c in range(N_COLUMNS))


@dataclass(frozen=True)
class PortfolioRow(Generic[V]):
    """One table row: mark + size 2^64 (sparse cross's packing, rate 0) and its packed columns."""

    mark_size_rate_e8: V
    columns: tuple[V, ...]


@dataclass(frozen=True)
class SparsePortfolioStatement(SparseCapacity):
    """Portfolio margin over P held slots selecting their risk arrays from an N-row table."""

    model: ClassVar[str] = "portfolio"
    statement_tag: ClassVar[int] = STATEMENT_TAG

    @functools.cached_property
    def layout(self) -> PublicLayout[SparseInputs[Any]]:
        """commitment, context; digests; per table row its head and 6 columns; (price, haircut) per asset."""
        row = PortfolioRow(0, (0,) * N_COLUMNS)
        return PublicLayout(SparseInputs(0, 0, (row,) * self.n_rows, (Asset(0, 0),) * self.n_collateral))  # type: ignore[arg-type]

    def snapshot_values(self, snapshot: Snapshot) -> SparseInputs[int]:
        """The table zero-padded to N rows, packed after the range checks, and its digests."""
        self.check_table_fits(snapshot)
        rows = portfolio_rows(snapshot, self.n_rows)
        digest = table_value_digest([(mark, 0, size, minimum, *array) for (mark, size, minimum), array in rows])
        packed = tuple(PortfolioRow(pack_row(mark, 0, size), pack_columns(row_values(minimum, array)))
                       for (mark, size, minimum), array in rows)
        return SparseInputs(self.layout_digest(snapshot), digest, packed,  # type: ignore[arg-type]
                            asset_inputs(snapshot, self.n_collateral))

    def synthesize(
        self, cs: ConstraintSystem, inputs: AllocatedPublic[SparseInputs[Any]], witness: SparseWitness | None
    ) -> LinearCombination:
        """Held slots with their looked-up risk arrays, collateral, the opening and every scenario covered."""
        w = witness
        if w is not None:
            self.check_witness([w.indices, w.quantities_e8, w.entry_prices_e8], w.amounts_e8, w.indices)
        snapshot = inputs.snapshot
        table: tuple[PortfolioRow[LinearCombination], ...] = snapshot.rows  # type: ignore[assignment]
        heads = [row.mark_size_rate_e8 for row in table]
        equity = cs.constant(0)
        short_minimum = cs.constant(0)
        losses = [cs.constant(0) for _ in range(SCENARIO_COUNT)]
        packed: list[LinearCombination] = []
        slots: list[HeldSlot] = []
        queries: list[tuple[LinearCombination, LinearCombination]] = []
        for s in range(self.n_held):
            with cs.namespace(f"held[{s}]"):
                slot = held_slot(cs, heads, self.selection, at(w and w.indices, s), at(w and w.quantities_e8, s),
                                 at(w and w.entry_prices_e8, s), slots[-1] if slots else None)
                slots.append(slot)
                values: list[LinearCombination] = []
                for c in range(N_COLUMNS):
                    width = min(PER_COLUMN, N_VALUES - c * PER_COLUMN)
                    parts, column = unpack_column(
                        cs, lambda slot=slot, c=c: column_hint(table, slot.slot_index, c), (64,) * width, f"column[{c}]")
                    values += parts
                    queries.append((slot.used, column_entry(column, slot.slot_index, N_COLUMNS, c, COLUMN_SHIFT)))
                core = slot.core
                equity = equity + core.upnl * SCALE_E8
                short_qty = cs.mul(core.quantity, cs.one - core.is_long, "short_quantity")
                short_minimum = short_minimum - cs.mul(short_qty, values[0], "short_option_minimum") * E8_TO_E32
                for k in range(SCENARIO_COUNT):
                    risk = values[1 + k] - RISK_OFFSET
                    losses[k] = losses[k] + cs.mul(core.quantity, risk, f"scenario[{k}]") * E8_TO_E32
                packed.append(held_element(slot))
        finish_selection(cs, snapshot, slots, self.selection)  # every row's head is its mark_size_rate_e8
        assert_column_lookups(cs, snapshot, [row.columns for row in table], queries, COLUMN_SHIFT, "column_lookup")
        equity = equity + collateral_terms(cs, w and w.amounts_e8, snapshot.assets, packed)
        salt_var = open_commitment(cs, inputs.commitment, snapshot.layout_digest, packed, w and w.salt, self.domain_tag)
        assert_portfolio_covers(cs, equity, short_minimum, losses)
        return salt_var

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Raise MarginCallError when the portfolio engine says margin call (the same engine as dense portfolio)."""
        require_portfolio_healthy(account, snapshot)


def column_hint(table: tuple[PortfolioRow[LinearCombination], ...], index: LinearCombination, column: int) -> int:
    """The packed column a held slot reads (solving only; the lookup, not this hint, decides what is valid)."""
    i = index.value or 0
    return (table[i].columns[column].value or 0) if i < len(table) else 0
