"""The venue's signed reserves statement and reserves >= liabilities per asset (zkmargin.book.reserves)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.book.builders import ACCOUNTS, SNAPSHOT
from zkmargin.book.reference import book_totals
from zkmargin.book.reserves import (
    check_reserves,
    coverage,
    liabilities_e8,
    parse_reserves,
    reserves_to_json,
    sign_reserves,
)
from zkmargin.errors import BadSignatureError, EncodingError, WrongSnapshotError, WrongVenueError
from zkmargin.venue.attestation import VenueSigningKey

KEY = VenueSigningKey.generate()
TOTALS = book_totals(ACCOUNTS, SNAPSHOT)


def test_pnl_owed_is_a_settlement_liability_rounded_up():
    owed = liabilities_e8(TOTALS, SNAPSHOT)
    assert owed["A1"] == TOTALS.deposits_e8[1]
    assert owed["A0"] == TOTALS.deposits_e8[0] + 20 * 10**8  # HEALTHY's profit of 20 in the price unit
    odd = replace(TOTALS, pnl_owed_e32=1)  # 1e-32: still one unit of 1e-8 owed
    assert liabilities_e8(odd, SNAPSHOT)["A0"] == TOTALS.deposits_e8[0] + 1


def test_reserves_cover_or_fall_short_per_asset():
    owed = liabilities_e8(TOTALS, SNAPSHOT)
    exact = sign_reserves(KEY, SNAPSHOT, owed)
    assert all(c.covered for c in coverage(TOTALS, SNAPSHOT, exact))
    short = sign_reserves(KEY, SNAPSHOT, {**owed, "A1": owed["A1"] - 1})
    assert [c.asset for c in coverage(TOTALS, SNAPSHOT, short) if not c.covered] == ["A1"]


def test_the_signature_binds_venue_snapshot_and_every_amount():
    signed = parse_reserves(reserves_to_json(sign_reserves(KEY, SNAPSHOT, {"A0": 5, "A1": 7})))
    check_reserves(signed, KEY.public_key(SNAPSHOT.venue), SNAPSHOT)
    with pytest.raises(BadSignatureError):
        check_reserves(replace(signed, reserves_e8={"A0": 6, "A1": 7}), KEY.public_key(SNAPSHOT.venue), SNAPSHOT)
    with pytest.raises(WrongSnapshotError):
        check_reserves(signed, KEY.public_key(SNAPSHOT.venue), replace(SNAPSHOT, timestamp="2026-11-25T00:00:00Z"))
    with pytest.raises(WrongVenueError):
        check_reserves(signed, KEY.public_key("elsewhere"), SNAPSHOT)
    with pytest.raises(BadSignatureError):
        check_reserves(signed, VenueSigningKey.generate().public_key(SNAPSHOT.venue), SNAPSHOT)


@pytest.mark.parametrize("reserves", [{"A0": 1}, {"A0": 1, "A1": -1}, {"A0": 1, "A1": 1, "A9": 1}])
def test_a_statement_names_every_asset_once_with_a_non_negative_amount(reserves):
    with pytest.raises(EncodingError):
        sign_reserves(KEY, SNAPSHOT, reserves)


@pytest.mark.parametrize("mutate", [lambda d: d.pop("signature"), lambda d: d.update(signature="zz"),
                                    lambda d: d.update(format="x"), lambda d: d["reserves_e8"].update(A0="-1")])
def test_malformed_documents_are_refused(mutate):
    document = reserves_to_json(sign_reserves(KEY, SNAPSHOT, {"A0": 5, "A1": 7}))
    mutate(document)
    with pytest.raises(EncodingError):
        parse_reserves(document)
