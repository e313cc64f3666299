"""Stress tests: one account under shocked prices, for any margin model, and its margin-call prices.

A shock moves one underlying by a relative amount (``BTC=-20%``). The underlying of
an asset or instrument is its name up to the first '-' (models.underlying_of), so
BTC=-20% moves the BTC collateral price, the BTC-PERP and BTC-DEC26 marks and the
underlying price of their portfolio risk parameters, all by the same factor.
Shocked prices are rounded DOWN to 1e-8; a published portfolio risk array is
dropped and regenerated from the shocked prices. Options (portfolio risk kind call/put)
move their mark (the premium) by the change of their Black-76 value. What a
shock does not move: entry prices, haircuts, rates, tiers and the published
VaR / ES scenario vectors (they are P&L per contract from history, not a
function of today's price).

The margin-call move of an underlying, holding every other price fixed, is found
by scanning 1% steps from today's price (down to -100%, up to +100%, then 10%
steps up to +MAX_UP_E8) and
then bisecting on integer moves of 1e-8 to the first move at which the model
reports a margin call. Health need not be monotone in the price (options,
mixed books): the search reports the NEAREST call below and above today's price.
An account already under margin call has no call price: the same search then
reports the nearest moves below and above at which it is healthy again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import cast

from zkmargin.errors import FormatError
from zkmargin.margin.black76 import OptionKind, black76_price
from zkmargin.margin.engine import margin_ratio
from zkmargin.margin.fixed_point import SCALE_E8, format_e8, parse_e8
from zkmargin.margin.models import UNSIGNED_MAX_E8, Account, InstrumentQuote, RiskParams, Snapshot, underlying_of
from zkmargin.margin.registry import evaluate

MAX_UP_E8 = 10 * SCALE_E8
"""The search for a margin call above today's price stops at +1000%."""
SCAN_STEP_E8 = SCALE_E8 // 100
MAX_GRID_POINTS = 2001


def parse_move(text: str, field: str) -> int:
    """'-20%', '+5.5%' or '-0.2' as a relative move at scale 1e8, at least -100%."""
    body = text.strip()
    percent = body.endswith("%")
    body = body[:-1] if percent else body
    body = body[1:] if body.startswith("+") else body
    value = parse_e8(body, field, -(2**63), 2**63 - 1)
    if percent:
        if value % 100:
            raise FormatError(f"{field}: {text!r} has more than 6 decimal places of a percent")
        value //= 100
    if value < -SCALE_E8:
        raise FormatError(f"{field}: {text!r} is below -100%")
    return value


def parse_shock(text: str) -> tuple[str, int]:
    """'BTC=-20%' as (underlying, move_e8)."""
    name, sep, move = text.partition("=")
    if not sep or not name.strip():
        raise FormatError(f"shock {text!r}: expected UNDERLYING=MOVE, e.g. BTC=-20%")
    return name.strip(), parse_move(move, f"shock {name.strip()}")


def parse_grid(text: str) -> tuple[str, tuple[int, ...]]:
    """'BTC=-50%:+50%:5%' as (underlying, moves from start to stop inclusive by step)."""
    name, sep, spec = text.partition("=")
    parts = spec.split(":")
    if not sep or not name.strip() or len(parts) != 3:
        raise FormatError(f"grid {text!r}: expected UNDERLYING=START:STOP:STEP, e.g. BTC=-50%:+50%:5%")
    name = name.strip()
    start, stop, step = (parse_move(p, f"grid {name}") for p in parts)
    if step <= 0 or stop < start:
        raise FormatError(f"grid {text!r}: STEP must be positive and STOP at least START")
    count = (stop - start) // step + 1
    if count > MAX_GRID_POINTS:
        raise FormatError(f"grid {text!r}: {count} points, at most {MAX_GRID_POINTS}")
    return name, tuple(start + i * step for i in range(count))


def snapshot_underlyings(snapshot: Snapshot) -> list[str]:
    """Every underlying a shock may name, in snapshot order."""
    names = [underlying_of(a.asset) for a in snapshot.assets] + [underlying_of(q.instrument) for q in snapshot.instruments]
    return list(dict.fromkeys(names))


def account_underlyings(account: Account) -> list[str]:
    """The underlyings the account is exposed to (positions first, then collateral)."""
    names = [underlying_of(p.instrument) for p in account.positions] + [underlying_of(c.asset) for c in account.collateral]
    return list(dict.fromkeys(names))


def check_underlyings(snapshot: Snapshot, names: Sequence[str]) -> None:
    """FormatError naming the first shock on an underlying the snapshot does not list."""
    known = snapshot_underlyings(snapshot)
    for name in names:
        if name not in known:
            raise FormatError(f"shock on unknown underlying {name!r}; snapshot {snapshot.snapshot_id!r} lists "
                              f"{', '.join(known)}")


def _moved(price_e8: int, move_e8: int, what: str) -> int:
    moved = price_e8 * (SCALE_E8 + move_e8) // SCALE_E8
    if moved > UNSIGNED_MAX_E8:
        raise FormatError(f"{what}: the shocked price exceeds the format's range")
    return moved


def _shock_instrument(quote: InstrumentQuote, move_e8: int) -> InstrumentQuote:
    mark = _moved(quote.mark_price_e8, move_e8, quote.instrument)
    risk = quote.risk
    if risk is not None:
        underlying = _moved(risk.underlying_price_e8, move_e8, quote.instrument)
        if risk.kind in ("call", "put"):
            change = _option_value(risk, underlying) - _option_value(risk, risk.underlying_price_e8)
            mark = max(0, quote.mark_price_e8 + int(change * SCALE_E8))
        risk = replace(risk, underlying_price_e8=underlying)
    # A published portfolio risk array belongs to today's prices: the shocked state regenerates it.
    return replace(quote, mark_price_e8=mark, risk=risk, risk_array_e8=())


def _option_value(risk: RiskParams, underlying_e8: int) -> float:
    """Black-76 value of one option at the snapshot's implied vol (intrinsic value at a zero underlying)."""
    strike = risk.strike_e8 / SCALE_E8
    if underlying_e8 <= 0:
        return strike if risk.kind == "put" else 0.0
    return black76_price(cast(OptionKind, risk.kind), underlying_e8 / SCALE_E8, strike, risk.years_to_expiry_e8 / SCALE_E8,
                         risk.rate_e8 / SCALE_E8, risk.implied_vol_e8 / SCALE_E8)


def apply_shocks(snapshot: Snapshot, shocks: Mapping[str, int]) -> Snapshot:
    """The snapshot with every listed underlying moved by its relative move (scale 1e8)."""
    check_underlyings(snapshot, list(shocks))
    assets = tuple(
        replace(a, price_e8=_moved(a.price_e8, shocks[underlying_of(a.asset)], a.asset))
        if underlying_of(a.asset) in shocks else a for a in snapshot.assets)
    instruments = tuple(
        _shock_instrument(q, shocks[underlying_of(q.instrument)]) if underlying_of(q.instrument) in shocks else q
        for q in snapshot.instruments)
    return replace(snapshot, assets=assets, instruments=instruments)


def reference_price_e8(snapshot: Snapshot, underlying: str) -> int:
    """The price a move is quoted against: the asset's price if listed, else the first instrument's mark."""
    for a in snapshot.assets:
        if underlying_of(a.asset) == underlying:
            return a.price_e8
    for q in snapshot.instruments:
        if underlying_of(q.instrument) == underlying:
            return q.mark_price_e8
    raise FormatError(f"unknown underlying {underlying!r}")


@dataclass(frozen=True)
class StressPoint:
    """One shocked state: the moves applied and the model's figures."""

    shocks_e8: tuple[tuple[str, int], ...]
    equity_e32: int
    requirement_e32: int
    healthy: bool

    @property
    def status(self) -> str:
        """'healthy' or 'margin_call'."""
        return "healthy" if self.healthy else "margin_call"


@dataclass(frozen=True)
class MarginCallPrice:
    """The nearest margin call below and above today's price of one underlying (None: none in range).

    When the account is under margin call at the starting prices (in_call_now), there is no call to
    find: move_down_e8 and move_up_e8 are None and restore_down_e8 / restore_up_e8 are the nearest
    moves at which it is healthy again (None: no move of this underlying alone restores it).
    """

    underlying: str
    price_e8: int
    move_down_e8: int | None
    move_up_e8: int | None
    in_call_now: bool = False
    restore_down_e8: int | None = None
    restore_up_e8: int | None = None

    def price_at(self, move_e8: int | None) -> int | None:
        """The underlying's reference price after a move."""
        return None if move_e8 is None else self.price_e8 * (SCALE_E8 + move_e8) // SCALE_E8


@dataclass(frozen=True)
class StressReport:
    """Base state, every requested point, grid series and margin-call prices."""

    model: str
    base: StressPoint
    points: tuple[StressPoint, ...]
    grids: tuple[tuple[str, tuple[StressPoint, ...]], ...]
    margin_calls: tuple[MarginCallPrice, ...]


def stress_point(model: str, account: Account, snapshot: Snapshot, shocks: Mapping[str, int]) -> StressPoint:
    """The model's figures for the account after the shocks."""
    result = evaluate(model, account, apply_shocks(snapshot, shocks), with_json=False)
    return StressPoint(tuple(shocks.items()), result.equity_e32, result.requirement_e32, result.healthy)


def margin_call_price(model: str, account: Account, snapshot: Snapshot, underlying: str,
                      base_shocks: Mapping[str, int] | None = None) -> MarginCallPrice:
    """Nearest margin-call moves of one underlying, others held at base_shocks."""
    base = dict(base_shocks or {})
    start = base.pop(underlying, 0)

    def healthy(move: int) -> bool:
        return stress_point(model, account, snapshot, {**base, underlying: move}).healthy

    price = reference_price_e8(apply_shocks(snapshot, base), underlying)
    if not healthy(start):
        # Moves are relative to today's price; the price field is the shocked one, so restore moves stay in
        # the same frame as call moves: from start, the first move at which the account is healthy again.
        def in_call(move: int) -> bool:
            return not healthy(move)

        return MarginCallPrice(underlying, price, None, None, True,
                               _first_call(in_call, start, -SCALE_E8), _first_call(in_call, start, MAX_UP_E8))
    return MarginCallPrice(underlying, price, _first_call(healthy, start, -SCALE_E8), _first_call(healthy, start, MAX_UP_E8))


def _first_call(healthy: Callable[[int], bool], start: int, limit: int) -> int | None:
    """First move from start towards limit (1% scan, then 1e-8 bisection) at which healthy(move) is False."""
    direction = 1 if limit > start else -1
    last_ok = start
    move = start
    while move != limit:
        # 1% steps within +-100% of today's price, 10% steps beyond (only upward moves go there).
        step = SCAN_STEP_E8 if abs(move) < SCALE_E8 else 10 * SCAN_STEP_E8
        move = min(move + step, limit) if direction > 0 else max(move - step, limit)
        if not healthy(move):
            bad = move
            while abs(bad - last_ok) > 1:
                middle = (bad + last_ok) // 2
                if healthy(middle):
                    last_ok = middle
                else:
                    bad = middle
            return bad
        last_ok = move
    return None


def run_stress(model: str, account: Account, snapshot: Snapshot, shocks: Sequence[tuple[str, int]],
               grids: Sequence[tuple[str, Sequence[int]]], margin_calls: bool = True) -> StressReport:
    """Base state, the combined shocks (one point), each grid on top of them, and margin-call prices."""
    combined = dict(shocks)
    check_underlyings(snapshot, [*combined, *(name for name, _ in grids)])
    base = stress_point(model, account, snapshot, {})
    points = (stress_point(model, account, snapshot, combined),) if combined else ()
    series = tuple(
        (name, tuple(stress_point(model, account, snapshot, {**combined, name: move}) for move in moves))
        for name, moves in grids)
    calls = tuple(margin_call_price(model, account, snapshot, name, combined)
                  for name in account_underlyings(account)) if margin_calls else ()
    return StressReport(model, base, points, series, calls)


def _point_to_json(point: StressPoint) -> dict:
    from zkmargin.margin.engine import format_e32

    ratio = margin_ratio(point.requirement_e32, point.equity_e32)
    return {
        "shocks": {name: format_e8(move) for name, move in point.shocks_e8},
        "equity": format_e32(point.equity_e32),
        "requirement": format_e32(point.requirement_e32),
        "margin_ratio": None if ratio is None else format(ratio, "f"),
        "status": point.status,
    }


def _move_to_json(call: MarginCallPrice, move_e8: int | None) -> dict | None:
    return None if move_e8 is None else {"move": format_e8(move_e8), "price": format_e8(call.price_at(move_e8) or 0)}


def stress_to_json(report: StressReport) -> dict:
    """Exact decimal strings; moves are fractions (-0.2 is -20%)."""
    return {
        "model": report.model,
        "under_margin_call": not report.base.healthy,
        "base": _point_to_json(report.base),
        "points": [_point_to_json(p) for p in report.points],
        "grids": [{"underlying": name, "points": [_point_to_json(p) for p in points]} for name, points in report.grids],
        "margin_call_prices": [
            {"underlying": c.underlying, "price": format_e8(c.price_e8), "in_call_now": c.in_call_now,
             "below": _move_to_json(c, c.move_down_e8), "above": _move_to_json(c, c.move_up_e8),
             "restore_below": _move_to_json(c, c.restore_down_e8), "restore_above": _move_to_json(c, c.restore_up_e8)}
            for c in report.margin_calls
        ],
    }

