"""Risk-based margin over historical scenarios: value at risk (model ``var``) and expected shortfall (``es``).

What the venue publishes (snapshot block ``scenarios`` plus one vector per quote):
  * S = scenarios.count historical scenarios, 1 <= S <= 1000;
  * per instrument, ``scenario_pnl``: the profit (+) or loss (-) of ONE contract
    (quantity 1) in each scenario, in the quote currency at scale 1e8. The
    vectors are published, never recomputed from returns by the verifier
    (pnl_from_returns below is the venue's tool, and only the published
    integers count);
  * per asset, optionally, ``scenario_value_change``: the change in the value of
    one unit of the asset per scenario (absent: the collateral does not move);
  * the confidence c in (0, 1) and a fixed add-on A >= 0.

Scenario loss (exact integers, scale 1e32 like every engine here):
  L_s = -(sum_i q_i * pnl_is + sum_k amount_k * dv_ks) * 1e16.

Convention, stated once (k is the number of worst scenarios that count):
  * VaR: the empirical c-quantile of the loss, inf{x : F_S(x) >= c} with F_S the
    empirical distribution (McNeil, Frey, Embrechts, Quantitative Risk
    Management, def. 2.10), which is the k-th largest loss for
        k_var = floor(S * (1 - c)) + 1          (99% over 250 days: 3rd worst).
    At most k_var - 1 <= S * (1 - c) scenarios lose more than the VaR.
  * ES: the Acerbi-Tasche (2002) estimator, the mean of the w worst losses,
        k_es = max(1, floor(S * (1 - c)))        (FRTB 97.5% over 250 days: 6 worst);
    the max(1, .) keeps one scenario when S * (1 - c) < 1.
  S * (1 - c) is computed exactly (c has 8 decimals), so floor never rounds wrongly.

Requirement = max(0, VaR or ES) + A; healthy <=> equity >= requirement, with
equity as in cross margin (collateral after haircuts plus unrealised P&L).
ES is a fraction: the engine decides health exactly, as
  equity - A >= 0  and  k * (equity - A) >= sum of the k largest losses,
and reports the requirement rounded UP to scale 1e32 (towards more margin).
"""

from __future__ import annotations

from dataclasses import dataclass

from zkmargin.errors import FormatError
from zkmargin.margin.engine import HealthStatus, format_e32, pooled_collateral_e32, summary_to_json, upnl_e32
from zkmargin.margin.fixed_point import SCALE_E8, format_e8
from zkmargin.margin.models import (
    Account,
    ScenarioSet,
    Snapshot,
    reject_isolated,
    validate_account_against_snapshot,
)

RISK_MODELS = ("var", "es")
E16_TO_E32 = 10**16


def var_k(count: int, confidence_e8: int) -> int:
    """k of the VaR convention: floor(S (1 - c)) + 1, the rank (worst first) of the loss that is the VaR."""
    _check_convention_inputs(count, confidence_e8)
    return count * (SCALE_E8 - confidence_e8) // SCALE_E8 + 1


def es_k(count: int, confidence_e8: int) -> int:
    """k of the ES convention: max(1, floor(S (1 - c))), the number of worst losses averaged."""
    _check_convention_inputs(count, confidence_e8)
    return max(1, count * (SCALE_E8 - confidence_e8) // SCALE_E8)


def model_k(model: str, scenarios: ScenarioSet) -> int:
    """k for model 'var' or 'es' under the snapshot's scenario block."""
    if model == "var":
        return var_k(scenarios.count, scenarios.confidence_e8)
    if model == "es":
        return es_k(scenarios.count, scenarios.confidence_e8)
    raise FormatError(f"unknown risk model {model!r}; expected one of {', '.join(RISK_MODELS)}")


def _check_convention_inputs(count: int, confidence_e8: int) -> None:
    if count < 1:
        raise FormatError(f"scenario count must be at least 1, got {count}")
    if not 0 < confidence_e8 < SCALE_E8:
        raise FormatError(f"confidence must lie strictly between 0 and 1, got {confidence_e8 / SCALE_E8}")


def require_scenarios(snapshot: Snapshot) -> ScenarioSet:
    """The snapshot's scenario block; FormatError when it publishes none."""
    if snapshot.scenarios is None:
        raise FormatError(f"snapshot {snapshot.snapshot_id!r} publishes no historical scenarios (models var, es)")
    return snapshot.scenarios


def scenario_losses_e16(account: Account, snapshot: Snapshot) -> tuple[int, ...]:
    """L_s / 1e16 = -(sum q * pnl + sum amount * dv) for every scenario (scale 1e16, exact)."""
    scenarios = require_scenarios(snapshot)
    validate_account_against_snapshot(account, snapshot)
    instruments = {q.instrument: q for q in snapshot.instruments}
    assets = {a.asset: a for a in snapshot.assets}
    losses = [0] * scenarios.count
    for p in account.positions:
        for s, pnl in enumerate(instruments[p.instrument].scenario_pnl_e8):
            losses[s] -= p.quantity_e8 * pnl
    for c in account.collateral:
        for s, change in enumerate(assets[c.asset].scenario_value_change_e8):
            losses[s] -= c.amount_e8 * change
    return tuple(losses)


@dataclass(frozen=True)
class RiskPosition:
    """One position under VaR / ES: its size, unrealised P&L and its own loss in every scenario (scale 1e32)."""

    instrument: str
    quantity_e8: int
    notional_e32: int
    upnl_e32: int
    losses_e32: tuple[int, ...]


@dataclass(frozen=True)
class RiskReport(HealthStatus):
    """Equity, scenario losses, k and the VaR / ES requirement of one account."""

    model: str
    equity_e32: int
    losses_e32: tuple[int, ...]
    k: int
    add_on_e32: int
    positions: tuple[RiskPosition, ...] = ()

    @property
    def tail_e32(self) -> tuple[int, ...]:
        """The k largest losses, worst first."""
        return tuple(sorted(self.losses_e32, reverse=True)[: self.k])

    @property
    def risk_e32(self) -> int:
        """VaR (the k-th largest loss) or ES (mean of the k largest, rounded up), before the floor at 0."""
        tail = self.tail_e32
        return tail[-1] if self.model == "var" else -(-sum(tail) // self.k)

    @property
    def requirement_e32(self) -> int:
        """max(0, VaR or ES) + add-on (ES rounded up at scale 1e32)."""
        return max(0, self.risk_e32) + self.add_on_e32

    @property
    def maintenance_e32(self) -> int:
        """The requirement, under the name the shared summary uses."""
        return self.requirement_e32

    @property
    def healthy(self) -> bool:  # type: ignore[override]
        """equity >= max(0, risk) + add-on, decided without rounding."""
        free = self.equity_e32 - self.add_on_e32
        if free < 0:
            return False
        if self.model == "var":
            return free >= self.tail_e32[-1]
        return self.k * free >= sum(self.tail_e32)


def compute_risk_margin(account: Account, snapshot: Snapshot, model: str) -> RiskReport:
    """VaR or ES report of account under the snapshot's published scenarios."""
    scenarios = require_scenarios(snapshot)
    k = model_k(model, scenarios)
    reject_isolated(account, model)
    losses = scenario_losses_e16(account, snapshot)
    instruments = {q.instrument: q for q in snapshot.instruments}
    equity = pooled_collateral_e32(account, snapshot)
    positions = []
    for p in account.positions:
        quote = instruments[p.instrument]
        upnl = upnl_e32(p.quantity_e8, quote.mark_price_e8, p.entry_price_e8, quote.contract_size_e8)
        equity += upnl
        positions.append(RiskPosition(
            p.instrument, p.quantity_e8, abs(p.quantity_e8) * quote.mark_price_e8 * quote.contract_size_e8 * SCALE_E8,
            upnl, tuple(-p.quantity_e8 * pnl * E16_TO_E32 for pnl in quote.scenario_pnl_e8)))
    return RiskReport(model, equity, tuple(v * E16_TO_E32 for v in losses), k, scenarios.add_on_e8 * 10**24,
                      tuple(positions))


def risk_report_to_json(report: RiskReport) -> dict:
    """Exact decimal strings; the ES requirement and the margin ratio are the only rounded figures."""
    worst = max(range(len(report.losses_e32)), key=lambda s: report.losses_e32[s])
    return {
        **summary_to_json(report.model, report, report.equity_e32, report.requirement_e32),
        "k": report.k,
        "scenario_count": len(report.losses_e32),
        report.model: format_e32(report.risk_e32),
        "add_on": format_e32(report.add_on_e32),
        "worst_loss_scenario": worst + 1,
        "scenario_losses": [format_e32(v) for v in report.losses_e32],
        # Each position's own loss in the worst scenario (collateral that moves with the scenarios is not a position).
        "positions": [
            {"instrument": p.instrument, "quantity": format_e8(p.quantity_e8), "notional": format_e32(p.notional_e32),
             "upnl": format_e32(p.upnl_e32), "worst_scenario_loss": format_e32(p.losses_e32[worst])}
            for p in report.positions
        ],
    }


def pnl_from_returns(mark_price_e8: int, contract_size_e8: int, returns_e8: list[int]) -> tuple[int, ...]:
    """The venue's tool: P&L of one contract per scenario from relative returns, rounded DOWN at 1e8 (more loss)."""
    return tuple((mark_price_e8 * contract_size_e8 * r) // SCALE_E8**2 for r in returns_e8)


def with_scenarios(snapshot: Snapshot, count: int, confidence_e8: int, add_on_e8: int = 0, seed: int = 0,
                   daily_vol_e8: int = 4 * 10**6) -> Snapshot:
    """A copy of snapshot with synthetic historical scenarios (the demo's and the tests' venue tool).

    Every underlying gets one seeded series of daily returns (fat-tailed: a Student-t
    with 3 degrees of freedom scaled to daily_vol); instruments and assets of the same
    underlying share it, stablecoins and the quote currency (price 1) do not move.
    """
    import random
    from dataclasses import replace

    from zkmargin.margin.models import underlying_of

    rng = random.Random(seed)
    returns: dict[str, list[int]] = {}

    def series(underlying: str) -> list[int]:
        if underlying not in returns:
            out = []
            for _ in range(count):
                chi = sum(rng.gauss(0, 1) ** 2 for _ in range(3)) / 3
                t = rng.gauss(0, 1) / max(chi, 1e-9) ** 0.5 / 3**0.5
                out.append(max(-SCALE_E8 + 1, int(t * daily_vol_e8)))
            returns[underlying] = out
        return returns[underlying]

    assets = tuple(
        a if abs(a.price_e8 - SCALE_E8) < SCALE_E8 // 100 else replace(a, scenario_value_change_e8=pnl_from_returns(a.price_e8, SCALE_E8, series(underlying_of(a.asset))))
        for a in snapshot.assets)
    instruments = tuple(
        replace(q, scenario_pnl_e8=pnl_from_returns(q.mark_price_e8, q.contract_size_e8, series(underlying_of(q.instrument))))
        for q in snapshot.instruments)
    return replace(snapshot, assets=assets, instruments=instruments,
                   scenarios=ScenarioSet(count, confidence_e8, add_on_e8))
