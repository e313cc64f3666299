"""Reference isolated-margin engine (exact integers, scale 1e32, as in engine.py).

Each isolated position i is checked alone against its own allocated collateral:
  allocated_value_i + upnl_i >= maintenance_i,
  allocated_value_i = amount_i * price * (1 - haircut) of the allocation's asset;
the other positions form one cross pool with the account's collateral:
  sum collateral_value + sum_{cross} upnl >= sum_{cross} maintenance.
The account is healthy when every isolated position and the pool pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from zkmargin.margin.engine import (
    HealthStatus,
    collateral_value_e32,
    format_e32,
    maintenance_e32,
    pooled_collateral_e32,
    summary_to_json,
    upnl_e32,
)
from zkmargin.margin.models import Account, Snapshot, validate_account_against_snapshot


@dataclass(frozen=True)
class IsolatedCheck:
    """One isolated position's own test."""

    instrument: str
    allocated_value_e32: int
    upnl_e32: int
    maintenance_e32: int

    @property
    def excess_e32(self) -> int:
        """Allocated value + upnl - maintenance."""
        return self.allocated_value_e32 + self.upnl_e32 - self.maintenance_e32


@dataclass(frozen=True)
class PooledPosition:
    """A position in the cross pool: its upnl and maintenance count towards the pool's."""

    instrument: str
    upnl_e32: int
    maintenance_e32: int


@dataclass(frozen=True)
class IsolatedReport(HealthStatus):
    """The pool and every isolated position."""

    pool_equity_e32: int
    pool_maintenance_e32: int
    isolated: tuple[IsolatedCheck, ...]
    pooled: tuple[PooledPosition, ...] = ()
    order: tuple[str, ...] = ()
    """Instruments in the account's order (reports list positions in it)."""

    @property
    def healthy(self) -> bool:  # type: ignore[override]
        """Every check passes (equality passes)."""
        return self.pool_equity_e32 >= self.pool_maintenance_e32 and all(c.excess_e32 >= 0 for c in self.isolated)


    @property
    def equity_e32(self) -> int:
        """Pool equity plus every isolated position's allocation and upnl (for messages)."""
        return self.pool_equity_e32 + sum(c.allocated_value_e32 + c.upnl_e32 for c in self.isolated)

    @property
    def maintenance_e32(self) -> int:
        """All maintenance (for messages)."""
        return self.pool_maintenance_e32 + sum(c.maintenance_e32 for c in self.isolated)

    def first_failure(self) -> str | None:
        """A sentence naming the first failing check, or None."""
        for check in self.isolated:
            if check.excess_e32 < 0:
                return (f"isolated position {check.instrument}: allocated {format_e32(check.allocated_value_e32)} + "
                        f"upnl {format_e32(check.upnl_e32)} < maintenance {format_e32(check.maintenance_e32)}")
        if self.pool_equity_e32 < self.pool_maintenance_e32:
            return (f"cross pool: equity {format_e32(self.pool_equity_e32)} < "
                    f"maintenance {format_e32(self.pool_maintenance_e32)}")
        return None


def compute_isolated_margin(account: Account, snapshot: Snapshot) -> IsolatedReport:
    """Isolated-margin report of account under snapshot."""
    validate_account_against_snapshot(account, snapshot)
    assets = {a.asset: a for a in snapshot.assets}
    instruments = {q.instrument: q for q in snapshot.instruments}
    pool_equity = pooled_collateral_e32(account, snapshot)
    pool_maintenance = 0
    checks = []
    pooled = []
    for p in account.positions:
        q = instruments[p.instrument]
        upnl = upnl_e32(p.quantity_e8, q.mark_price_e8, p.entry_price_e8, q.contract_size_e8)
        maint = maintenance_e32(p.quantity_e8, q.mark_price_e8, q.contract_size_e8, q.maintenance_rate_e8)
        if p.is_isolated:
            quote = assets[p.isolated_asset or ""]
            value = collateral_value_e32(p.isolated_amount_e8, quote.price_e8, quote.haircut_e8)
            checks.append(IsolatedCheck(p.instrument, value, upnl, maint))
        else:
            pool_equity += upnl
            pool_maintenance += maint
            pooled.append(PooledPosition(p.instrument, upnl, maint))
    return IsolatedReport(pool_equity, pool_maintenance, tuple(checks), tuple(pooled),
                          tuple(p.instrument for p in account.positions))


def isolated_report_to_json(report: IsolatedReport) -> dict:
    """Exact decimal strings; positions in the account's order, isolated or pooled."""
    entries = {
        c.instrument: {"instrument": c.instrument, "isolated": True,
                       "isolated_allocation": format_e32(c.allocated_value_e32), "upnl": format_e32(c.upnl_e32),
                       "maintenance": format_e32(c.maintenance_e32), "excess": format_e32(c.excess_e32)}
        for c in report.isolated
    }
    entries.update({
        p.instrument: {"instrument": p.instrument, "isolated": False, "upnl": format_e32(p.upnl_e32),
                       "maintenance": format_e32(p.maintenance_e32)}
        for p in report.pooled
    })
    return {
        **summary_to_json("isolated", report, report.equity_e32, report.maintenance_e32),
        "pool": {"equity": format_e32(report.pool_equity_e32), "maintenance": format_e32(report.pool_maintenance_e32)},
        "positions": [entries[instrument] for instrument in report.order or entries],
        "failure": report.first_failure(),
    }
