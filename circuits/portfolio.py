"""Portfolio margin: equity covers every scenario of the public risk arrays, plus the short option minimum.

Public inputs: commitment, context; per instrument slot the mark price, contract
size, short option minimum and the 16-entry risk array (signed, as field
elements: r - |x| for a gain); per asset slot the price and haircut. Private:
the cross witness. For every scenario s the circuit proves
  equity - sum_i q_i R_is * 1e16 - short_option_minimum >= 0,
and equity - short_option_minimum >= 0 (the max(0, .) of the requirement).

Overflow argument: |q| <= 2^63 and |R| < 2^63 (the verifier's public_inputs
refuses larger entries), so |q R 1e16| < 2^180 per position and the scenario
loss is below 2^190 over at most 1024 slots; the short option minimum is below
2^181; equity terms are below 2^218 as in cross. Every slack is below 2^229 in
absolute value and SLACK_BITS = 230 separates the signs.
"""

from __future__ import annotations

from dataclasses import dataclass

from circuits.cross import (
    PUBLIC_HEADER,
    SCALE_E8,
    SLACK_BITS,
    VALUE_BITS,
    AllocatedInputs,
    CrossWitness,
    ListedInputsCircuit,
    ListedPublic,
    assert_covers,
    collateral_terms,
    open_commitment,
)
from zkmargin.errors import MarginCallError, PublicInputError
from zkmargin.field import R
from zkmargin.gadgets.range import assert_signed, assert_unsigned
from zkmargin.margin.commitment import QUANTITY_OFFSET
from zkmargin.margin.engine import format_e32
from zkmargin.margin.models import UNSIGNED_MAX_E8, Account, Snapshot
from zkmargin.margin.portfolio import (
    SCENARIO_COUNT,
    compute_portfolio_margin,
    published_risk_array,
    short_option_minimum_e8,
)
from zkmargin.r1cs import ConstraintSystem

E8_TO_E32 = 10**16


@dataclass(frozen=True)
class PortfolioMarginCircuit(ListedInputsCircuit):
    """Scenario-based portfolio margin at capacity (n_positions, n_collateral)."""

    model = "portfolio"
    MODEL_TAG = 4

    @property
    def num_public(self) -> int:
        """2 + (3 + 16) per instrument slot + 2 per asset slot."""
        return len(PUBLIC_HEADER) + (3 + SCENARIO_COUNT) * self.n_positions + 2 * self.n_collateral

    def synthesize(  # type: ignore[override]  # its public inputs are a list, not CrossPublic
        self, cs: ConstraintSystem, public: ListedPublic | None = None, witness: CrossWitness | None = None
    ) -> None:
        """Add the statement's variables and constraints to cs."""
        commitment, next_public = self.allocate_header(cs, public, witness)
        instruments = []
        for i in range(self.n_positions):
            mark, size, minimum = (next_public(f"{name}[{i}]") for name in
                                   ("mark_price_e8", "contract_size_e8", "short_option_minimum_e8"))
            instruments.append((mark, size, minimum, [next_public(f"risk_array[{i}][{s}]") for s in range(SCENARIO_COUNT)]))
        prices, haircuts = self.asset_inputs(next_public)
        inputs = AllocatedInputs(commitment, [], [], [], prices, haircuts, witness if cs.has_values else None)
        wv = inputs.witness_value
        equity = cs.constant(0)
        short_minimum = cs.constant(0)
        losses = [cs.constant(0) for _ in range(SCENARIO_COUNT)]
        packed = []
        for i, (mark, size, minimum, array) in enumerate(instruments):
            with cs.namespace(f"positions[{i}]"):
                q = cs.private_input("quantity_e8", wv("quantities_e8", i))
                entry = cs.private_input("entry_price_e8", wv("entry_prices_e8", i))
                q_bits = assert_signed(cs, q, VALUE_BITS, "quantity_range")
                assert_unsigned(cs, entry, VALUE_BITS, "entry_range")
                q_size = cs.mul(q, size, "q_times_size")
                equity = equity + cs.mul(q_size, mark - entry, "upnl") * SCALE_E8
                # q * (1 - top bit) is q for a short position and 0 otherwise.
                short_qty = cs.mul(q, cs.one - q_bits[-1], "short_quantity")
                short_minimum = short_minimum - cs.mul(short_qty, minimum, "short_option_minimum") * E8_TO_E32
                for s in range(SCENARIO_COUNT):
                    losses[s] = losses[s] + cs.mul(q, array[s], f"scenario[{s}]") * E8_TO_E32
                packed.append(q + QUANTITY_OFFSET + entry * (1 << 64))
        equity = equity + collateral_terms(cs, inputs, packed)
        open_commitment(cs, inputs, packed, self.domain_tag)
        with cs.namespace("solvency"):
            with cs.namespace("no_scenario"):
                assert_covers(cs, equity, short_minimum, SLACK_BITS, "equity_covers_minimum")
            for s in range(SCENARIO_COUNT):
                with cs.namespace(f"scenario[{s}]"):
                    assert_covers(cs, equity, losses[s] + short_minimum, SLACK_BITS, "equity_covers_scenario")

    def snapshot_inputs(self, snapshot: Snapshot) -> list[int]:
        """Per instrument (mark, size, short option minimum, 16 risk-array entries mod r), per asset (price, haircut)."""
        self.check_fits(snapshot)
        out: list[int] = []
        for i in range(self.n_positions):
            if i < len(snapshot.instruments):
                quote = snapshot.instruments[i]
                try:
                    array = published_risk_array(quote)
                except ValueError as exc:
                    raise PublicInputError(str(exc)) from None
                head = [quote.mark_price_e8, quote.contract_size_e8, short_option_minimum_e8(quote)]
            else:
                array, head = (0,) * SCENARIO_COUNT, [0, 0, 0]
            if any(not 0 <= v <= UNSIGNED_MAX_E8 for v in head):
                raise PublicInputError(f"instrument slot {i}: value outside [0, 2^64)")
            out += head + [v % R for v in array]
        return out + self.asset_values(snapshot)

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Raise MarginCallError when the portfolio engine says margin call."""
        report = compute_portfolio_margin(account, snapshot)
        if not report.healthy:
            raise MarginCallError(
                "account is subject to a margin call: "
                f"equity {format_e32(report.equity_e32)} < requirement {format_e32(report.requirement_e32)} "
                f"(worst scenario {report.worst_scenario + 1})")
