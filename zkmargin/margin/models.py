"""Account and snapshot documents: strict parsing into fixed-point models, and back to JSON.

Scales and ranges (every number is an exact integer at scale 1e8, suffix _e8):
  amount_e8, price_e8, mark_price_e8, entry_price_e8, contract_size_e8  in [0, 2^64)
  quantity_e8 (signed; negative is short)                                in [-2^63, 2^63)
  haircut_e8, maintenance_rate_e8 (fractions of 1)                       in [0, 1e8]
These bounds are what the circuits' overflow arguments assume.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from zkmargin.errors import CapacityError, FormatError
from zkmargin.jsontext import decode_json
from zkmargin.margin.fixed_point import SCALE_E8, format_e8, parse_e8

UNSIGNED_MAX_E8 = 2**64 - 1
SIGNED_MIN_E8, SIGNED_MAX_E8 = -(2**63), 2**63 - 1
RATE_MAX_E8 = SCALE_E8
MAX_ID_LENGTH = 128


@dataclass(frozen=True)
class Collateral:
    """A collateral balance."""

    asset: str
    amount_e8: int


@dataclass(frozen=True)
class Position:
    """A derivatives position: signed quantity in contracts, entry price, optional isolated collateral."""

    instrument: str
    quantity_e8: int
    entry_price_e8: int
    isolated_asset: str | None = None
    """The asset of the position's own collateral when it is margined in isolation, else None."""
    isolated_amount_e8: int = 0

    @property
    def is_isolated(self) -> bool:
        """True when the position carries its own collateral (the isolated margin model)."""
        return self.isolated_asset is not None


@dataclass(frozen=True)
class Account:
    """A trader's private account state."""

    account_id: str
    collateral: tuple[Collateral, ...]
    positions: tuple[Position, ...]


@dataclass(frozen=True)
class AssetQuote:
    """A collateral asset's price and haircut in a snapshot."""

    asset: str
    price_e8: int
    haircut_e8: int
    scenario_value_change_e8: tuple[int, ...] = ()
    """VaR/ES: change in the value of one unit of the asset per historical scenario; empty means none."""


@dataclass(frozen=True)
class InstrumentQuote:
    """An instrument's mark price, maintenance rate and contract size in a snapshot (tiers optional)."""

    instrument: str
    mark_price_e8: int
    maintenance_rate_e8: int
    contract_size_e8: int
    tiers: tuple[Tier, ...] = ()
    """Notional brackets for the tiered model; empty means one bracket at maintenance_rate."""
    risk: RiskParams | None = None
    """Scenario parameters for the portfolio model; None: scanned linearly over +-maintenance_rate at the mark."""
    scenario_pnl_e8: tuple[int, ...] = ()
    """VaR/ES: profit (+) or loss (-) of one contract per historical scenario, published by the venue."""
    risk_array_e8: tuple[int, ...] = ()
    """Portfolio: the venue's published 16-scenario risk array (loss of one long contract); empty: derive it."""


@dataclass(frozen=True)
class RiskParams:
    """What the risk-array generator needs for one instrument (all scale 1e8)."""

    kind: str
    """'future' or 'perpetual' (linear in the price), 'call' or 'put' (European, Black-76)."""
    underlying_price_e8: int
    price_scan_range_e8: int
    """Fraction of the underlying price: the full price move of the scan."""
    vol_scan_range_e8: int
    """Absolute volatility move (0.05 = five vol points)."""
    extreme_move_multiple_e8: int
    extreme_move_cover_e8: int
    strike_e8: int = 0
    implied_vol_e8: int = 0
    years_to_expiry_e8: int = 0
    rate_e8: int = 0
    short_option_minimum_e8: int = 0
    """Minimum charge per short option contract."""


@dataclass(frozen=True)
class Tier:
    """A maintenance bracket: notional in [floor, cap) pays notional * rate - amount."""

    notional_floor_e8: int
    notional_cap_e8: int
    maintenance_rate_e8: int
    maintenance_amount_e8: int


@dataclass(frozen=True)
class ScenarioSet:
    """The historical-scenario block of a snapshot (models var and es); vectors live on each quote."""

    count: int
    confidence_e8: int
    """In (0, 1) exclusive, scale 1e8."""
    add_on_e8: int
    """A fixed amount added to the VaR or ES, in the quote currency."""


@dataclass(frozen=True)
class Snapshot:
    """A venue's published market snapshot: the verifier's source of truth."""

    snapshot_id: str
    venue: str
    timestamp: str
    assets: tuple[AssetQuote, ...]
    instruments: tuple[InstrumentQuote, ...]
    scenarios: ScenarioSet | None = None


# ----- parsing ----------------------------------------------------------------------
def _object(obj: Any, field: str, required: Sequence[str], optional: Sequence[str] = ()) -> dict:
    if not isinstance(obj, dict):
        raise FormatError(f"{field or 'document'}: expected a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - set(required) - set(optional))
    if unknown:
        raise FormatError(f"{field + '.' if field else ''}{unknown[0]}: unknown field")
    for key in required:
        if key not in obj:
            raise FormatError(f"{field + '.' if field else ''}{key}: missing")
    return obj


def _identifier(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_LENGTH or value != value.strip():
        raise FormatError(f"{field}: expected a non-empty identifier of at most {MAX_ID_LENGTH} characters, got {value!r}")
    try:
        # JSON's \ud800 escapes decode to lone surrogates, which no UTF-8 encoding (signed messages, file names) takes.
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise FormatError(f"{field}: {value!r} is not valid Unicode text (a lone surrogate)") from None
    return value


def _list(value: Any, field: str) -> list:
    if not isinstance(value, list):
        raise FormatError(f"{field}: expected a JSON list")
    return value


def _unique(names: Sequence[str], field: str, key: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise FormatError(f"{field}[{i}].{key}: duplicate {name!r}")
        seen.add(name)


def parse_account(obj: Any) -> Account:
    """An account document as a model; raises FormatError naming the field."""
    doc = _object(obj, "", ("account_id", "collateral", "positions"))
    collateral = []
    for i, item in enumerate(_list(doc["collateral"], "collateral")):
        field = f"collateral[{i}]"
        entry = _object(item, field, ("asset", "amount"))
        collateral.append(Collateral(
            _identifier(entry["asset"], f"{field}.asset"),
            parse_e8(entry["amount"], f"{field}.amount", 0, UNSIGNED_MAX_E8),
        ))
    positions = []
    for i, item in enumerate(_list(doc["positions"], "positions")):
        field = f"positions[{i}]"
        entry = _object(item, field, ("instrument", "quantity", "entry_price"), ("isolated",))
        isolated_asset, isolated_amount = None, 0
        if "isolated" in entry:
            allocation = _object(entry["isolated"], f"{field}.isolated", ("asset", "amount"))
            isolated_asset = _identifier(allocation["asset"], f"{field}.isolated.asset")
            isolated_amount = parse_e8(allocation["amount"], f"{field}.isolated.amount", 0, UNSIGNED_MAX_E8)
        positions.append(Position(
            _identifier(entry["instrument"], f"{field}.instrument"),
            parse_e8(entry["quantity"], f"{field}.quantity", SIGNED_MIN_E8, SIGNED_MAX_E8),
            parse_e8(entry["entry_price"], f"{field}.entry_price", 0, UNSIGNED_MAX_E8),
            isolated_asset,
            isolated_amount,
        ))
    _unique([c.asset for c in collateral], "collateral", "asset")
    _unique([p.instrument for p in positions], "positions", "instrument")
    return Account(_identifier(doc["account_id"], "account_id"), tuple(collateral), tuple(positions))


MAX_TIERS = 16


def _tiers(value: Any, field: str) -> tuple[Tier, ...]:
    """Brackets must start at 0, be contiguous, and never give a negative maintenance."""
    items = _list(value, field)
    if not 1 <= len(items) <= MAX_TIERS:
        raise FormatError(f"{field}: between 1 and {MAX_TIERS} brackets")
    tiers: list[Tier] = []
    for b, item in enumerate(items):
        where = f"{field}[{b}]"
        entry = _object(item, where, ("notional_floor", "notional_cap", "maintenance_rate", "maintenance_amount"))
        tier = Tier(
            parse_e8(entry["notional_floor"], f"{where}.notional_floor", 0, UNSIGNED_MAX_E8),
            parse_e8(entry["notional_cap"], f"{where}.notional_cap", 0, UNSIGNED_MAX_E8),
            parse_e8(entry["maintenance_rate"], f"{where}.maintenance_rate", 0, RATE_MAX_E8),
            parse_e8(entry["maintenance_amount"], f"{where}.maintenance_amount", 0, UNSIGNED_MAX_E8),
        )
        expected_floor = 0 if b == 0 else tiers[-1].notional_cap_e8
        if tier.notional_floor_e8 != expected_floor:
            raise FormatError(f"{where}.notional_floor: must be {format_e8(expected_floor)} (brackets are contiguous from 0)")
        if tier.notional_cap_e8 <= tier.notional_floor_e8:
            raise FormatError(f"{where}.notional_cap: must exceed the floor")
        # notional * rate - amount is smallest at the floor: keep it non-negative there.
        if tier.notional_floor_e8 * tier.maintenance_rate_e8 < tier.maintenance_amount_e8 * SCALE_E8:
            raise FormatError(f"{where}.maintenance_amount: exceeds floor * rate, maintenance would be negative")
        tiers.append(tier)
    return tuple(tiers)


RISK_KINDS = ("future", "perpetual", "call", "put")
_RISK_FIELDS = {
    # name: (maximum, required for every kind)
    "underlying_price": (UNSIGNED_MAX_E8, True),
    "price_scan_range": (RATE_MAX_E8, True),
    "vol_scan_range": (10 * SCALE_E8, True),
    "extreme_move_multiple": (10 * SCALE_E8, True),
    "extreme_move_cover": (RATE_MAX_E8, True),
    "strike": (UNSIGNED_MAX_E8, False),
    "implied_vol": (10 * SCALE_E8, False),
    "years_to_expiry": (100 * SCALE_E8, False),
    "rate": (RATE_MAX_E8, False),
    "short_option_minimum": (UNSIGNED_MAX_E8, False),
}


def _risk(value: Any, field: str) -> RiskParams:
    """Scenario parameters; options need strike, implied vol and expiry."""
    entry = _object(value, field, ("kind", *(k for k, (_, req) in _RISK_FIELDS.items() if req)),
                    tuple(k for k, (_, req) in _RISK_FIELDS.items() if not req))
    if entry["kind"] not in RISK_KINDS:
        raise FormatError(f"{field}.kind: {entry['kind']!r} is not one of {', '.join(RISK_KINDS)}")
    numbers = {k: parse_e8(entry[k], f"{field}.{k}", 0, bound) for k, (bound, _) in _RISK_FIELDS.items() if k in entry}
    if entry["kind"] in ("call", "put"):
        for needed in ("strike", "implied_vol", "years_to_expiry"):
            if needed not in numbers:
                raise FormatError(f"{field}.{needed}: missing (options need it)")
        if numbers["strike"] == 0 or numbers["underlying_price"] == 0:
            raise FormatError(f"{field}: options need a positive strike and underlying price")
    return RiskParams(entry["kind"], *(numbers.get(k, 0) for k in (
        "underlying_price", "price_scan_range", "vol_scan_range", "extreme_move_multiple", "extreme_move_cover",
        "strike", "implied_vol", "years_to_expiry", "rate", "short_option_minimum")))


PORTFOLIO_SCENARIO_COUNT = 16
"""Entries of a portfolio risk array (zkmargin.margin.portfolio.SCENARIOS)."""


def _risk_array(value: Any, field: str) -> tuple[int, ...]:
    """A published portfolio risk array: 16 signed losses of one long contract at scale 1e8."""
    items = _list(value, field)
    if len(items) != PORTFOLIO_SCENARIO_COUNT:
        raise FormatError(f"{field}: {len(items)} values, a risk array has {PORTFOLIO_SCENARIO_COUNT}")
    return tuple(parse_e8(v, f"{field}[{s}]", SIGNED_MIN_E8, SIGNED_MAX_E8) for s, v in enumerate(items))


def _risk_to_json(risk: RiskParams) -> dict:
    out: dict[str, Any] = {"kind": risk.kind}
    for name in _RISK_FIELDS:
        value = getattr(risk, f"{name}_e8")
        if _RISK_FIELDS[name][1] or value:
            out[name] = format_e8(value)
    return out


def _timestamp(value: Any) -> str:
    if not isinstance(value, str):
        raise FormatError(f"timestamp: expected an ISO 8601 string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FormatError(f"timestamp: {value!r} is not ISO 8601 (e.g. 2026-11-24T16:00:00Z)") from None
    if parsed.tzinfo is None:
        raise FormatError(f"timestamp: {value!r} needs a time zone (use Z for UTC)")
    return value


MAX_SCENARIOS = 1000


def _scenario_set(value: Any) -> ScenarioSet:
    entry = _object(value, "scenarios", ("count", "confidence"), ("add_on",))
    count = entry["count"]
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SCENARIOS:
        raise FormatError(f"scenarios.count: expected an integer in [1, {MAX_SCENARIOS}], got {count!r}")
    confidence = parse_e8(entry["confidence"], "scenarios.confidence", 0, RATE_MAX_E8)
    if not 0 < confidence < RATE_MAX_E8:
        raise FormatError(f"scenarios.confidence: {entry['confidence']!r} is not strictly between 0 and 1")
    add_on = parse_e8(entry.get("add_on", "0"), "scenarios.add_on", 0, UNSIGNED_MAX_E8)
    return ScenarioSet(count, confidence, add_on)


def _scenario_vector(value: Any, field: str, scenarios: ScenarioSet | None) -> tuple[int, ...]:
    """A signed per-scenario vector whose length must be the snapshot's scenario count."""
    if scenarios is None:
        raise FormatError(f"{field}: scenario vectors need a top-level 'scenarios' block (count, confidence)")
    items = _list(value, field)
    if len(items) != scenarios.count:
        raise FormatError(f"{field}: {len(items)} values, but scenarios.count is {scenarios.count} "
                          "(every scenario vector must have the same length)")
    return tuple(parse_e8(v, f"{field}[{s}]", SIGNED_MIN_E8, SIGNED_MAX_E8) for s, v in enumerate(items))


def parse_snapshot(obj: Any) -> Snapshot:
    """A snapshot document as a model; raises FormatError naming the field."""
    doc = _object(obj, "", ("snapshot_id", "venue", "timestamp", "assets", "instruments"), ("scenarios",))
    scenarios = _scenario_set(doc["scenarios"]) if "scenarios" in doc else None
    assets = []
    for i, item in enumerate(_list(doc["assets"], "assets")):
        field = f"assets[{i}]"
        entry = _object(item, field, ("asset", "price", "haircut"), ("scenario_value_change",))
        assets.append(AssetQuote(
            _identifier(entry["asset"], f"{field}.asset"),
            parse_e8(entry["price"], f"{field}.price", 0, UNSIGNED_MAX_E8),
            parse_e8(entry["haircut"], f"{field}.haircut", 0, RATE_MAX_E8),
            _scenario_vector(entry["scenario_value_change"], f"{field}.scenario_value_change", scenarios)
            if "scenario_value_change" in entry else (),
        ))
    instruments = []
    for i, item in enumerate(_list(doc["instruments"], "instruments")):
        field = f"instruments[{i}]"
        entry = _object(item, field, ("instrument", "mark_price", "maintenance_rate", "contract_size"),
                        ("tiers", "risk", "scenario_pnl", "risk_array"))
        instruments.append(InstrumentQuote(
            _identifier(entry["instrument"], f"{field}.instrument"),
            parse_e8(entry["mark_price"], f"{field}.mark_price", 0, UNSIGNED_MAX_E8),
            parse_e8(entry["maintenance_rate"], f"{field}.maintenance_rate", 0, RATE_MAX_E8),
            parse_e8(entry["contract_size"], f"{field}.contract_size", 0, UNSIGNED_MAX_E8),
            _tiers(entry["tiers"], f"{field}.tiers") if "tiers" in entry else (),
            _risk(entry["risk"], f"{field}.risk") if "risk" in entry else None,
            _scenario_vector(entry["scenario_pnl"], f"{field}.scenario_pnl", scenarios)
            if "scenario_pnl" in entry else (),
            _risk_array(entry["risk_array"], f"{field}.risk_array") if "risk_array" in entry else (),
        ))
    if scenarios is not None:
        # An instrument without a vector would cost nothing under VaR/ES: refuse it instead.
        for i, quote in enumerate(instruments):
            if not quote.scenario_pnl_e8:
                raise FormatError(f"instruments[{i}].scenario_pnl: missing (the snapshot publishes scenarios)")
    _unique([a.asset for a in assets], "assets", "asset")
    _unique([q.instrument for q in instruments], "instruments", "instrument")
    return Snapshot(
        _identifier(doc["snapshot_id"], "snapshot_id"),
        _identifier(doc["venue"], "venue"),
        _timestamp(doc["timestamp"]),
        tuple(assets),
        tuple(instruments),
        scenarios,
    )


def _load(path: Path | str, what: str) -> Any:
    try:
        with open(path, "rb") as handle:
            return decode_json(handle.read())
    except FileNotFoundError:
        raise FormatError(f"{what} file not found: {path}") from None
    except IsADirectoryError:
        raise FormatError(f"{what} path is a directory: {path}") from None
    except ValueError as exc:
        raise FormatError(f"{what} file {path} is not valid JSON: {exc}") from None


def load_account(path: Path | str) -> Account:
    """Parse an account JSON file."""
    # _load's errors already name the file: only the parser's get the prefix.
    document = _load(path, "account")
    try:
        return parse_account(document)
    except FormatError as exc:
        raise FormatError(f"account {path}: {exc}") from None


def load_snapshot(path: Path | str) -> Snapshot:
    """Parse a snapshot JSON file."""
    document = _load(path, "snapshot")
    try:
        return parse_snapshot(document)
    except FormatError as exc:
        raise FormatError(f"snapshot {path}: {exc}") from None


# ----- back to JSON -------------------------------------------------------------------
def account_to_json(account: Account) -> dict:
    """The account document (exact decimal strings)."""
    return {
        "account_id": account.account_id,
        "collateral": [{"asset": c.asset, "amount": format_e8(c.amount_e8)} for c in account.collateral],
        "positions": [_position_to_json(p) for p in account.positions],
    }


def _position_to_json(position: Position) -> dict:
    out: dict[str, Any] = {
        "instrument": position.instrument,
        "quantity": format_e8(position.quantity_e8),
        "entry_price": format_e8(position.entry_price_e8),
    }
    if position.is_isolated:
        out["isolated"] = {"asset": position.isolated_asset, "amount": format_e8(position.isolated_amount_e8)}
    return out


def snapshot_to_json(snapshot: Snapshot) -> dict:
    """The snapshot document (exact decimal strings)."""
    out: dict[str, Any] = {
        "snapshot_id": snapshot.snapshot_id,
        "venue": snapshot.venue,
        "timestamp": snapshot.timestamp,
        "assets": [_asset_to_json(a) for a in snapshot.assets],
        "instruments": [_instrument_to_json(q) for q in snapshot.instruments],
    }
    if snapshot.scenarios is not None:
        out["scenarios"] = {"count": snapshot.scenarios.count, "confidence": format_e8(snapshot.scenarios.confidence_e8),
                            "add_on": format_e8(snapshot.scenarios.add_on_e8)}
    return out


def _asset_to_json(asset: AssetQuote) -> dict:
    out: dict[str, Any] = {"asset": asset.asset, "price": format_e8(asset.price_e8), "haircut": format_e8(asset.haircut_e8)}
    if asset.scenario_value_change_e8:
        out["scenario_value_change"] = [format_e8(v) for v in asset.scenario_value_change_e8]
    return out


def _instrument_to_json(quote: InstrumentQuote) -> dict:
    out: dict[str, Any] = {
        "instrument": quote.instrument,
        "mark_price": format_e8(quote.mark_price_e8),
        "maintenance_rate": format_e8(quote.maintenance_rate_e8),
        "contract_size": format_e8(quote.contract_size_e8),
    }
    if quote.risk is not None:
        out["risk"] = _risk_to_json(quote.risk)
    if quote.risk_array_e8:
        out["risk_array"] = [format_e8(v) for v in quote.risk_array_e8]
    if quote.scenario_pnl_e8:
        out["scenario_pnl"] = [format_e8(v) for v in quote.scenario_pnl_e8]
    if quote.tiers:
        out["tiers"] = [
            {"notional_floor": format_e8(t.notional_floor_e8), "notional_cap": format_e8(t.notional_cap_e8),
             "maintenance_rate": format_e8(t.maintenance_rate_e8),
             "maintenance_amount": format_e8(t.maintenance_amount_e8)}
            for t in quote.tiers
        ]
    return out


def underlying_of(name: str) -> str:
    """The underlying of an asset or instrument: the name up to its first '-' (BTC-PERP, BTC-DEC26, BTC -> BTC)."""
    return name.split("-", 1)[0]


# ----- the account in the snapshot's slot layout ------------------------------------------
def validate_account_against_snapshot(account: Account, snapshot: Snapshot) -> None:
    """Every asset and instrument of the account must be listed in the snapshot."""
    assets = {a.asset for a in snapshot.assets}
    instruments = {q.instrument for q in snapshot.instruments}
    for i, c in enumerate(account.collateral):
        if c.asset not in assets:
            raise FormatError(f"collateral[{i}].asset: {c.asset!r} is not in snapshot {snapshot.snapshot_id!r}")
    for i, p in enumerate(account.positions):
        if p.instrument not in instruments:
            raise FormatError(f"positions[{i}].instrument: {p.instrument!r} is not in snapshot {snapshot.snapshot_id!r}")
        if p.is_isolated and p.isolated_asset not in assets:
            raise FormatError(
                f"positions[{i}].isolated.asset: {p.isolated_asset!r} is not in snapshot {snapshot.snapshot_id!r}")


def reject_isolated(account: Account, model: str) -> None:
    """Models with one pool refuse isolated positions instead of silently pooling their collateral."""
    for i, p in enumerate(account.positions):
        if p.is_isolated:
            raise FormatError(f"positions[{i}].isolated: the {model} model has no isolated positions; use --model isolated")


def slot_layout(
    account: Account, snapshot: Snapshot, n_positions: int | None = None, n_collateral: int | None = None,
    allow_isolated: bool = False,
) -> tuple[list[int], list[int], list[int]]:
    """(quantities_e8, entry_prices_e8, amounts_e8) in the snapshot's order, zero-padded to the capacities."""
    validate_account_against_snapshot(account, snapshot)
    if not allow_isolated:
        reject_isolated(account, "cross")
    n_positions = len(snapshot.instruments) if n_positions is None else n_positions
    n_collateral = len(snapshot.assets) if n_collateral is None else n_collateral
    if n_positions < len(snapshot.instruments) or n_collateral < len(snapshot.assets):
        raise CapacityError("capacity is smaller than the snapshot's instrument or asset list")
    held = {p.instrument: p for p in account.positions}
    balances = {c.asset: c.amount_e8 for c in account.collateral}
    quantities = [0] * n_positions
    entries = [0] * n_positions
    for i, quote in enumerate(snapshot.instruments):
        position = held.get(quote.instrument)
        if position is not None:
            quantities[i], entries[i] = position.quantity_e8, position.entry_price_e8
    amounts = [0] * n_collateral
    for j, asset in enumerate(snapshot.assets):
        amounts[j] = balances.get(asset.asset, 0)
    return quantities, entries, amounts
