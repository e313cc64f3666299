"""The book's sums in plain Python: what every leaf of the book tree carries, and the totals.

Independent of the circuits: it reads the reference cross engine (zkmargin.margin.engine),
never a gadget. docs/book.md defines every figure; in short, per account under one snapshot:
  accounts            1 (0 for a padding slot)
  deposits_e8[k]      the amount held in asset k (scale 1e8, the asset's own unit; >= 0, < 2^64)
  pnl_owed_e32        max(0, sum_i upnl_i): unrealised profit the venue owes, in the settlement unit (scale 1e32)
  bad_debt_e32        max(0, -equity): what the account owes beyond everything it holds (scale 1e32)
  below_maintenance   1 when equity < maintenance, else 0
  shortfall_e32       max(0, maintenance - equity) (scale 1e32)
  below_maintenance[j], shortfall_e32[j]
                      the census by size: the two figures above in the account's size bucket j, 0 in the others
with equity = sum_k amount_k price_k (1e8 - haircut_k) 1e8 + sum_i upnl_i, exactly the cross
engine's integers. Nothing is rounded. A loss (negative upnl, negative equity) never enters
a liability sum: it shows only as bad debt, which is a sum of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from zkmargin.errors import EncodingError
from zkmargin.margin.engine import compute_margin, format_e32
from zkmargin.margin.models import Account, Snapshot

DEPOSIT_BITS = 64
"""A deposit is one committed amount: range-checked below 2^64 in the circuit."""
LEAF_SUM_BITS = 230
"""Every scale-1e32 leaf figure lies in [0, 2^230) (the circuit range-checks it; docs/book.md has the bound)."""
MAX_BOOK_DEPTH = 24
"""At most 2^24 leaves: a total is below 2^230 * 2^24 = 2^254 < r, so no sum of the tree wraps modulo r."""
SUM_NAMES_TAIL = ("pnl_owed_e32", "bad_debt_e32", "below_maintenance", "shortfall_e32")
CENSUS_BOUNDS_E32 = (10**35, 10**36, 10**37, 10**38)
"""Lower bounds of size buckets 1..J-1 in the price unit at scale 1e32 (1e3, 1e4, 1e5, 1e6 price units).

An account's size is its maintenance requirement; bucket j holds CENSUS_BOUNDS_E32[j - 1] <= size <
CENSUS_BOUNDS_E32[j] (bucket 0 from 0, the last bucket without an upper bound): a size equal to a bound is in
the bucket that bound opens. The bounds are constants of the book statement (its constraints, so its keys)."""
CENSUS_BUCKETS = len(CENSUS_BOUNDS_E32) + 1
"""J: size buckets of the census."""


@dataclass(frozen=True)
class BookSums:
    """The sums one leaf (one account) or one node (a subtree) carries; every figure >= 0."""

    accounts: int
    deposits_e8: tuple[int, ...]
    pnl_owed_e32: int
    bad_debt_e32: int
    below_maintenance: int
    shortfall_e32: int
    below_by_size: tuple[int, ...]
    """The census: accounts below maintenance per size bucket (they add up to below_maintenance)."""
    shortfall_by_size_e32: tuple[int, ...]
    """Their shortfall per size bucket (it adds up to shortfall_e32)."""

    def __add__(self, other: BookSums) -> BookSums:
        if len(self.deposits_e8) != len(other.deposits_e8):
            raise EncodingError("sums over different asset lists cannot be added")
        return sums_from_fields([a + b for a, b in zip(self.as_fields(), other.as_fields())], self.n_assets)

    def as_fields(self) -> tuple[int, ...]:
        """(accounts, deposits..., pnl_owed, bad_debt, below_maintenance, shortfall, below_maintenance[j]...,
        shortfall_e32[j]...): hash and public-input order."""
        return (self.accounts, *self.deposits_e8, self.pnl_owed_e32, self.bad_debt_e32, self.below_maintenance,
                self.shortfall_e32, *self.below_by_size, *self.shortfall_by_size_e32)

    def leaf_bits(self) -> tuple[int, ...]:
        """Per figure of as_fields, b such that one leaf's figure is at most 2^b - 1 (counts: b = 0, at most 1)."""
        return (0, *(DEPOSIT_BITS,) * self.n_assets, LEAF_SUM_BITS, LEAF_SUM_BITS, 0, LEAF_SUM_BITS,
                *(0,) * CENSUS_BUCKETS, *(LEAF_SUM_BITS,) * CENSUS_BUCKETS)

    def census_adds_up(self) -> bool:
        """True when the census by size adds up to the book-wide below_maintenance and shortfall_e32."""
        return (len(self.below_by_size) == len(self.shortfall_by_size_e32) == CENSUS_BUCKETS
                and sum(self.below_by_size) == self.below_maintenance
                and sum(self.shortfall_by_size_e32) == self.shortfall_e32)

    @property
    def n_assets(self) -> int:
        """Number of deposit figures (the statement's asset slots)."""
        return len(self.deposits_e8)


def sum_names(n_assets: int) -> tuple[str, ...]:
    """Names of BookSums.as_fields, in order."""
    return ("accounts", *(f"deposits_e8[{k}]" for k in range(n_assets)), *SUM_NAMES_TAIL,
            *(f"below_maintenance[{j}]" for j in range(CENSUS_BUCKETS)),
            *(f"shortfall_e32[{j}]" for j in range(CENSUS_BUCKETS)))


def n_sums(n_assets: int) -> int:
    """How many figures a BookSums over n_assets assets carries."""
    return n_assets + 5 + 2 * CENSUS_BUCKETS


def zero_sums(n_assets: int) -> BookSums:
    """The sums of a padding slot (no account)."""
    return sums_from_fields((0,) * n_sums(n_assets), n_assets)


def sums_from_fields(values: Sequence[int], n_assets: int) -> BookSums:
    """BookSums from as_fields order; EncodingError on a wrong count or a negative figure."""
    if len(values) != n_sums(n_assets):
        raise EncodingError(f"book sums need {n_sums(n_assets)} figures, got {len(values)}")
    if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in values):
        raise EncodingError("book sums are non-negative integers")
    pnl_owed, bad_debt, below, shortfall = values[1 + n_assets:5 + n_assets]
    census = 5 + n_assets
    return BookSums(values[0], tuple(values[1:1 + n_assets]), pnl_owed, bad_debt, below, shortfall,
                    tuple(values[census:census + CENSUS_BUCKETS]), tuple(values[census + CENSUS_BUCKETS:]))


def size_bucket(requirement_e32: int) -> int:
    """The census bucket of an account whose maintenance requirement is requirement_e32 (>= 0)."""
    if requirement_e32 < 0:
        raise EncodingError("a maintenance requirement is never negative")
    return sum(requirement_e32 >= bound for bound in CENSUS_BOUNDS_E32)


@dataclass(frozen=True)
class CensusBucket:
    """One size bucket of the census: its bounds (requirement, scale 1e32; high None: unbounded) and its figures."""

    bucket: int
    low_e32: int
    high_e32: int | None
    below_maintenance: int
    shortfall_e32: int

    @property
    def size_range(self) -> str:
        """The bucket's sizes in the price unit, low bound in, high bound out: "[1000, 10000)"."""
        return f"[{format_e32(self.low_e32)}, {'inf' if self.high_e32 is None else format_e32(self.high_e32)})"


def census_by_size(sums: BookSums) -> tuple[CensusBucket, ...]:
    """The census of sums bucket by bucket, smallest size first."""
    lows = (0, *CENSUS_BOUNDS_E32)
    highs = (*CENSUS_BOUNDS_E32, None)
    return tuple(CensusBucket(j, lows[j], highs[j], sums.below_by_size[j], sums.shortfall_by_size_e32[j])
                 for j in range(CENSUS_BUCKETS))


def account_sums(account: Account, snapshot: Snapshot, n_assets: int | None = None) -> BookSums:
    """One account's leaf sums under the snapshot, from the reference cross engine (deposits zero-padded)."""
    assets, instruments = [c.asset for c in account.collateral], [p.instrument for p in account.positions]
    if len(set(assets)) != len(assets) or len(set(instruments)) != len(instruments):
        # The engine adds up repeated entries, the committed slots keep one: the figures would not be the leaf's.
        raise EncodingError("an account lists an asset or an instrument twice (parse_account refuses it too)")
    report = compute_margin(account, snapshot)
    n_assets = len(snapshot.assets) if n_assets is None else n_assets
    if n_assets < len(snapshot.assets):
        raise EncodingError(f"{len(snapshot.assets)} assets do not fit {n_assets} deposit slots")
    held = {c.asset: c.amount_e8 for c in account.collateral}
    deposits = [held.get(a.asset, 0) for a in snapshot.assets] + [0] * (n_assets - len(snapshot.assets))
    if any(not 0 <= d < 1 << DEPOSIT_BITS for d in deposits):
        # The circuit's range check refuses such a slot: a negative balance is never a leaf, nor a liability.
        raise EncodingError(f"a deposit must lie in [0, 2^{DEPOSIT_BITS}), got {min(deposits)} .. {max(deposits)}")
    upnl = sum(p.upnl_e32 for p in report.positions)
    equity, maintenance = report.equity_e32, report.maintenance_e32
    below, shortfall = int(equity < maintenance), max(0, maintenance - equity)
    bucket = size_bucket(maintenance)
    return BookSums(1, tuple(deposits), max(0, upnl), max(0, -equity), below, shortfall,
                    tuple(below if j == bucket else 0 for j in range(CENSUS_BUCKETS)),
                    tuple(shortfall if j == bucket else 0 for j in range(CENSUS_BUCKETS)))


def book_totals(accounts: Iterable[Account], snapshot: Snapshot, n_assets: int | None = None) -> BookSums:
    """The sums over every account of a book."""
    n_assets = len(snapshot.assets) if n_assets is None else n_assets
    total = zero_sums(n_assets)
    for account in accounts:
        total = total + account_sums(account, snapshot, n_assets)
    return total

