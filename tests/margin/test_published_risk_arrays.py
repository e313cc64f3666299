"""#14 item 4: portfolio risk arrays published in the snapshot are what verifiers use; the generator checks them."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest
from click.testing import CliRunner

from zkmargin.circuits.registry import circuit_from_id
from zkmargin.cli.main import cli
from zkmargin.errors import FormatError
from zkmargin.margin.black76 import black76_price
from zkmargin.margin.models import (
    Account,
    AssetQuote,
    Collateral,
    InstrumentQuote,
    Position,
    RiskParams,
    Snapshot,
    parse_snapshot,
    snapshot_to_json,
)
from zkmargin.margin.portfolio import (
    compute_portfolio_margin,
    publish_risk_arrays,
    published_risk_array,
    risk_array,
    risk_array_mismatches,
)

E8 = 10**8


def _option(name: str, kind: str, strike: int) -> InstrumentQuote:
    premium = round(black76_price(kind, 5000, strike, 0.25, 0.04, 0.2), 8)
    return InstrumentQuote(name, round(premium * E8), 0, 50 * E8,
                           risk=RiskParams(kind, 5000 * E8, E8 // 20, E8 // 20, 2 * E8, 35 * E8 // 100,
                                           strike * E8, E8 // 5, E8 // 4, 4 * E8 // 100, 10 * E8))


FUTURE = InstrumentQuote("ES-DEC26", 5000 * E8, 0, 50 * E8,
                         risk=RiskParams("future", 5000 * E8, E8 // 20, E8 // 20, 2 * E8, 35 * E8 // 100))
CALL, PUT = _option("ES-C5100", "call", 5100), _option("ES-P4900", "put", 4900)
SNAPSHOT = Snapshot("p", "v", "2026-11-24T00:00:00Z", (AssetQuote("USD", E8, 0),), (FUTURE, CALL, PUT))


def test_publishing_round_trips_and_changes_nothing():
    published = publish_risk_arrays(SNAPSHOT)
    assert parse_snapshot(snapshot_to_json(published)) == published
    assert all(q.risk_array_e8 == risk_array(q) for q in published.instruments)
    account = Account("a", (Collateral("USD", 30_000 * E8),), (Position("ES-DEC26", E8, 5000 * E8),
                                                              Position("ES-P4900", 2 * E8, PUT.mark_price_e8)))
    assert compute_portfolio_margin(account, published) == compute_portfolio_margin(account, SNAPSHOT)
    assert risk_array_mismatches(published) == []


def test_verifiers_use_the_published_array_not_their_own_libm(monkeypatch):
    """A verifier whose Black-76 differs (another libm) still derives the venue's public inputs."""
    published = publish_risk_arrays(SNAPSHOT)
    circuit = circuit_from_id("portfolio-n3-k1")
    expected = circuit.snapshot_inputs(published)
    import zkmargin.margin.portfolio as portfolio

    real = portfolio.black76_price
    monkeypatch.setattr(portfolio, "black76_price", lambda *args: real(*args) * (1 + 1e-9))
    assert risk_array(CALL) != published.instruments[1].risk_array_e8  # this 'platform' computes other integers
    assert circuit.snapshot_inputs(published) == expected  # ... but reads the published ones
    assert circuit.snapshot_inputs(SNAPSHOT) != expected  # without publication it would disagree


def test_a_published_array_wins_and_the_check_names_the_difference():
    forged = list(risk_array(FUTURE))
    forged[4] -= 1
    snapshot = replace(SNAPSHOT, instruments=(replace(FUTURE, risk_array_e8=tuple(forged)), CALL, PUT))
    assert published_risk_array(snapshot.instruments[0]) == tuple(forged)
    assert risk_array_mismatches(snapshot) == [("ES-DEC26", 4, forged[4], forged[4] + 1)]
    # Options are allowed one rounding unit; linear instruments none.
    nudged = list(risk_array(CALL))
    nudged[0] += 1
    loose = replace(SNAPSHOT, instruments=(FUTURE, replace(CALL, risk_array_e8=tuple(nudged)), PUT))
    assert risk_array_mismatches(loose) == [] and len(risk_array_mismatches(loose, tolerance_e8=0)) == 1


@pytest.mark.parametrize("values,message", [(["1"] * 15, "a risk array has 16"), (["x"] * 16, r"risk_array\[0\]"),
                                            (["92233720368.54775808"] * 16, "outside")])
def test_bad_published_arrays_are_format_errors(values, message):
    doc = snapshot_to_json(SNAPSHOT)
    doc["instruments"][0]["risk_array"] = values
    with pytest.raises(FormatError, match=message):
        parse_snapshot(doc)


def test_cli_publishes_and_checks(tmp_path):
    source, out = tmp_path / "snapshot.json", tmp_path / "published.json"
    source.write_text(json.dumps(snapshot_to_json(SNAPSHOT)))
    runner = CliRunner()
    made = runner.invoke(cli, ["risk-arrays", str(source), "--out", str(out)], catch_exceptions=False)
    assert made.exit_code == 0, made.output
    checked = runner.invoke(cli, ["risk-arrays", str(out), "--json"], catch_exceptions=False)
    assert checked.exit_code == 0 and json.loads(checked.stdout) == {"checked": 3, "mismatches": []}
    doc = json.loads(out.read_text())
    doc["instruments"][0]["risk_array"][3] = "0"
    out.write_text(json.dumps(doc))
    bad = runner.invoke(cli, ["risk-arrays", str(out)], catch_exceptions=False)
    assert bad.exit_code == 1 and "ES-DEC26 scenario 4" in bad.stdout


def test_random_portfolios_agree_with_published_arrays():
    published = publish_risk_arrays(SNAPSHOT)
    rng = random.Random(5)
    for _ in range(30):
        positions = tuple(Position(q.instrument, rng.randint(-9, 9) * E8, q.mark_price_e8)
                          for q in (FUTURE, CALL, PUT) if rng.random() < 0.7)
        account = Account("a", (Collateral("USD", rng.randint(0, 10**5) * E8),), positions)
        assert compute_portfolio_margin(account, published) == compute_portfolio_margin(account, SNAPSHOT)


def test_stress_regenerates_published_arrays_at_shocked_prices():
    from zkmargin.margin.stress import stress_point

    account = Account("a", (Collateral("USD", 30_000 * E8),), (Position("ES-DEC26", E8, 5000 * E8),))
    moves = {"ES": -10 * 10**6}
    published = stress_point("portfolio", account, publish_risk_arrays(SNAPSHOT), moves)
    assert published == stress_point("portfolio", account, SNAPSHOT, moves)
    assert published.requirement_e32 != stress_point("portfolio", account, SNAPSHOT, {}).requirement_e32
