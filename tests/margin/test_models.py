"""Formats: exact fixed-point parsing, strict documents, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkmargin.errors import FormatError
from zkmargin.margin.fixed_point import format_e8, parse_e8
from zkmargin.margin.models import (
    Account,
    Collateral,
    Position,
    account_to_json,
    parse_account,
    parse_snapshot,
    slot_layout,
    snapshot_to_json,
)
from zkmargin.margin.samples import sample_account, sample_snapshot

U64 = 2**64 - 1


@pytest.mark.parametrize(
    "text,expected",
    [("0", 0), ("1", 10**8), ("0.00000001", 1), ("-3.5", -350_000_000), (7, 700_000_000),
     ("184467440737.09551615", U64), ("-0", 0)],
)
def test_exact_parsing(text, expected):
    assert parse_e8(text, "x", -(2**63), U64) == expected


@pytest.mark.parametrize(
    "text,message",
    [("0.000000001", "more than 8 decimal places"), ("1e5", "not a plain decimal"), ("NaN", "not a plain decimal"),
     (1.5, "float"), (True, "bool"), ("", "not a plain decimal"), (" 1", "not a plain decimal"),
     ("+1", "not a plain decimal"), ("01", "not a plain decimal"), ("184467440737.09551616", "outside"),
     (None, "NoneType")],
)
def test_rejections_name_the_field(text, message):
    with pytest.raises(FormatError, match=message) as info:
        parse_e8(text, "positions[2].quantity", 0, U64)
    assert "positions[2].quantity" in str(info.value)


@pytest.mark.parametrize(
    "quantity,ok", [("-92233720368.54775808", True), ("-92233720368.54775809", False),
                    ("92233720368.54775807", True), ("92233720368.54775808", False)],
)
def test_signed_quantity_bounds(quantity, ok):
    doc = {"account_id": "a", "collateral": [], "positions": [{"instrument": "X", "quantity": quantity, "entry_price": "1"}]}
    if ok:
        parse_account(doc)
    else:
        with pytest.raises(FormatError, match=r"positions\[0\].quantity"):
            parse_account(doc)


def _snapshot_doc(**overrides):
    doc = snapshot_to_json(sample_snapshot())
    doc.update(overrides)
    return doc


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda d: d["assets"].append(dict(d["assets"][0])), r"assets\[4\].asset: duplicate"),
        (lambda d: d["instruments"][0].update(maintenance_rate="1.00000001"), r"instruments\[0\].maintenance_rate"),
        (lambda d: d["assets"][1].update(haircut="-0.1"), r"assets\[1\].haircut"),
        (lambda d: d.update(extra=1), "extra: unknown field"),
        (lambda d: d.update(timestamp="yesterday"), "timestamp"),
        (lambda d: d.update(timestamp="2026-11-24T16:00:00"), "time zone"),
        (lambda d: d.pop("venue"), "venue: missing"),
        (lambda d: d["instruments"][2].pop("contract_size"), r"instruments\[2\].contract_size: missing"),
        (lambda d: d.update(snapshot_id=""), "snapshot_id"),
    ],
)
def test_bad_snapshots(mutate, message):
    doc = _snapshot_doc()
    mutate(doc)
    with pytest.raises(FormatError, match=message):
        parse_snapshot(doc)


def test_account_entries_must_exist_in_the_snapshot():
    account = Account("a", (Collateral("DOGE", 1),), ())
    with pytest.raises(FormatError, match=r"collateral\[0\].asset: 'DOGE' is not in snapshot"):
        slot_layout(account, sample_snapshot())
    account = Account("a", (), (Position("XRP-PERP", 1, 1),))
    with pytest.raises(FormatError, match=r"positions\[0\].instrument"):
        slot_layout(account, sample_snapshot())


def test_duplicate_positions_rejected():
    doc = account_to_json(sample_account("healthy"))
    doc["positions"].append(dict(doc["positions"][0]))
    with pytest.raises(FormatError, match="duplicate"):
        parse_account(doc)


def test_slot_layout_follows_the_snapshot_and_pads():
    snapshot = sample_snapshot()
    quantities, entries, amounts = slot_layout(sample_account("healthy"), snapshot, 8, 5)
    assert len(quantities) == len(entries) == 8 and len(amounts) == 5
    assert quantities[0] == 80_000_000 and quantities[3] == 0 and quantities[6:] == [0, 0]
    assert amounts[1] == 25_000 * 10**8 and amounts[0] == 0 and amounts[4] == 0


@given(st.integers(-(2**63), U64))
def test_format_round_trip(value):
    assert parse_e8(format_e8(value), "x", -(2**63), U64) == value


def test_document_round_trips():
    for name in ("healthy", "margin_call"):
        account = sample_account(name)
        assert parse_account(account_to_json(account)) == account
    assert parse_snapshot(snapshot_to_json(sample_snapshot())) == sample_snapshot()
