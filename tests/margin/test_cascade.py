"""Liquidation cascade: the documented rule on hand-computed populations, the fixpoint, bad input, the generator."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zkmargin.errors import FormatError
from zkmargin.margin.cascade import (
    cascade_to_json,
    generate_population,
    load_population,
    population_from_accounts,
    run_cascade,
)
from zkmargin.margin.models import Account, AssetQuote, Collateral, InstrumentQuote, Position, Snapshot, parse_account
from zkmargin.margin.samples import sample_snapshot

E8 = 10**8


def _snapshot() -> Snapshot:
    return Snapshot("s", "v", "2026-11-25T00:00:00Z",
                    (AssetQuote("USD", E8, 0),),
                    (InstrumentQuote("BTC-PERP", 100 * E8, 10 * 10**6, E8),))  # mark 100, maintenance 10%


def _account(name: str, usd: int, quantity: int, entry: int = 100) -> Account:
    return Account(name, (Collateral("USD", usd * E8),), (Position("BTC-PERP", quantity * E8, entry * E8),))


def test_hand_computed_two_round_cascade():
    # a: 1 long at 100 with 15 USD. After -10%: equity 15 - 10 = 5 < maintenance 9 -> round 1.
    # b: 1 long with 25 USD: equity 15 >= 9 at 90; it fails only after a's sale moves the price.
    # c: 1 short with 20 USD gains from the fall and never fails.
    accounts = [_account("a", 15, 1), _account("b", 25, 1), _account("c", 20, -1)]
    population = population_from_accounts(accounts, _snapshot())
    # depth 9: a sells 1 contract at 90 (notional 90) -> price moves by -90/9 % = -10%: 90 -> 81.
    report = run_cascade(population, _snapshot(), {"BTC": -10 * 10**6}, {"BTC": 9.0})
    assert [r.accounts_liquidated for r in report.rounds] == [1, 1]
    assert report.rounds[0].prices_after["BTC"] == pytest.approx(81.0)
    assert report.rounds[0].notional_liquidated == pytest.approx(90.0)
    # b at 81: equity 25 - 19 = 6 < maintenance 8.1 -> round 2; its sale (81) moves 81 by -9%: 73.71.
    assert report.rounds[1].prices_after["BTC"] == pytest.approx(73.71)
    assert report.liquidated_ids == ["a", "b"] and report.reached_fixpoint
    doc = cascade_to_json(report)
    assert [s["stage"] for s in doc["price_path"]] == ["before shock", "after shock", "after round 1", "after round 2"]
    assert doc["price_path"][1]["prices"]["BTC"] == pytest.approx(90.0)


def test_shorts_buying_back_push_the_price_up():
    accounts = [_account("s", 11, -1)]  # short 1 at 100 with 11 USD: +10% gives equity 1 < maintenance 11
    report = run_cascade(population_from_accounts(accounts, _snapshot()), _snapshot(), {"BTC": 10 * 10**6}, {"BTC": 110.0})
    assert report.rounds[0].net_sold["BTC"] == pytest.approx(-110.0)
    assert report.rounds[0].prices_after["BTC"] == pytest.approx(110 * 1.01)


def test_no_liquidation_is_an_immediate_fixpoint():
    report = run_cascade(population_from_accounts([_account("rich", 1000, 1)], _snapshot()), _snapshot(),
                         {"BTC": -5 * 10**6})
    assert report.rounds == () and report.reached_fixpoint and report.accounts_liquidated == 0


def test_agrees_with_the_exact_cross_engine_on_the_first_round():
    """Round 1 liquidates exactly the accounts the integer cross engine puts in margin call after the shock."""
    from zkmargin.margin.engine import compute_margin
    from zkmargin.margin.stress import apply_shocks

    snapshot = sample_snapshot()
    accounts = [parse_account(d) for d in generate_population(snapshot, 400, seed=9)]
    shocks = {"BTC": -20 * 10**6, "ETH": -25 * 10**6}
    shocked = apply_shocks(snapshot, shocks)
    expected = {a.account_id for a in accounts if not compute_margin(a, shocked).healthy}
    report = run_cascade(population_from_accounts(accounts, snapshot), snapshot, shocks, max_rounds=1)
    assert expected and set(report.liquidated_ids) == expected


@pytest.mark.parametrize("shocks,depth,message", [
    ({"XRP": -E8 // 10}, None, "unknown underlying 'XRP'"),
    ({"BTC": -E8 // 10}, {"NOPE": 1.0}, "depth for unknown underlying"),
    ({"BTC": -E8 // 10}, {"BTC": 0.0}, "must be positive"),
])
def test_bad_input(shocks, depth, message):
    population = population_from_accounts([_account("a", 15, 1)], _snapshot())
    with pytest.raises(FormatError, match=message):
        run_cascade(population, _snapshot(), shocks, depth)


def test_generator_is_seeded_and_loads(tmp_path):
    snapshot = sample_snapshot()
    first, again = generate_population(snapshot, 50, seed=4), generate_population(snapshot, 50, seed=4)
    assert first == again and first != generate_population(snapshot, 50, seed=5)
    path = tmp_path / "accounts.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in first))
    population = load_population(path, snapshot)
    assert population.quantities.shape == (50, len(snapshot.instruments))
    assert np.count_nonzero(population.quantities, axis=1).min() >= 1


@pytest.mark.parametrize("content,message", [
    ('{"account_id": "a", "collateral": [], "positions": []}\nnot json\n', "line 2 is not valid JSON"),
    ('{"account_id": "a", "collateral": [], "positions": [{"instrument": "XRP-PERP", "quantity": "1", "entry_price": "1"}]}\n',
     "XRP-PERP"),
    ("", "no accounts"),
    ('[{"account_id": "a"}]', "item 1"),
])
def test_bad_population_files_name_the_line(tmp_path, content, message):
    path = tmp_path / "accounts.jsonl"
    path.write_text(content)
    with pytest.raises(FormatError, match=message):
        load_population(path, sample_snapshot())
