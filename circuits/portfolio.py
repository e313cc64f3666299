"""Portfolio margin: equity covers every scenario of the public risk arrays, plus the short option minimum.

Public inputs: commitment, context; per instrument slot the mark price, contract
size, short option minimum and the 16-entry risk array (signed, as field
elements: r - |x| for a gain); per asset slot the price and haircut. Private:
the cross witness. For every scenario s the circuit proves
  equity - sum_i q_i R_is * 1e16 - short_option_minimum >= 0,
and equity - short_option_minimum >= 0 (the max(0, .) of the requirement).

Overflow argument: |q| <= 2^63 and |R| < 2^63 (the verifier's snapshot_values
refuses larger entries), so |q R 1e16| < 2^180 per position and the scenario
loss is below 2^190 over at most 1024 slots; the short option minimum is below
2^181; equity terms are below 2^218 as in cross. Every slack is below 2^229 in
absolute value and SLACK_BITS = 230 separates the signs.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from zkmargin.circuits.layout import AllocatedPublic, PublicLayout, at
from zkmargin.circuits.parts import (
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
    open_commitment,
    packed_position,
    position_core,
    require_covers,
    slot_fields,
)
from zkmargin.errors import PublicInputError
from zkmargin.field import R
from zkmargin.margin.models import UNSIGNED_MAX_E8, Account, Snapshot
from zkmargin.margin.portfolio import (
    SCENARIO_COUNT,
    compute_portfolio_margin,
    published_risk_array,
    short_option_minimum_e8,
)
from zkmargin.r1cs import ConstraintSystem, LinearCombination

E8_TO_E32 = 10**16
STATEMENT_TAG = 4
"""Commitment domain-tag number of this statement (cross uses 1)."""

V = TypeVar("V")


@dataclass(frozen=True)
class PortfolioInstrument(Generic[V]):
    """Public inputs of one instrument slot; risk-array entries are signed, as field elements (r - |x| for a gain)."""

    mark_price_e8: V
    contract_size_e8: V
    short_option_minimum_e8: V
    risk_array: tuple[V, ...]


PortfolioInputs = SnapshotInputs[PortfolioInstrument[Any], Any]


@dataclass(frozen=True)
class PortfolioStatement(SlotCapacity):
    """Scenario-based portfolio margin at capacity (n_positions, n_collateral)."""

    model: ClassVar[str] = "portfolio"
    statement_tag: ClassVar[int] = STATEMENT_TAG

    @functools.cached_property
    def layout(self) -> PublicLayout[PortfolioInputs]:
        """commitment, context; per instrument slot mark, size, minimum, 16 scenarios; per asset price, haircut."""
        instrument = PortfolioInstrument(0, 0, 0, (0,) * SCENARIO_COUNT)
        return PublicLayout(SnapshotInputs(0, (instrument,) * self.n_positions, (Asset(0, 0),) * self.n_collateral))

    def snapshot_values(self, snapshot: Snapshot) -> PortfolioInputs:
        """Per instrument (mark, size, short option minimum, 16 risk-array entries mod r), per asset (price, haircut)."""
        check_fits(snapshot, self.n_positions, self.n_collateral)
        instruments = tuple(PortfolioInstrument(*head, tuple(v % R for v in array))
                            for head, array in portfolio_rows(snapshot, self.n_positions))
        return SnapshotInputs(self.layout_digest(snapshot), instruments, asset_inputs(snapshot, self.n_collateral))

    def synthesize(self, cs: ConstraintSystem, inputs: AllocatedPublic[PortfolioInputs],
                   witness: SlotValues | None) -> LinearCombination:
        """Positions, scenario losses, collateral, opening, and equity covering every scenario."""
        w = witness
        quantities, entries, amounts, salt = slot_fields(w)
        equity = cs.constant(0)
        short_minimum = cs.constant(0)
        losses = [cs.constant(0) for _ in range(SCENARIO_COUNT)]
        packed = []
        for i, slot in enumerate(inputs.snapshot.instruments):
            with cs.namespace(f"positions[{i}]"):
                core = position_core(cs, at(quantities, i), at(entries, i),
                                     slot.mark_price_e8, slot.contract_size_e8, with_notional=False)
                equity = equity + core.upnl * SCALE_E8
                # q * (1 - sign bit) is q for a short position and 0 otherwise.
                short_qty = cs.mul(core.quantity, cs.one - core.is_long, "short_quantity")
                short_minimum = short_minimum - cs.mul(short_qty, slot.short_option_minimum_e8,
                                                       "short_option_minimum") * E8_TO_E32
                for s in range(SCENARIO_COUNT):
                    losses[s] = losses[s] + cs.mul(core.quantity, slot.risk_array[s], f"scenario[{s}]") * E8_TO_E32
                packed.append(packed_position(core))
        equity = equity + collateral_terms(cs, amounts, inputs.snapshot.assets, packed)
        salt_var = open_commitment(cs, inputs.commitment, inputs.snapshot.layout_digest, packed, salt, self.domain_tag)
        assert_portfolio_covers(cs, equity, short_minimum, losses)
        return salt_var

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Raise MarginCallError when the portfolio engine says margin call."""
        require_portfolio_healthy(account, snapshot)


def assert_portfolio_covers(cs: ConstraintSystem, equity: LinearCombination, short_minimum: LinearCombination,
                            losses: Sequence[LinearCombination]) -> None:
    """equity covers the short option minimum, and every scenario's loss plus it (the overflow argument above)."""
    with cs.namespace("solvency"):
        with cs.namespace("no_scenario"):
            assert_covers(cs, equity, short_minimum, SLACK_BITS, "equity_covers_minimum")
        for s, loss in enumerate(losses):
            with cs.namespace(f"scenario[{s}]"):
                assert_covers(cs, equity, loss + short_minimum, SLACK_BITS, "equity_covers_scenario")


def portfolio_rows(snapshot: Snapshot, n_slots: int) -> list[tuple[tuple[int, int, int], tuple[int, ...]]]:
    """Per instrument slot ((mark, size, short option minimum), signed risk array), zero-padded: head values in
    [0, 2^64) and risk-array entries in (-2^63, 2^63) (the overflow argument's ranges); PublicInputError otherwise."""
    rows = []
    for i in range(n_slots):
        if i < len(snapshot.instruments):
            quote = snapshot.instruments[i]
            try:
                array = published_risk_array(quote)
            except ValueError as exc:
                raise PublicInputError(str(exc)) from None
            head = (quote.mark_price_e8, quote.contract_size_e8, short_option_minimum_e8(quote))
        else:
            array, head = (0,) * SCENARIO_COUNT, (0, 0, 0)
        if any(not 0 <= v <= UNSIGNED_MAX_E8 for v in head):
            raise PublicInputError(f"instrument slot {i}: value outside [0, 2^64)")
        rows.append((head, tuple(array)))
    return rows


def require_portfolio_healthy(account: Account, snapshot: Snapshot) -> None:
    """Raise MarginCallError (with the worst scenario) when the portfolio reference engine says margin call."""
    report = compute_portfolio_margin(account, snapshot)
    require_covers(report.healthy, report.equity_e32, report.requirement_e32, "requirement",
                   f" (worst scenario {report.worst_scenario + 1})")
