"""Reference engine: hand-checked figures, the boundary, the rounding rule."""

from __future__ import annotations

from decimal import Decimal

import pytest

from zkmargin.margin.engine import (
    compute_margin,
    format_e32,
    margin_ratio,
    report_to_json,
)
from zkmargin.margin.isolated import compute_isolated_margin, isolated_report_to_json
from zkmargin.margin.models import (
    Account,
    AssetQuote,
    Collateral,
    InstrumentQuote,
    Position,
    Snapshot,
)
from zkmargin.margin.portfolio import compute_portfolio_margin, portfolio_report_to_json
from zkmargin.margin.samples import sample_account, sample_snapshot
from zkmargin.margin.tiered import compute_tiered_margin, tiered_report_to_json

E8 = 10**8


def snapshot(mark=100, rate="0.1", size=1, price=1, haircut=0):
    return Snapshot("s", "v", "2026-11-24T00:00:00Z",
                    (AssetQuote("USD", price * E8, int(Decimal(haircut) * E8)),),
                    (InstrumentQuote("X", mark * E8, int(Decimal(rate) * E8), size * E8),))


def test_hand_checked_example():
    # 1000 USD at a 10% haircut = 900; long 2 @ 90, mark 100, size 1: upnl 20; maintenance 2*100*0.1 = 20.
    account = Account("a", (Collateral("USD", 1000 * E8),), (Position("X", 2 * E8, 90 * E8),))
    report = report_to_json(compute_margin(account, snapshot(haircut="0.1")))
    assert (report["equity"], report["maintenance"], report["excess"]) == ("920", "20", "900")
    assert report["margin_ratio"] == "0.02173914"  # 20 / 920 = 0.0217391304..., rounded up


def test_equality_is_healthy_and_one_unit_below_is_not():
    at = Account("a", (Collateral("USD", 10 * E8),), (Position("X", E8, 100 * E8),))
    below = Account("a", (Collateral("USD", 10 * E8 - 1),), (Position("X", E8, 100 * E8),))
    assert compute_margin(at, snapshot()).healthy
    report = compute_margin(below, snapshot())
    assert not report.healthy and report.status == "margin_call"
    assert format_e32(report.excess_e32) == "-0.00000001"


def test_short_positions_gain_when_the_mark_falls():
    account = Account("a", (), (Position("X", -3 * E8, 110 * E8),))
    report = compute_margin(account, snapshot(rate="0"))
    assert format_e32(report.equity_e32) == "30"


def test_empty_account():
    report = compute_margin(Account("a", (), ()), snapshot())
    assert report.healthy and report.equity_e32 == 0 and report.margin_ratio is None


def test_ratio_rounds_up_and_is_absent_without_equity():
    assert margin_ratio(1, 3) == Decimal("0.33333334")
    assert margin_ratio(2, 4) == Decimal("0.5")
    assert margin_ratio(5, 0) is None and margin_ratio(5, -1) is None


def test_samples():
    snap = sample_snapshot()
    assert compute_margin(sample_account("healthy"), snap).healthy
    assert not compute_margin(sample_account("margin_call"), snap).healthy


@pytest.mark.parametrize("model", ["cross", "isolated", "tiered", "portfolio"])
def test_every_model_reports_the_same_summary_with_its_margin_ratio(model):
    compute, to_json = {
        "cross": (compute_margin, report_to_json),
        "isolated": (compute_isolated_margin, isolated_report_to_json),
        "tiered": (compute_tiered_margin, tiered_report_to_json),
        "portfolio": (compute_portfolio_margin, portfolio_report_to_json),
    }[model]
    report = to_json(compute(sample_account("healthy"), sample_snapshot()))
    assert report["model"] == model and report["status"] == "healthy"
    equity, maintenance = Decimal(report["equity"]), Decimal(report["maintenance"])
    assert Decimal(report["excess"]) == equity - maintenance
    ratio = Decimal(report["margin_ratio"])
    # Rounded up to 8 places: never below the exact ratio, less than 1e-8 above it.
    assert ratio * equity >= maintenance > (ratio - Decimal("1e-8")) * equity
