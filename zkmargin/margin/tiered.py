"""Reference tiered-maintenance engine: notional brackets with a maintenance amount.

For position i with notional_i = |q_i| * mark_i * contract_size_i, the bracket b
with floor_b <= notional_i < cap_b gives
  maintenance_i = notional_i * rate_b - amount_b
(the form crypto futures venues publish). Equity is the cross pool's:
collateral after haircuts plus unrealised PnL. Exact integers at scale 1e32:
notional is at scale 1e24, so floors and caps (scale 1e8) compare after * 1e16,
and amounts (scale 1e8) enter as amount * 1e24. An instrument without tiers has
one bracket [0, 2^64 - 1) at its maintenance_rate with no amount.
"""

from __future__ import annotations

from dataclasses import dataclass

from zkmargin.errors import FormatError
from zkmargin.margin.engine import (
    HealthStatus,
    format_e32,
    pooled_collateral_e32,
    summary_to_json,
    upnl_e32,
)
from zkmargin.margin.models import (
    UNSIGNED_MAX_E8,
    Account,
    InstrumentQuote,
    Snapshot,
    Tier,
    reject_isolated,
    validate_account_against_snapshot,
)

NOTIONAL_TO_E24 = 10**16
AMOUNT_TO_E32 = 10**24


def effective_tiers(quote: InstrumentQuote) -> tuple[Tier, ...]:
    """The instrument's brackets, or a single bracket at its flat maintenance rate."""
    return quote.tiers or (Tier(0, UNSIGNED_MAX_E8, quote.maintenance_rate_e8, 0),)


def select_tier(notional_e24: int, tiers: tuple[Tier, ...], instrument: str = "position") -> int:
    """Index of the bracket holding the notional; raises (naming instrument, notional and cap) above the last cap."""
    for b, tier in enumerate(tiers):
        if tier.notional_floor_e8 * NOTIONAL_TO_E24 <= notional_e24 < tier.notional_cap_e8 * NOTIONAL_TO_E24:
            return b
    raise FormatError(f"{instrument}: position notional {format_e32(notional_e24 * 10**8)} is above the last "
                      f"bracket's cap {format_e32(tiers[-1].notional_cap_e8 * 10**24)}")


@dataclass(frozen=True)
class TieredPosition:
    """One position's bracket and figures."""

    instrument: str
    notional_e24: int
    tier: int
    upnl_e32: int
    maintenance_e32: int


@dataclass(frozen=True)
class TieredReport(HealthStatus):
    """Equity and bracketed maintenance."""

    equity_e32: int
    maintenance_e32: int
    positions: tuple[TieredPosition, ...]

    @property
    def healthy(self) -> bool:  # type: ignore[override]
        """equity >= maintenance."""
        return self.equity_e32 >= self.maintenance_e32



def compute_tiered_margin(account: Account, snapshot: Snapshot) -> TieredReport:
    """Tiered-maintenance report of account under snapshot."""
    validate_account_against_snapshot(account, snapshot)
    reject_isolated(account, "tiered")
    instruments = {q.instrument: q for q in snapshot.instruments}
    equity = pooled_collateral_e32(account, snapshot)
    positions = []
    for p in account.positions:
        quote = instruments[p.instrument]
        tiers = effective_tiers(quote)
        notional = abs(p.quantity_e8) * quote.mark_price_e8 * quote.contract_size_e8
        b = select_tier(notional, tiers, p.instrument)
        maintenance = notional * tiers[b].maintenance_rate_e8 - tiers[b].maintenance_amount_e8 * AMOUNT_TO_E32
        upnl = upnl_e32(p.quantity_e8, quote.mark_price_e8, p.entry_price_e8, quote.contract_size_e8)
        equity += upnl
        positions.append(TieredPosition(p.instrument, notional, b, upnl, maintenance))
    return TieredReport(equity, sum(p.maintenance_e32 for p in positions), tuple(positions))


def tiered_report_to_json(report: TieredReport) -> dict:
    """Exact decimal strings."""
    return {
        **summary_to_json("tiered", report, report.equity_e32, report.maintenance_e32),
        "positions": [
            {"instrument": p.instrument, "tier": p.tier, "notional": format_e32(p.notional_e24 * 10**8),
             "upnl": format_e32(p.upnl_e32), "maintenance": format_e32(p.maintenance_e32)}
            for p in report.positions
        ],
    }
