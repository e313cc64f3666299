"""Shared builders for the circuit tests: snapshots and accounts with numbered names, circuits by capacity."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from zkmargin.circuits.circuit import Circuit
from zkmargin.circuits.cross import CrossStatement
from zkmargin.circuits.isolated import IsolatedStatement
from zkmargin.margin.black76 import black76_price
from zkmargin.margin.models import Account, AssetQuote, Collateral, InstrumentQuote, Position, RiskParams, Snapshot

E8 = 10**8
MAX64 = 2**64 - 1
# An index future and two options on it, with SPAN-style risk parameters (portfolio margin).
FUTURE = InstrumentQuote("ES-DEC26", 5000 * E8, 0, 50 * E8,
                         risk=RiskParams("future", 5000 * E8, E8 // 20, E8 // 20, 2 * E8, 35 * E8 // 100))
CALL = InstrumentQuote("ES-C5100", int(Decimal(str(round(black76_price("call", 5000, 5100, 0.25, 0.04, 0.2), 8))) * E8),
                       0, 50 * E8,
                       risk=RiskParams("call", 5000 * E8, E8 // 20, E8 // 20, 2 * E8, 35 * E8 // 100,
                                       5100 * E8, E8 // 5, E8 // 4, 4 * E8 // 100, 10 * E8))
PUT = InstrumentQuote("ES-P4900", int(Decimal(str(round(black76_price("put", 5000, 4900, 0.25, 0.04, 0.2), 8))) * E8),
                      0, 50 * E8,
                      risk=RiskParams("put", 5000 * E8, E8 // 20, E8 // 20, 2 * E8, 35 * E8 // 100,
                                      4900 * E8, E8 // 5, E8 // 4, 4 * E8 // 100, 10 * E8))


def make_snapshot(instruments, assets) -> Snapshot:
    """instruments: [(mark_e8, rate_e8, size_e8)], assets: [(price_e8, haircut_e8)]."""
    return Snapshot(
        snapshot_id="snap",
        venue="test",
        timestamp="2026-11-24T00:00:00Z",
        assets=tuple(AssetQuote(f"A{j}", p, h) for j, (p, h) in enumerate(assets)),
        instruments=tuple(InstrumentQuote(f"I{i}", m, r, s) for i, (m, r, s) in enumerate(instruments)),
    )


def make_account(positions, collateral) -> Account:
    """positions: {index: (q_e8, entry_e8)}, collateral: {index: amount_e8}."""
    return Account(
        account_id="acct",
        collateral=tuple(Collateral(f"A{j}", a) for j, a in collateral.items()),
        positions=tuple(Position(f"I{i}", q, e) for i, (q, e) in positions.items()),
    )


def cross_circuit(n_positions: int, n_collateral: int) -> Circuit[Any]:
    """The cross statement at this capacity."""
    return Circuit(CrossStatement(n_positions, n_collateral))


def isolated_circuit(n_positions: int, n_collateral: int) -> Circuit[Any]:
    """The isolated statement at this capacity."""
    return Circuit(IsolatedStatement(n_positions, n_collateral))
