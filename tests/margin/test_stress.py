"""Stress library: shock parsing, shocked snapshots, margin-call prices against a brute-force scan."""

from __future__ import annotations

import pytest

from zkmargin.errors import FormatError
from zkmargin.margin.registry import evaluate
from zkmargin.margin.samples import sample_account, sample_snapshot
from zkmargin.margin.stress import (
    apply_shocks,
    margin_call_price,
    parse_grid,
    parse_move,
    parse_shock,
    stress_point,
)

E8 = 10**8


@pytest.mark.parametrize("text,expected", [("-20%", -20 * 10**6), ("+5.5%", 55 * 10**5), ("-0.2", -20 * 10**6),
                                           ("0%", 0), ("-100%", -E8), ("+250%", 250 * 10**6),
                                           ("0.000001%", 1)])
def test_parse_move(text, expected):
    assert parse_move(text, "m") == expected


@pytest.mark.parametrize("text", ["-100.01%", "x%", "0.0000001%", "", "--5%"])
def test_parse_move_refuses(text):
    with pytest.raises(FormatError):
        parse_move(text, "m")


def test_grid_and_shock():
    assert parse_grid("BTC=-10%:+10%:5%") == ("BTC", (-10 * 10**6, -5 * 10**6, 0, 5 * 10**6, 10 * 10**6))
    assert parse_shock(" ETH = -30% ") == ("ETH", -30 * 10**6)


def test_shock_moves_asset_and_every_instrument_of_the_underlying():
    snapshot = sample_snapshot()
    shocked = apply_shocks(snapshot, {"BTC": -25 * 10**6})
    before = {q.instrument: q.mark_price_e8 for q in snapshot.instruments}
    after = {q.instrument: q.mark_price_e8 for q in shocked.instruments}
    assert after["BTC-PERP"] == before["BTC-PERP"] * 3 // 4 and after["BTC-DEC26"] == before["BTC-DEC26"] * 3 // 4
    assert after["ETH-PERP"] == before["ETH-PERP"]
    assert {a.asset: a.price_e8 for a in shocked.assets}["BTC"] == 48000 * E8


@pytest.mark.parametrize("model", ["cross", "tiered"])
def test_margin_call_move_is_the_first_failing_move(model):
    account, snapshot = sample_account("healthy"), sample_snapshot()
    call = margin_call_price(model, account, snapshot, "BTC")
    assert call.move_down_e8 is not None
    # Exactly at the boundary: one unit (1e-8) less of a move is still healthy.
    assert not stress_point(model, account, snapshot, {"BTC": call.move_down_e8}).healthy
    assert stress_point(model, account, snapshot, {"BTC": call.move_down_e8 + 1}).healthy
    # And nothing between today and the boundary fails (brute force at 0.5% steps).
    for move in range(0, call.move_down_e8, -E8 // 200):
        assert stress_point(model, account, snapshot, {"BTC": move}).healthy


def test_account_already_in_margin_call_reports_the_moves_that_restore_it():
    account, snapshot = sample_account("margin_call"), sample_snapshot()
    call = margin_call_price("cross", account, snapshot, "BTC")
    assert call.in_call_now and call.move_down_e8 is None and call.move_up_e8 is None
    # Long BTC: a rise restores it, exactly at the boundary; no fall does.
    assert call.restore_down_e8 is None and call.restore_up_e8 is not None and call.restore_up_e8 > 0
    assert stress_point("cross", account, snapshot, {"BTC": call.restore_up_e8}).healthy
    assert not stress_point("cross", account, snapshot, {"BTC": call.restore_up_e8 - 1}).healthy


def test_stress_point_matches_the_engine_on_the_shocked_snapshot():
    account, snapshot = sample_account("healthy"), sample_snapshot()
    point = stress_point("portfolio", account, snapshot, {"ETH": 15 * 10**6})
    direct = evaluate("portfolio", account, apply_shocks(snapshot, {"ETH": 15 * 10**6}))
    assert (point.equity_e32, point.requirement_e32, point.healthy) == (direct.equity_e32, direct.requirement_e32,
                                                                        direct.healthy)
