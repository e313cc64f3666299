"""Reference cross-margin engine: exact integers, the arithmetic every circuit must reproduce.

All money figures are integers at scale 1e32 (suffix _e32): a product of four
scale-1e8 quantities, so nothing is ever rounded:
  collateral_value_k = amount_k * price_k * (1e8 - haircut_k) * 1e8
  upnl_i             = q_i * (mark_i - entry_i) * contract_size_i * 1e8
  maintenance_i      = |q_i| * mark_i * contract_size_i * maintenance_rate_i
  equity = sum collateral_value + sum upnl;  maintenance = sum maintenance_i
  healthy  <=>  equity >= maintenance  (equity == maintenance is healthy)
Rounding rule, stated once: the only rounded figure is the margin ratio
maintenance / equity, rounded UP (towards the margin call) to 8 decimal places;
it is absent when equity <= 0. Every other figure is reported exactly.
Bounds (from the format ranges): each term is below 2^218 in absolute value.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from zkmargin.margin.fixed_point import SCALE_E8, format_e8, format_scaled
from zkmargin.margin.models import (
    Account,
    Snapshot,
    reject_isolated,
    validate_account_against_snapshot,
)

VALUE_DECIMALS = 32
RATIO_DECIMALS = 8


@dataclass(frozen=True)
class PositionReport:
    """One position's contributions."""

    instrument: str
    quantity_e8: int
    notional_e32: int
    upnl_e32: int
    maintenance_e32: int


@dataclass(frozen=True)
class CollateralReport:
    """One collateral balance's value after haircut."""

    asset: str
    amount_e8: int
    value_e32: int


class HealthStatus:
    """The status word shared by every model's report (subclasses define healthy)."""

    healthy: bool

    @property
    def status(self) -> str:
        """'healthy' or 'margin_call'."""
        return "healthy" if self.healthy else "margin_call"


@dataclass(frozen=True)
class MarginReport(HealthStatus):
    """Equity, maintenance and status of one account under one snapshot."""

    equity_e32: int
    maintenance_e32: int
    excess_e32: int
    healthy: bool
    margin_ratio: Decimal | None
    positions: tuple[PositionReport, ...]
    collateral: tuple[CollateralReport, ...]



def collateral_value_e32(amount_e8: int, price_e8: int, haircut_e8: int) -> int:
    """amount * price * (1 - haircut) at scale 1e32."""
    return amount_e8 * price_e8 * (SCALE_E8 - haircut_e8) * SCALE_E8


def pooled_collateral_e32(account: Account, snapshot: Snapshot) -> int:
    """Sum of the account's collateral values after haircut, at scale 1e32."""
    assets = {a.asset: a for a in snapshot.assets}
    return sum(collateral_value_e32(c.amount_e8, assets[c.asset].price_e8, assets[c.asset].haircut_e8)
               for c in account.collateral)


def upnl_e32(quantity_e8: int, mark_e8: int, entry_e8: int, contract_size_e8: int) -> int:
    """q * (mark - entry) * contract_size at scale 1e32."""
    return quantity_e8 * (mark_e8 - entry_e8) * contract_size_e8 * SCALE_E8


def maintenance_e32(quantity_e8: int, mark_e8: int, contract_size_e8: int, rate_e8: int) -> int:
    """|q| * mark * contract_size * maintenance_rate at scale 1e32."""
    return abs(quantity_e8) * mark_e8 * contract_size_e8 * rate_e8


def margin_ratio(maintenance: int, equity: int) -> Decimal | None:
    """maintenance / equity rounded up to 8 decimal places; None when equity <= 0."""
    if equity <= 0:
        return None
    numerator = maintenance * 10**RATIO_DECIMALS
    ceiling = -(-numerator // equity)
    with localcontext() as ctx:
        ctx.prec = 200
        return Decimal(ceiling).scaleb(-RATIO_DECIMALS)


def compute_margin(account: Account, snapshot: Snapshot) -> MarginReport:
    """Cross-margin report of account under snapshot (unknown assets or instruments are errors)."""
    validate_account_against_snapshot(account, snapshot)
    reject_isolated(account, "cross")
    assets = {a.asset: a for a in snapshot.assets}
    instruments = {q.instrument: q for q in snapshot.instruments}
    collateral = []
    for c in account.collateral:
        quote = assets[c.asset]
        collateral.append(CollateralReport(c.asset, c.amount_e8, collateral_value_e32(c.amount_e8, quote.price_e8, quote.haircut_e8)))
    positions = []
    for p in account.positions:
        q = instruments[p.instrument]
        positions.append(PositionReport(
            p.instrument,
            p.quantity_e8,
            abs(p.quantity_e8) * q.mark_price_e8 * q.contract_size_e8 * SCALE_E8,
            upnl_e32(p.quantity_e8, q.mark_price_e8, p.entry_price_e8, q.contract_size_e8),
            maintenance_e32(p.quantity_e8, q.mark_price_e8, q.contract_size_e8, q.maintenance_rate_e8),
        ))
    equity = sum(c.value_e32 for c in collateral) + sum(p.upnl_e32 for p in positions)
    maintenance = sum(p.maintenance_e32 for p in positions)
    return MarginReport(
        equity_e32=equity,
        maintenance_e32=maintenance,
        excess_e32=equity - maintenance,
        healthy=equity >= maintenance,
        margin_ratio=margin_ratio(maintenance, equity),
        positions=tuple(positions),
        collateral=tuple(collateral),
    )


def format_e32(value_e32: int) -> str:
    """Exact decimal text of a scale-1e32 figure."""
    return format_scaled(value_e32, VALUE_DECIMALS)


def summary_to_json(model: str, report: HealthStatus, equity_e32: int, maintenance_e32: int) -> dict:
    """The head every model's report shares: exact decimal strings; the ratio is the only rounded figure."""
    ratio = margin_ratio(maintenance_e32, equity_e32)
    return {
        "model": model,
        "status": report.status,
        "healthy": report.healthy,
        "equity": format_e32(equity_e32),
        "maintenance": format_e32(maintenance_e32),
        "excess": format_e32(equity_e32 - maintenance_e32),
        "margin_ratio": None if ratio is None else format(ratio, "f"),
    }


def report_to_json(report: MarginReport) -> dict:
    """The cross-margin report with exact decimal strings."""
    return {
        **summary_to_json("cross", report, report.equity_e32, report.maintenance_e32),
        "positions": [
            {
                "instrument": p.instrument,
                "quantity": format_e8(p.quantity_e8),
                "notional": format_e32(p.notional_e32),
                "upnl": format_e32(p.upnl_e32),
                "maintenance": format_e32(p.maintenance_e32),
            }
            for p in report.positions
        ],
        "collateral": [
            {"asset": c.asset, "amount": format_e8(c.amount_e8), "value": format_e32(c.value_e32)}
            for c in report.collateral
        ],
    }
