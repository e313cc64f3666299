"""Tiered maintenance: per-instrument notional brackets, selected in-circuit and range-checked.

Public inputs: commitment, context; per instrument slot the mark price, contract
size and, for each of the circuit's T brackets, (floor, cap, rate, amount);
per asset slot the price and haircut. Private: the cross witness plus a one-hot
bracket choice per position slot. The choice is not trusted: the circuit
range-checks notional - floor_sel * 1e16 and cap_sel * 1e16 - 1 - notional in
[0, 2^BOUND_BITS), so only the bracket that really holds the notional passes.
Unused bracket slots are padded with the empty interval [2^64 - 1, 2^64 - 1).

Overflow argument: floors and caps are below 2^64 at scale 1e8, so times 1e16
they are below 2^118 (BOUND_BITS). For the right bracket, 0 <= notional - floor
< cap - floor < 2^118 and 0 <= cap - 1 - notional < 2^118, so both differences
have 118-bit decompositions. For a wrong bracket one difference is negative, at
least -2^191 (notional = |q| mark size < 2^191), so its field value exceeds
r - 2^191 > 2^118 and has none. A notional at or above every cap has no valid
bracket at all (the reference engine refuses it the same way).
maintenance_i = notional * rate - amount * 1e24 lies in (-2^145, 2^218); with
upnl and collateral as in cross, the slack stays below 2^230 in absolute value.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from zkmargin.circuits.layout import AllocatedPublic, PublicLayout, at, leaf_items
from zkmargin.circuits.parts import (
    RATE_MAX_E8,
    SCALE_E8,
    SLACK_BITS,
    Asset,
    SlotCapacity,
    SlotValues,
    SnapshotInputs,
    assert_covers,
    asset_inputs,
    check_fits,
    collateral_terms,
    notional_of,
    one_hot,
    open_commitment,
    packed_position,
    position_core,
    require_covers,
    select,
    slot_fields,
    slot_values,
    sum_lcs,
)
from zkmargin.errors import CapacityError, PublicInputError
from zkmargin.gadgets.range import assert_unsigned
from zkmargin.margin.models import UNSIGNED_MAX_E8, Account, Snapshot, Tier
from zkmargin.margin.tiered import (
    AMOUNT_TO_E32,
    NOTIONAL_TO_E24,
    compute_tiered_margin,
    effective_tiers,
    select_tier,
)
from zkmargin.r1cs import ConstraintSystem, LinearCombination

BOUND_BITS = 118
EMPTY_TIER = Tier(UNSIGNED_MAX_E8, UNSIGNED_MAX_E8, 0, 0)
OPEN_TIER = Tier(0, UNSIGNED_MAX_E8, 0, 0)
STATEMENT_TAG = 3
"""Commitment domain-tag number of this statement (cross uses 1)."""

V = TypeVar("V")


@dataclass(frozen=True)
class Bracket(Generic[V]):
    """Public inputs of one maintenance bracket: [floor, cap) of the notional, its rate and amount."""

    floor_e8: V
    cap_e8: V
    rate_e8: V
    amount_e8: V


@dataclass(frozen=True)
class TieredInstrument(Generic[V]):
    """Public inputs of one instrument slot."""

    mark_price_e8: V
    contract_size_e8: V
    brackets: tuple[Bracket[V], ...]


TieredInputs = SnapshotInputs[TieredInstrument[Any], Any]


@dataclass(frozen=True)
class TieredWitness(SlotValues):
    """Cross slot values plus each position slot's bracket index."""

    tier_indices: tuple[int, ...]


@dataclass(frozen=True)
class TieredStatement(SlotCapacity):
    """Tiered maintenance at capacity (n_positions, n_collateral, n_tiers)."""

    n_tiers: int = 4
    model: ClassVar[str] = "tiered"
    statement_tag: ClassVar[int] = STATEMENT_TAG

    @property
    def capacity(self) -> tuple[int, ...]:
        """N, K and the bracket count T (the layout digest binds all three)."""
        return (self.n_positions, self.n_collateral, self.n_tiers)

    @property
    def circuit_id(self) -> str:
        """tiered-n<N>-k<K>-t<T>."""
        return f"tiered-n{self.n_positions}-k{self.n_collateral}-t{self.n_tiers}"

    @functools.cached_property
    def layout(self) -> PublicLayout[TieredInputs]:
        """commitment, context; per instrument slot mark, size and T brackets; per asset slot price, haircut."""
        instrument = TieredInstrument(0, 0, (Bracket(0, 0, 0, 0),) * self.n_tiers)
        return PublicLayout(SnapshotInputs(0, (instrument,) * self.n_positions, (Asset(0, 0),) * self.n_collateral))

    def snapshot_values(self, snapshot: Snapshot) -> TieredInputs:
        """Per instrument (mark, size, T brackets), per asset (price, haircut), padded, range-checked."""
        check_fits(snapshot, self.n_positions, self.n_collateral)
        instruments = tiered_instruments(snapshot, self.n_positions, self.n_tiers, self.circuit_id)
        return SnapshotInputs(self.layout_digest(snapshot), instruments, asset_inputs(snapshot, self.n_collateral))

    def synthesize(self, cs: ConstraintSystem, inputs: AllocatedPublic[TieredInputs],
                   witness: TieredWitness | None) -> LinearCombination:
        """Positions with their bracket selected and range-checked, collateral, opening and solvency."""
        w = witness
        quantities, entries, amounts, salt = slot_fields(w)
        equity = cs.constant(0)
        maintenance = cs.constant(0)
        packed = []
        for i, slot in enumerate(inputs.snapshot.instruments):
            with cs.namespace(f"positions[{i}]"):
                core = position_core(cs, at(quantities, i), at(entries, i),
                                     slot.mark_price_e8, slot.contract_size_e8)
                value = notional_of(core)
                onehot = one_hot(cs, None if w is None else w.tier_indices[i], self.n_tiers, "tier_choice")
                cs.assert_equal(sum_lcs(cs, onehot), cs.one, "one_tier")
                brackets = slot.brackets
                floor = select(cs, onehot, [b.floor_e8 for b in brackets], "select_floor")
                cap = select(cs, onehot, [b.cap_e8 for b in brackets], "select_cap")
                rate = select(cs, onehot, [b.rate_e8 for b in brackets], "select_rate")
                amount = select(cs, onehot, [b.amount_e8 for b in brackets], "select_amount")
                assert_unsigned(cs, value - floor * NOTIONAL_TO_E24, BOUND_BITS, "notional_at_least_floor")
                assert_unsigned(cs, cap * NOTIONAL_TO_E24 - 1 - value, BOUND_BITS, "notional_below_cap")
                maint = cs.mul(value, rate, "tier_rate") - amount * AMOUNT_TO_E32
                equity = equity + core.upnl * SCALE_E8
                maintenance = maintenance + maint
                packed.append(packed_position(core))
        collateral_value = collateral_terms(cs, amounts, inputs.snapshot.assets, packed)
        salt_var = open_commitment(cs, inputs.commitment, inputs.snapshot.layout_digest, packed, salt, self.domain_tag)
        with cs.namespace("solvency"):
            assert_covers(cs, equity + collateral_value, maintenance, SLACK_BITS, "equity_covers_maintenance")
        return salt_var

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> TieredWitness:
        """Private slot values and the bracket each position falls in."""
        slots: SlotValues = slot_values(account, snapshot, self.n_positions, self.n_collateral, salt,
                             self.layout_digest(snapshot))
        indices = []
        for i in range(self.n_positions):
            if i < len(snapshot.instruments):
                quote = snapshot.instruments[i]
                value = abs(slots.quantities_e8[i]) * quote.mark_price_e8 * quote.contract_size_e8
                indices.append(select_tier(value, effective_tiers(quote)))
            else:
                indices.append(0)
        return TieredWitness(slots.quantities_e8, slots.entry_prices_e8, slots.amounts_e8, salt, slots.layout_digest,
                             tuple(indices))

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Raise MarginCallError when the tiered engine says margin call."""
        require_tiered_healthy(account, snapshot)


def tiered_instruments(snapshot: Snapshot, n_slots: int, n_tiers: int, circuit_id: str
                       ) -> tuple[TieredInstrument[int], ...]:
    """(mark, size, T brackets) per instrument slot, padded with an open bracket and empty ones, range-checked:
    values in [0, 2^64), bracket rates in [0, 1e8]; CapacityError when an instrument has more than T brackets."""
    instruments = []
    for i in range(n_slots):
        if i < len(snapshot.instruments):
            quote = snapshot.instruments[i]
            tiers = effective_tiers(quote)
            if len(tiers) > n_tiers:
                raise CapacityError(f"{quote.instrument} has {len(tiers)} brackets; {circuit_id} holds {n_tiers}")
            head = (quote.mark_price_e8, quote.contract_size_e8)
        else:
            tiers, head = (OPEN_TIER,), (0, 0)
        brackets = []
        for tier in tiers + (EMPTY_TIER,) * (n_tiers - len(tiers)):
            if not tier.maintenance_rate_e8 <= RATE_MAX_E8:
                raise PublicInputError(f"instrument slot {i}: bracket rate above 1")
            brackets.append(Bracket(tier.notional_floor_e8, tier.notional_cap_e8, tier.maintenance_rate_e8,
                                    tier.maintenance_amount_e8))
        instruments.append(TieredInstrument(*head, tuple(brackets)))
    if any(not 0 <= v <= UNSIGNED_MAX_E8 for _, v in leaf_items(tuple(instruments))):
        raise PublicInputError("snapshot value outside [0, 2^64)")
    return tuple(instruments)


def require_tiered_healthy(account: Account, snapshot: Snapshot) -> None:
    """Raise MarginCallError (with both figures) when the tiered reference engine says margin call."""
    report = compute_tiered_margin(account, snapshot)
    require_covers(report.healthy, report.equity_e32, report.maintenance_e32)
