"""Liquidation cascade: a venue-side what-if over a population of accounts, vectorised with numpy.

The rule, stated once:
  0. The shock moves every price of the named underlyings (models.underlying_of:
     the collateral asset and every instrument of BTC for BTC=-20%).
  1. Each round, every account still open is valued under CROSS margin at the
     current prices (equity = collateral after haircuts + sum q (mark - entry) size;
     maintenance = sum |q| mark size rate). Accounts with equity < maintenance are
     liquidated: all their positions are closed at the current mark, and they leave
     the population (their collateral is not sold).
  2. Linear price impact per underlying: closing sells the longs and buys back the
     shorts, so the net notional sold on underlying u is
        sold_u = sum over liquidated accounts and u's instruments of q * mark * size,
     and every price of u moves by  -sold_u / depth_u  percent, where depth_u is the
     notional whose sale moves u by 1% (the liquidity parameter; by default the
     population's gross open notional of u, so selling 1% of the open interest
     moves the price by 1%). A move is clamped at -99% per round.
  3. Repeat until a round liquidates nobody (or MAX_ROUNDS).
This is a simulation, not a margin determination: it runs in float64 (about 16
significant digits), unlike the exact integer engines that proofs follow.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from zkmargin.errors import FormatError
from zkmargin.margin.models import Account, Snapshot, reject_isolated, underlying_of, validate_account_against_snapshot

E8 = 1e8
MAX_ROUNDS = 1000
MAX_ROUND_MOVE = -0.99
PROGRESS_EVERY = 1000
"""Long loops over accounts report progress(done, total) every this many accounts (and once at the end)."""

Progress = Callable[[int, int], None]


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
        progress(done, total)


@dataclass
class Population:
    """Accounts as dense arrays in the snapshot's slot order (float64, units not scaled)."""

    account_ids: list[str]
    quantities: np.ndarray
    """(accounts, instruments) signed contracts."""
    entry_prices: np.ndarray
    """(accounts, instruments)."""
    amounts: np.ndarray
    """(accounts, assets)."""


def population_from_accounts(accounts: Sequence[Account], snapshot: Snapshot, progress: Progress | None = None,
                             ) -> Population:
    """Dense arrays of the accounts; every asset and instrument must be listed in the snapshot."""
    instrument_index = {q.instrument: i for i, q in enumerate(snapshot.instruments)}
    asset_index = {a.asset: j for j, a in enumerate(snapshot.assets)}
    count = len(accounts)
    quantities = np.zeros((count, len(instrument_index)))
    entries = np.zeros((count, len(instrument_index)))
    amounts = np.zeros((count, len(asset_index)))
    for row, account in enumerate(accounts):
        try:
            validate_account_against_snapshot(account, snapshot)
            reject_isolated(account, "cascade (cross)")
        except FormatError as exc:
            raise FormatError(f"account {account.account_id!r}: {exc}") from None
        for p in account.positions:
            quantities[row, instrument_index[p.instrument]] = p.quantity_e8 / E8
            entries[row, instrument_index[p.instrument]] = p.entry_price_e8 / E8
        for c in account.collateral:
            amounts[row, asset_index[c.asset]] = c.amount_e8 / E8
        _report(progress, row + 1, count)
    return Population([a.account_id for a in accounts], quantities, entries, amounts)


@dataclass(frozen=True)
class CascadeRound:
    """One round: who was liquidated at which prices, and the prices after their impact."""

    round: int
    accounts_liquidated: int
    notional_liquidated: float
    """Gross notional closed, sum |q| mark size at the round's prices."""
    net_sold: dict[str, float]
    prices_after: dict[str, float]


@dataclass(frozen=True)
class CascadeReport:
    """The whole simulation: prices before and after the shock, every round, totals."""

    accounts: int
    shocks: dict[str, float]
    depth: dict[str, float]
    prices_before: dict[str, float]
    prices_after_shock: dict[str, float]
    rounds: tuple[CascadeRound, ...]
    liquidated_ids: list[str] = field(repr=False)
    reached_fixpoint: bool = True

    @property
    def accounts_liquidated(self) -> int:
        """Total over every round."""
        return sum(r.accounts_liquidated for r in self.rounds)

    @property
    def notional_liquidated(self) -> float:
        """Total over every round."""
        return sum(r.notional_liquidated for r in self.rounds)


class _Market:
    """Prices of one snapshot as arrays, moved per underlying."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.marks = np.array([q.mark_price_e8 / E8 for q in snapshot.instruments])
        self.sizes = np.array([q.contract_size_e8 / E8 for q in snapshot.instruments])
        self.rates = np.array([q.maintenance_rate_e8 / E8 for q in snapshot.instruments])
        self.asset_prices = np.array([a.price_e8 / E8 for a in snapshot.assets])
        self.haircuts = np.array([a.haircut_e8 / E8 for a in snapshot.assets])
        inst_u = [underlying_of(q.instrument) for q in snapshot.instruments]
        asset_u = [underlying_of(a.asset) for a in snapshot.assets]
        self.underlyings = list(dict.fromkeys(asset_u + inst_u))
        self.inst_of = {u: np.array([x == u for x in inst_u]) for u in self.underlyings}
        self.asset_of = {u: np.array([x == u for x in asset_u], dtype=bool) for u in self.underlyings}
        # The price a move is quoted against: the asset if listed, else the first instrument's mark.
        self._reference = {u: ("asset", int(np.argmax(self.asset_of[u]))) if self.asset_of[u].any()
                           else ("instrument", int(np.argmax(self.inst_of[u]))) for u in self.underlyings}

    def move(self, underlying: str, relative: float) -> None:
        self.marks[self.inst_of[underlying]] *= 1 + relative
        if self.asset_of[underlying].size:
            self.asset_prices[self.asset_of[underlying]] *= 1 + relative

    def prices(self) -> dict[str, float]:
        return {u: float(self.asset_prices[i] if kind == "asset" else self.marks[i])
                for u, (kind, i) in self._reference.items()}


def default_depth(population: Population, snapshot: Snapshot) -> dict[str, float]:
    """Per underlying, the population's gross open notional (so selling 1% of it moves the price 1%)."""
    market = _Market(snapshot)
    gross = np.abs(population.quantities).sum(axis=0) * market.marks * market.sizes
    return {u: float(gross[market.inst_of[u]].sum()) for u in market.underlyings}


def run_cascade(population: Population, snapshot: Snapshot, shocks: Mapping[str, int],
                depth: Mapping[str, float] | None = None, max_rounds: int = MAX_ROUNDS) -> CascadeReport:
    """Shock, then liquidate and move prices round by round until nobody new is liquidated."""
    market = _Market(snapshot)
    for name in shocks:
        if name not in market.underlyings:
            raise FormatError(f"shock on unknown underlying {name!r}; snapshot {snapshot.snapshot_id!r} lists "
                              f"{', '.join(market.underlyings)}")
    depths = {**default_depth(population, snapshot), **(depth or {})}
    for name, value in (depth or {}).items():
        if name not in market.underlyings:
            raise FormatError(f"depth for unknown underlying {name!r}")
        if not value > 0:
            raise FormatError(f"depth for {name} must be positive, got {value}")
    before = market.prices()
    for name, move_e8 in shocks.items():
        market.move(name, move_e8 / E8)
    after_shock = market.prices()
    q, entries = population.quantities, population.entry_prices
    collateral = population.amounts @ (market.asset_prices * (1 - market.haircuts)) if population.amounts.size else \
        np.zeros(len(q))
    open_accounts = np.ones(len(q), dtype=bool)
    liquidated: list[str] = []
    rounds: list[CascadeRound] = []
    abs_q = np.abs(q)
    fixpoint = False
    for number in range(1, max_rounds + 1):
        collateral = population.amounts @ (market.asset_prices * (1 - market.haircuts))
        equity = collateral + (q * (market.marks - entries)) @ market.sizes if q.size else collateral
        maintenance = abs_q @ (market.marks * market.sizes * market.rates) if q.size else np.zeros(len(q))
        newly = open_accounts & (equity < maintenance)
        count = int(newly.sum())
        if count == 0:
            fixpoint = True
            break
        open_accounts &= ~newly
        liquidated += [population.account_ids[i] for i in np.flatnonzero(newly)]
        closed_q = q[newly].sum(axis=0)
        notional = float((abs_q[newly].sum(axis=0) * market.marks * market.sizes).sum())
        sold = closed_q * market.marks * market.sizes
        net_sold = {u: float(sold[market.inst_of[u]].sum()) for u in market.underlyings if market.inst_of[u].any()}
        for u, amount in net_sold.items():
            if amount and depths.get(u, 0) > 0:
                market.move(u, max(MAX_ROUND_MOVE, -amount / depths[u] / 100))
        rounds.append(CascadeRound(number, count, notional, net_sold, market.prices()))
    return CascadeReport(len(q), {k: v / E8 for k, v in shocks.items()}, depths, before, after_shock, tuple(rounds),
                         liquidated, fixpoint)


def cascade_to_json(report: CascadeReport) -> dict:
    """Floats as JSON numbers (a simulation, not exact figures); the price path starts before the shock."""
    return {
        "accounts": report.accounts,
        "shocks": report.shocks,
        "depth": report.depth,
        "reached_fixpoint": report.reached_fixpoint,
        "accounts_liquidated": report.accounts_liquidated,
        "notional_liquidated": report.notional_liquidated,
        "price_path": [{"stage": "before shock", "prices": report.prices_before},
                       {"stage": "after shock", "prices": report.prices_after_shock}]
        + [{"stage": f"after round {r.round}", "prices": r.prices_after} for r in report.rounds],
        "rounds": [{"round": r.round, "accounts_liquidated": r.accounts_liquidated,
                    "notional_liquidated": r.notional_liquidated, "net_sold": r.net_sold} for r in report.rounds],
    }


def generate_population(snapshot: Snapshot, count: int, seed: int = 0, progress: Progress | None = None) -> list[dict]:
    """A seeded sample population (account documents) for demos and benchmarks.

    Each account posts stablecoin (or the first asset) collateral and holds one to three
    perpetual-style positions, long with probability 0.65, at leverage drawn from a
    log-normal around 4x (clipped to [0.5, 30]); entries lie within +-5% of the mark.
    """
    if count < 1:
        raise FormatError("population size must be at least 1")
    rng = np.random.default_rng(seed)
    quote_asset = next((a.asset for a in snapshot.assets if abs(a.price_e8 - 10**8) < 10**6), snapshot.assets[0].asset)
    names = [q.instrument for q in snapshot.instruments]
    unit_value = np.array([q.mark_price_e8 / E8 * q.contract_size_e8 / E8 for q in snapshot.instruments])
    marks = np.array([q.mark_price_e8 / E8 for q in snapshot.instruments])
    width = min(3, len(names))
    held = rng.integers(1, width + 1, size=count)
    # Random distinct instruments per account: the first `held` columns of a random permutation.
    picks = np.argsort(rng.random((count, len(names))), axis=1)[:, :width]
    weights = rng.dirichlet(np.ones(width), size=count)
    weights = np.where(np.arange(width) < held[:, None], weights, 0.0)
    weights /= weights.sum(axis=1, keepdims=True)
    collateral = np.round(np.exp(rng.normal(np.log(5000), 1.2, size=count)), 2)
    leverage = np.clip(np.exp(rng.normal(np.log(4), 0.7, size=count)), 0.5, 30)
    signs = np.where(rng.random((count, width)) < 0.65, 1.0, -1.0)
    contracts = signs * (collateral * leverage)[:, None] * weights / unit_value[picks]
    entries = marks[picks] * (1 + rng.uniform(-0.05, 0.05, size=(count, width)))
    out = []
    for a in range(count):
        positions = [{"instrument": names[picks[a, j]], "quantity": f"{contracts[a, j]:.6f}",
                      "entry_price": f"{entries[a, j]:.6f}"} for j in range(held[a])]
        out.append({"account_id": f"sample-{a:06d}", "collateral": [{"asset": quote_asset, "amount": f"{collateral[a]:.2f}"}],
                    "positions": positions})
        _report(progress, a + 1, count)
    return out


def load_population(path: str | os.PathLike[str], snapshot: Snapshot, progress: Progress | None = None) -> Population:
    """Accounts from a JSON-lines file (one account document per line) or a JSON list; FormatError names the line.

    progress(done, total) counts each account twice, parsed and then checked against the snapshot (total 2n).
    """
    from zkmargin.jsontext import decode_json
    from zkmargin.margin.models import parse_account

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise FormatError(f"accounts file not found: {path}") from None
    except IsADirectoryError:
        raise FormatError(f"accounts path is a directory: {path}") from None
    accounts = []
    if data.lstrip().startswith(b"["):
        try:
            documents = decode_json(data)
        except ValueError as exc:
            raise FormatError(f"accounts {path}: not valid JSON: {exc}") from None
        items = list(enumerate(documents, 1))
        where = "item"
    else:
        items = [(number, line) for number, line in enumerate(data.splitlines(), 1) if line.strip()]
        where = "line"
    total = 2 * len(items)
    for done, (number, document) in enumerate(items, 1):
        if where == "line":
            try:
                document = decode_json(document)
            except ValueError as exc:
                raise FormatError(f"accounts {path}: line {number} is not valid JSON: {exc}") from None
        try:
            accounts.append(parse_account(document))
        except FormatError as exc:
            raise FormatError(f"accounts {path}: {where} {number}: {exc}") from None
        _report(progress, done, total)
    if not accounts:
        raise FormatError(f"accounts {path}: no accounts")
    checked = None if progress is None else (lambda done, count: progress(count + done, 2 * count))
    return population_from_accounts(accounts, snapshot, checked)
