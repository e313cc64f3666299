"""Sparse tiered maintenance: P held slots select their instrument AND its notional bracket from the public table.

The held-slot machinery is sparse cross's (circuits/sparse_parts.py; its soundness argument is
circuits/sparse_cross.py's docstring): each held slot's index is range-checked, used slots come first with
strictly increasing indices (so a split position cannot put two halves in a lower bracket), an unused slot
is all zero.

Public inputs, in this order: commitment, context, layout digest, table digest
(zkmargin.margin.sparse.table_value_digest over [mark, 0, size, then floor, cap, rate, amount per bracket]
a row), per table row its head mark + size 2^64 (sparse cross's packing with rate 0) and its T brackets,
each one element floor + cap 2^64 + amount 2^128 + rate 2^192 (< 2^219, packed by the verifier after its
range checks: floor, cap, amount < 2^64, rate <= 1e8 < 2^27), per asset slot (price, haircut).
Private: per held slot index, bracket t, quantity, entry; per asset slot amount; the salt.

A multi-column lookup by a shared index: two log-derivative lookups (zkmargin.gadgets.selection.assert_lookups,
challenges hashed in-circuit over both digests and every query) tie each used slot s to the table:
  * head: mark_s + size_s 2^64 + index_s 2^155 is a head entry (sparse cross's lookup), and
  * bracket: bracket_s + (index_s T + t_s) 2^219 is a bracket entry b_jt + (j T + t) 2^219.
t_s in [0, T) (assert_index) and index_s in [0, N), so index_s T + t_s names exactly one (j, t), and it is
the same index_s that the head lookup and the order checks read: a slot cannot take one instrument's mark
and another's brackets. floor_s, cap_s, amount_s (64 bits) and rate_s (27 bits) are range-checked, so the
packed bracket equals b_jt only with row j's bracket t's own values.
The bracket is then enforced as in circuits/tiered.py: notional - floor 1e16 and cap 1e16 - 1 - notional in
[0, 2^BOUND_BITS), maint_s = notional_s rate_s - amount_s 1e24. An unused slot is not looked up, so
(1 - used_s) t_s = 0 and (1 - used_s) amount_s = 0: its notional is 0, and it contributes 0.

Overflow: circuits/tiered.py's argument over P + K <= MAX_SLOTS terms.
Commitment: sparse cross's (one element per held slot: (q + 2^63) + entry 2^64 + index 2^128) under statement
tag 9; the bracket is not committed (the notional and the verifier's brackets determine it).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from zkmargin.circuits.layout import AllocatedPublic, PublicLayout, at
from zkmargin.circuits.parts import (
    SCALE_E8,
    SLACK_BITS,
    Asset,
    assert_covers,
    asset_inputs,
    collateral_terms,
    notional_of,
    open_commitment,
)
from zkmargin.circuits.sparse_parts import (
    RATE_BITS,
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
from zkmargin.circuits.tiered import BOUND_BITS, require_tiered_healthy, tiered_instruments
from zkmargin.errors import CircuitError
from zkmargin.gadgets.range import assert_unsigned
from zkmargin.gadgets.selection import assert_index
from zkmargin.margin.models import Account, Snapshot
from zkmargin.margin.sparse import held_slots, table_value_digest
from zkmargin.margin.tiered import AMOUNT_TO_E32, NOTIONAL_TO_E24, effective_tiers, select_tier
from zkmargin.r1cs import ConstraintSystem, LinearCombination

STATEMENT_TAG = 9
"""Commitment domain-tag number of the sparse tiered statement."""
DEFAULT_TIERS = 4
MAX_TIERS = 99
CAP_SHIFT, AMOUNT_SHIFT, BRACKET_RATE_SHIFT = 64, 128, 192
BRACKET_WIDTHS = (64, 64, 64, RATE_BITS)
"""floor, cap, amount, rate: the packed bracket's parts, little end first."""
BRACKET_SHIFT = 219
"""A bracket lookup entry is its packed bracket plus (j T + t) 2^219 (distinct; below 2^240 since N T < 2^21)."""
V = TypeVar("V")


def pack_bracket(floor_e8: int, cap_e8: int, rate_e8: int, amount_e8: int) -> int:
    """One bracket as one public input: floor + cap 2^64 + amount 2^128 + rate 2^192 (injective for the ranges)."""
    return floor_e8 + (cap_e8 << CAP_SHIFT) + (amount_e8 << AMOUNT_SHIFT) + (rate_e8 << BRACKET_RATE_SHIFT)


@dataclass(frozen=True)
class TieredRow(Generic[V]):
    """One table row: mark + size 2^64 (sparse cross's packing, rate 0) and its T packed brackets."""

    mark_size_rate_e8: V
    brackets: tuple[V, ...]


@dataclass(frozen=True)
class SparseTieredWitness(SparseWitness):
    """Held slots (ascending index, unused zero) and each held slot's bracket (0 for an unused slot)."""

    tier_indices: tuple[int, ...]


@dataclass(frozen=True)
class SparseTieredStatement(SparseCapacity):
    """Tiered maintenance over P held slots selecting (instrument, bracket) from an N-row table of T brackets."""

    n_tiers: int = DEFAULT_TIERS
    model: ClassVar[str] = "tiered"
    statement_tag: ClassVar[int] = STATEMENT_TAG

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.n_tiers <= MAX_TIERS:
            raise CircuitError(f"a sparse tiered table has 1..{MAX_TIERS} brackets a row")

    @property
    def capacity(self) -> tuple[int, ...]:
        """N, P, K and the bracket count T (the layout digest binds all four)."""
        return (self.n_rows, self.n_held, self.n_collateral, self.n_tiers)

    @functools.cached_property
    def layout(self) -> PublicLayout[SparseInputs[Any]]:
        """commitment, context; digests; per table row its head and T brackets; (price, haircut) per asset."""
        row = TieredRow(0, (0,) * self.n_tiers)
        return PublicLayout(SparseInputs(0, 0, (row,) * self.n_rows, (Asset(0, 0),) * self.n_collateral))  # type: ignore[arg-type]

    def snapshot_values(self, snapshot: Snapshot) -> SparseInputs[int]:
        """The table zero-padded to N rows (as dense tiered's slots), packed after the range checks, its digests."""
        self.check_table_fits(snapshot)
        instruments = tiered_instruments(snapshot, self.n_rows, self.n_tiers, self.circuit_id)
        values = [
            (i.mark_price_e8, 0, i.contract_size_e8,
             *(v for b in i.brackets for v in (b.floor_e8, b.cap_e8, b.rate_e8, b.amount_e8)))
            for i in instruments
        ]
        rows = tuple(
            TieredRow(pack_row(i.mark_price_e8, 0, i.contract_size_e8),
                      tuple(pack_bracket(b.floor_e8, b.cap_e8, b.rate_e8, b.amount_e8) for b in i.brackets))
            for i in instruments
        )
        return SparseInputs(self.layout_digest(snapshot), table_value_digest(values), rows,  # type: ignore[arg-type]
                            asset_inputs(snapshot, self.n_collateral))

    def synthesize(
        self, cs: ConstraintSystem, inputs: AllocatedPublic[SparseInputs[Any]], witness: SparseTieredWitness | None
    ) -> LinearCombination:
        """Held slots with their looked-up bracket enforced, collateral, the commitment opening and solvency."""
        w = witness
        if w is not None:
            self.check_witness([w.indices, w.quantities_e8, w.entry_prices_e8, w.tier_indices], w.amounts_e8,
                               w.indices)
        table: tuple[TieredRow[LinearCombination], ...] = inputs.snapshot.rows  # type: ignore[assignment]
        heads = [row.mark_size_rate_e8 for row in table]
        equity = cs.constant(0)
        maintenance = cs.constant(0)
        packed: list[LinearCombination] = []
        slots: list[HeldSlot] = []
        bracket_queries: list[tuple[LinearCombination, LinearCombination]] = []
        for s in range(self.n_held):
            with cs.namespace(f"held[{s}]"):
                slot = held_slot(cs, heads, self.selection, at(w and w.indices, s), at(w and w.quantities_e8, s),
                                 at(w and w.entry_prices_e8, s), slots[-1] if slots else None)
                slots.append(slot)
                core = slot.core
                tier = cs.private_input("tier", at(w and w.tier_indices, s))
                assert_index(cs, tier, self.n_tiers, "tier")
                cs.enforce(cs.one - slot.used, tier, cs.constant(0), "unused_tier_is_zero")
                (floor, cap, amount, rate), bracket = unpack_column(
                    cs, lambda slot=slot, tier=tier: bracket_hint(table, slot.slot_index, tier), BRACKET_WIDTHS,
                    "bracket")
                cs.enforce(cs.one - slot.used, amount, cs.constant(0), "unused_amount_is_zero")
                bracket_queries.append(
                    (slot.used, column_entry(bracket, slot.slot_index, self.n_tiers, tier, BRACKET_SHIFT)))
                value = notional_of(core)
                assert_unsigned(cs, value - floor * NOTIONAL_TO_E24, BOUND_BITS, "notional_at_least_floor")
                assert_unsigned(cs, cap * NOTIONAL_TO_E24 - 1 - value, BOUND_BITS, "notional_below_cap")
                equity = equity + core.upnl * SCALE_E8
                maintenance = maintenance + cs.mul(value, rate, "tier_rate") - amount * AMOUNT_TO_E32
                packed.append(held_element(slot))
        snapshot = inputs.snapshot
        finish_selection(cs, snapshot, slots, self.selection)  # every row's head is its mark_size_rate_e8
        assert_column_lookups(cs, snapshot, [row.brackets for row in table], bracket_queries, BRACKET_SHIFT,
                              "bracket_lookup")
        collateral_value = collateral_terms(cs, w and w.amounts_e8, snapshot.assets, packed)
        salt_var = open_commitment(cs, inputs.commitment, snapshot.layout_digest, packed, w and w.salt, self.domain_tag)
        with cs.namespace("solvency"):
            assert_covers(cs, equity + collateral_value, maintenance, SLACK_BITS, "equity_covers_maintenance")
        return salt_var

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> SparseTieredWitness:
        """The account's held slots and each one's bracket; CapacityError when it holds more than P positions."""
        self.check_table_fits(snapshot)
        tiered_instruments(snapshot, self.n_rows, self.n_tiers, self.circuit_id)  # every row fits T brackets
        slots = held_slots(account, snapshot, self.n_held, self.n_collateral)
        tiers = []
        for index, quantity in zip(slots.indices, slots.quantities_e8):
            quote = snapshot.instruments[index] if quantity else None
            if quote is None:
                tiers.append(0)
            else:
                notional = abs(quantity) * quote.mark_price_e8 * quote.contract_size_e8
                tiers.append(select_tier(notional, effective_tiers(quote), quote.instrument))
        return SparseTieredWitness(slots.indices, slots.quantities_e8, slots.entry_prices_e8, slots.amounts_e8,
                                   salt, self.layout_digest(snapshot), tuple(tiers))

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Raise MarginCallError when the tiered engine says margin call (the same engine as dense tiered)."""
        require_tiered_healthy(account, snapshot)


def bracket_hint(table: tuple[TieredRow[LinearCombination], ...], index: LinearCombination,
                 tier: LinearCombination) -> int:
    """The packed bracket a held slot reads (solving only; the lookup, not this hint, decides what is valid)."""
    i, t = index.value or 0, tier.value or 0
    if i < len(table) and t < len(table[i].brackets):
        return table[i].brackets[t].value or 0
    return 0

