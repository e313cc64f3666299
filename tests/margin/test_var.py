"""VaR / ES reference engine: the stated convention, differential examples, boundaries, bad snapshots."""

from __future__ import annotations

import random
from dataclasses import replace
from fractions import Fraction

import pytest

from zkmargin.errors import FormatError
from zkmargin.margin.models import (
    Account,
    AssetQuote,
    Collateral,
    InstrumentQuote,
    Position,
    ScenarioSet,
    Snapshot,
    parse_snapshot,
    snapshot_to_json,
)
from zkmargin.margin.registry import evaluate
from zkmargin.margin.samples import sample_account, sample_snapshot
from zkmargin.margin.var import (
    compute_risk_margin,
    es_k,
    model_k,
    risk_report_to_json,
    var_k,
    with_scenarios,
)

E8 = 10**8


@pytest.mark.parametrize("count,confidence,k_var,k_es", [
    (250, "0.99", 3, 2),       # 2.5 tail scenarios: VaR is the 3rd worst
    (250, "0.975", 7, 6),      # FRTB 97.5%: ES averages the 6 worst (floor 6.25)
    (500, "0.99", 6, 5),       # S(1-c) = 5 exactly: at most 5 losses exceed the VaR
    (100, "0.99", 2, 1),
    (50, "0.99", 1, 1),        # S(1-c) = 0.5 < 1: VaR is the worst, ES keeps one scenario
    (1, "0.5", 1, 1),
    (4, "0.00000001", 4, 3),   # k_var = S: the smallest loss
    (10, "0.1", 10, 9),
])
def test_convention(count, confidence, k_var, k_es):
    c = int(Fraction(confidence) * E8)
    assert (var_k(count, c), es_k(count, c)) == (k_var, k_es)


@pytest.mark.parametrize("confidence", [0, E8, -1, E8 + 1])
def test_confidence_outside_open_interval_is_refused(confidence):
    with pytest.raises(FormatError, match="strictly between 0 and 1"):
        var_k(250, confidence)


def _empirical_var(losses: list[int], c: Fraction) -> int:
    """inf{x : F(x) >= c} over the empirical distribution, written from the definition."""
    n = len(losses)
    return min(x for x in losses if Fraction(sum(1 for v in losses if v <= x), n) >= c)


def _acerbi_tasche_es(losses: list[int], c: Fraction) -> Fraction:
    w = max(1, int(len(losses) * (1 - c)))
    return Fraction(sum(sorted(losses, reverse=True)[:w]), w)


def _snapshot(pnl: list[list[int]], dv: list[list[int]], confidence_e8: int, add_on_e8: int = 0) -> Snapshot:
    count = len(pnl[0])
    return Snapshot(
        "s", "v", "2026-11-25T00:00:00Z",
        tuple(AssetQuote(f"A{j}", E8, 0, tuple(v)) for j, v in enumerate(dv)),
        tuple(InstrumentQuote(f"I{i}", 100 * E8, 0, E8, scenario_pnl_e8=tuple(v)) for i, v in enumerate(pnl)),
        ScenarioSet(count, confidence_e8, add_on_e8),
    )


def _account(quantities: list[int], amounts: list[int]) -> Account:
    return Account("a", tuple(Collateral(f"A{j}", a) for j, a in enumerate(amounts)),
                   tuple(Position(f"I{i}", q, 100 * E8) for i, q in enumerate(quantities) if q))


@pytest.mark.parametrize("seed", range(240))
def test_differential_against_the_definitions(seed):
    """Random books and scenario sets (ties on purpose): engine == the definitions in exact rationals."""
    rng = random.Random(seed)
    count = rng.choice([1, 2, 3, 7, 40, 100, 250])
    c_e8 = rng.choice([1, E8 // 2, 90 * 10**6, 975 * 10**5, 99 * 10**6, E8 - 1, rng.randrange(1, E8)])
    spread = rng.choice([1, 3, 10**6])  # spread 1 makes ties the rule, not the exception
    n, k_assets = rng.randint(1, 4), rng.randint(1, 3)
    pnl = [[rng.randint(-spread, spread) * E8 for _ in range(count)] for _ in range(n)]
    dv = [[rng.randint(-spread, spread) * 1000 for _ in range(count)] if rng.random() < 0.5 else [0] * count
          for _ in range(k_assets)]
    quantities = [rng.randint(-5, 5) * E8 for _ in range(n)]
    amounts = [rng.randint(0, 10**6) * E8 for _ in range(k_assets)]
    add_on = rng.choice([0, rng.randrange(10**12)])
    snapshot = _snapshot(pnl, dv, c_e8, add_on)
    account = _account(quantities, amounts)
    losses = [-(sum(q * pnl[i][s] for i, q in enumerate(quantities))
                + sum(a * dv[j][s] for j, a in enumerate(amounts))) * 10**16 for s in range(count)]
    c = Fraction(c_e8, E8)
    equity = sum(a * E8 * E8 * E8 for a in amounts)  # price 1, no haircut, entry at the mark
    for model, risk in (("var", Fraction(_empirical_var(losses, c))), ("es", _acerbi_tasche_es(losses, c))):
        report = compute_risk_margin(account, snapshot, model)
        assert report.equity_e32 == equity
        assert list(report.losses_e32) == losses
        requirement = max(Fraction(0), risk) + add_on * 10**24
        assert report.requirement_e32 == -(-requirement.numerator // requirement.denominator)
        assert report.healthy == (equity >= requirement)
        # The same account with equity exactly at the requirement is healthy, one unit below is not.
        if requirement.denominator == 1:
            for delta, healthy in ((0, True), (-1, False)):
                shifted = replace(report, equity_e32=int(requirement) + delta)
                assert shifted.healthy is healthy


def _one_instrument(losses_per_contract: list[int], confidence_e8: int, add_on_e8: int = 0) -> tuple[Account, Snapshot]:
    snapshot = _snapshot([[-v * E8 for v in losses_per_contract]], [[0] * len(losses_per_contract)], confidence_e8,
                         add_on_e8)
    return _account([E8], [0]), snapshot


def _with_equity(account: Account, equity_units: int) -> Account:
    return replace(account, collateral=(Collateral("A0", equity_units * E8),))


UNIT = 10**32


@pytest.mark.parametrize("model,confidence_e8,losses,expected", [
    ("var", 99 * 10**6, [5, 5, 5, 5], 5),                  # all tied
    ("var", 75 * 10**6, [9, 7, 7, 1], 7),                  # k=2, tie at the k-th
    ("es", 50 * 10**6, [9, 7, 7, 1], 8),                   # k=2: (9 + 7) / 2
    ("var", 1, [3, 8, 2], 2),                              # k = S: the smallest loss
    ("es", 1, [3, 8, 2], Fraction(11, 2)),                 # k = floor(3 (1 - 1e-8)) = 2: (8 + 3) / 2
    ("var", 99 * 10**6, [3, 8, 2], 8),                     # k = 1: the worst
    ("es", 99 * 10**6, [3, 8, 2], 8),                      # k = 1
    ("var", 50 * 10**6, [-3, -8, -2, -1], 0),              # all gains: floored at 0
    ("es", 50 * 10**6, [-3, -8, -2, -1], 0),
])
def test_boundaries(model, confidence_e8, losses, expected):
    account, snapshot = _one_instrument(losses, confidence_e8)
    report = compute_risk_margin(account, snapshot, model)
    required = expected * UNIT
    assert report.requirement_e32 == -(-required.numerator // required.denominator)


@pytest.mark.parametrize("model", ["var", "es"])
def test_equity_exactly_at_the_requirement_and_one_unit_below(model):
    account, snapshot = _one_instrument([10, 4, 7, 1], 75 * 10**6, add_on_e8=3 * E8)
    report = compute_risk_margin(account, snapshot, model)
    requirement_units = report.requirement_e32 // UNIT
    assert report.requirement_e32 == requirement_units * UNIT
    assert requirement_units == (7 + 3 if model == "var" else 10 + 3)  # var k=2 -> 7; es k=1 -> 10
    at = compute_risk_margin(_with_equity(account, requirement_units), snapshot, model)
    assert at.healthy and at.equity_e32 == at.requirement_e32
    # One unit of the format (1e-8 of the collateral asset) below.
    below = compute_risk_margin(replace(account, collateral=(Collateral("A0", requirement_units * E8 - 1),)),
                                snapshot, model)
    assert not below.healthy


def test_es_health_is_exact_where_the_rounded_requirement_is_not():
    # ES = 10/3 is not a multiple of 1e-8: 3.33333334 covers it, 3.33333333 does not.
    account, snapshot = _one_instrument([4, 3, 3, 0], 25 * 10**6)  # k_es = 3: (4 + 3 + 3) / 3
    assert model_k("es", snapshot.scenarios) == 3
    healthy = compute_risk_margin(replace(account, collateral=(Collateral("A0", 333333334),)), snapshot, "es")
    unhealthy = compute_risk_margin(replace(account, collateral=(Collateral("A0", 333333333),)), snapshot, "es")
    assert healthy.healthy and not unhealthy.healthy


def test_add_on_alone_is_required_when_every_scenario_gains():
    account, snapshot = _one_instrument([-1, -2], 50 * 10**6, add_on_e8=5 * E8)
    assert compute_risk_margin(_with_equity(account, 5), snapshot, "var").healthy
    assert not compute_risk_margin(replace(account, collateral=(Collateral("A0", 5 * E8 - 1),)), snapshot, "var").healthy


def test_collateral_value_change_counts_as_loss():
    snapshot = _snapshot([[0, 0]], [[-50 * E8, 0]], 50 * 10**6)  # the asset loses 50 per unit in scenario 1
    account = _account([0], [2 * E8])
    report = compute_risk_margin(account, snapshot, "var")
    assert report.losses_e32 == (100 * UNIT, 0)


def test_sample_snapshot_round_trips_and_reports():
    snapshot = with_scenarios(sample_snapshot(), 250, 99 * 10**6, 10 * E8, seed=3)
    assert parse_snapshot(snapshot_to_json(snapshot)) == snapshot
    report = compute_risk_margin(sample_account("healthy"), snapshot, "es")
    doc = risk_report_to_json(report)
    assert doc["model"] == "es" and doc["k"] == 2 and len(doc["scenario_losses"]) == 250
    assert evaluate("var", sample_account("margin_call"), snapshot).healthy is False


def _doc(**changes) -> dict:
    doc = snapshot_to_json(with_scenarios(sample_snapshot(), 5, 80 * 10**6, seed=1))
    for key, value in changes.items():
        doc[key] = value
    return doc


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["instruments"][0].update(scenario_pnl=["1"] * 4), r"instruments\[0\].scenario_pnl: 4 values, but scenarios.count is 5"),
    (lambda d: d["assets"][2].update(scenario_value_change=["1"] * 6), r"assets\[2\].scenario_value_change: 6 values"),
    (lambda d: d["instruments"][1].pop("scenario_pnl"), r"instruments\[1\].scenario_pnl: missing"),
    (lambda d: d["scenarios"].update(confidence="1"), "not strictly between 0 and 1"),
    (lambda d: d["scenarios"].update(confidence="0"), "not strictly between 0 and 1"),
    (lambda d: d["scenarios"].update(confidence="1.5"), "outside"),
    (lambda d: d["scenarios"].update(count=0), r"scenarios.count"),
    (lambda d: d["scenarios"].update(count=True), r"scenarios.count"),
    (lambda d: d.pop("scenarios"), "need a top-level 'scenarios' block"),
    (lambda d: d["instruments"][0].update(scenario_pnl=["1", "2", "x", "4", "5"]), r"scenario_pnl\[2\]"),
])
def test_bad_scenario_blocks_name_the_field(mutate, message):
    doc = _doc()
    mutate(doc)
    with pytest.raises(FormatError, match=message):
        parse_snapshot(doc)


def test_models_refuse_a_snapshot_without_scenarios():
    with pytest.raises(FormatError, match="publishes no historical scenarios"):
        compute_risk_margin(sample_account("healthy"), sample_snapshot(), "var")
