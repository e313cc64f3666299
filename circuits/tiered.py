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

from dataclasses import dataclass

from circuits.cross import (
    PUBLIC_HEADER,
    RATE_MAX_E8,
    SCALE_E8,
    SLACK_BITS,
    VALUE_BITS,
    AllocatedInputs,
    ListedInputsCircuit,
    ListedPublic,
    assert_covers,
    collateral_terms,
    open_commitment,
)
from circuits.isolated import sum_lcs
from zkmargin.errors import CircuitError, MarginCallError, PublicInputError
from zkmargin.gadgets.range import assert_signed, assert_unsigned
from zkmargin.margin.commitment import QUANTITY_OFFSET
from zkmargin.margin.engine import format_e32
from zkmargin.margin.models import UNSIGNED_MAX_E8, Account, Snapshot, Tier, slot_layout
from zkmargin.margin.tiered import (
    AMOUNT_TO_E32,
    NOTIONAL_TO_E24,
    compute_tiered_margin,
    effective_tiers,
    select_tier,
)
from zkmargin.r1cs import ConstraintSystem

BOUND_BITS = 118
EMPTY_TIER = Tier(UNSIGNED_MAX_E8, UNSIGNED_MAX_E8, 0, 0)
OPEN_TIER = Tier(0, UNSIGNED_MAX_E8, 0, 0)


@dataclass(frozen=True)
class TieredWitness:
    """Cross slot values plus each position slot's bracket index."""

    quantities_e8: tuple[int, ...]
    entry_prices_e8: tuple[int, ...]
    amounts_e8: tuple[int, ...]
    salt: int
    tier_indices: tuple[int, ...]


@dataclass(frozen=True)
class TieredMarginCircuit(ListedInputsCircuit):
    """Tiered maintenance at capacity (n_positions, n_collateral, n_tiers)."""

    n_tiers: int = 4
    model = "tiered"
    MODEL_TAG = 3

    @property
    def circuit_id(self) -> str:
        """tiered-n<N>-k<K>-t<T>."""
        return f"tiered-n{self.n_positions}-k{self.n_collateral}-t{self.n_tiers}"

    @property
    def num_public(self) -> int:
        """2 + (2 + 4T) per instrument slot + 2 per asset slot."""
        return len(PUBLIC_HEADER) + (2 + 4 * self.n_tiers) * self.n_positions + 2 * self.n_collateral

    def synthesize(  # type: ignore[override]  # each statement has its own public and witness types
        self, cs: ConstraintSystem, public: ListedPublic | None = None, witness: TieredWitness | None = None
    ) -> None:
        """Add the statement's variables and constraints to cs."""
        commitment, next_public = self.allocate_header(cs, public, witness)
        instruments = []
        for i in range(self.n_positions):
            mark, size = next_public(f"mark_price_e8[{i}]"), next_public(f"contract_size_e8[{i}]")
            tiers = [tuple(next_public(f"tier[{i}][{b}].{field}") for field in ("floor", "cap", "rate", "amount"))
                     for b in range(self.n_tiers)]
            instruments.append((mark, size, tiers))
        prices, haircuts = self.asset_inputs(next_public)
        inputs = AllocatedInputs(commitment, [], [], [], prices, haircuts, witness if cs.has_values else None)
        wv = inputs.witness_value

        equity = cs.constant(0)
        maintenance = cs.constant(0)
        packed = []
        for i, (mark, size, tiers) in enumerate(instruments):
            with cs.namespace(f"positions[{i}]"):
                q = cs.private_input("quantity_e8", wv("quantities_e8", i))
                entry = cs.private_input("entry_price_e8", wv("entry_prices_e8", i))
                q_bits = assert_signed(cs, q, VALUE_BITS, "quantity_range")
                assert_unsigned(cs, entry, VALUE_BITS, "entry_range")
                q_size = cs.mul(q, size, "q_times_size")
                abs_q_size = cs.mul(q_size, q_bits[-1] * 2 - 1, "abs_q_times_size")
                upnl = cs.mul(q_size, mark - entry, "upnl")
                notional = cs.mul(abs_q_size, mark, "notional")
                chosen = wv("tier_indices", i)
                onehot = []
                for b in range(self.n_tiers):
                    bit = cs.private_input(f"tier_choice[{b}]", None if chosen is None else int(chosen == b))
                    cs.assert_bool(bit, f"tier_choice[{b}]/bool")
                    onehot.append(bit)
                cs.assert_equal(sum_lcs(cs, onehot), cs.one, "one_tier")
                floor, cap, rate, amount = (
                    sum_lcs(cs, [cs.mul(bit, tiers[b][f], f"select_{name}[{b}]") for b, bit in enumerate(onehot)])
                    for f, name in enumerate(("floor", "cap", "rate", "amount"))
                )
                assert_unsigned(cs, notional - floor * NOTIONAL_TO_E24, BOUND_BITS, "notional_at_least_floor")
                assert_unsigned(cs, cap * NOTIONAL_TO_E24 - 1 - notional, BOUND_BITS, "notional_below_cap")
                maint = cs.mul(notional, rate, "tier_rate") - amount * AMOUNT_TO_E32
                equity = equity + upnl * SCALE_E8
                maintenance = maintenance + maint
                packed.append(q + QUANTITY_OFFSET + entry * (1 << 64))
        collateral_value = collateral_terms(cs, inputs, packed)
        open_commitment(cs, inputs, packed, self.domain_tag)
        with cs.namespace("solvency"):
            assert_covers(cs, equity + collateral_value, maintenance, SLACK_BITS, "equity_covers_maintenance")

    def snapshot_inputs(self, snapshot: Snapshot) -> list[int]:
        """Per instrument (mark, size, T brackets), per asset (price, haircut), padded, range-checked."""
        self.check_fits(snapshot)
        out: list[int] = []
        for i in range(self.n_positions):
            if i < len(snapshot.instruments):
                quote = snapshot.instruments[i]
                tiers = effective_tiers(quote)
                if len(tiers) > self.n_tiers:
                    raise CircuitError(f"{quote.instrument} has {len(tiers)} brackets; {self.circuit_id} holds {self.n_tiers}")
                out += [quote.mark_price_e8, quote.contract_size_e8]
            else:
                tiers = (OPEN_TIER,)
                out += [0, 0]
            for tier in tiers + (EMPTY_TIER,) * (self.n_tiers - len(tiers)):
                if not tier.maintenance_rate_e8 <= RATE_MAX_E8:
                    raise PublicInputError(f"instrument slot {i}: bracket rate above 1")
                out += [tier.notional_floor_e8, tier.notional_cap_e8, tier.maintenance_rate_e8,
                        tier.maintenance_amount_e8]
        if any(not 0 <= v <= UNSIGNED_MAX_E8 for v in out):
            raise PublicInputError("snapshot value outside [0, 2^64)")
        return out + self.asset_values(snapshot)

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> TieredWitness:  # type: ignore[override]
        """Private slot values and the bracket each position falls in."""
        self.check_fits(snapshot)
        quantities, entries, amounts = slot_layout(account, snapshot, self.n_positions, self.n_collateral)
        indices = []
        for i in range(self.n_positions):
            if i < len(snapshot.instruments):
                quote = snapshot.instruments[i]
                notional = abs(quantities[i]) * quote.mark_price_e8 * quote.contract_size_e8
                indices.append(select_tier(notional, effective_tiers(quote)))
            else:
                indices.append(0)
        return TieredWitness(tuple(quantities), tuple(entries), tuple(amounts), salt, tuple(indices))

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Raise MarginCallError when the tiered engine says margin call."""
        report = compute_tiered_margin(account, snapshot)
        if not report.healthy:
            raise MarginCallError(
                "account is subject to a margin call: "
                f"equity {format_e32(report.equity_e32)} < maintenance {format_e32(report.maintenance_e32)}")
