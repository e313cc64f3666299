"""book.json and the reserves statement have one spelling each: lower-case hex only, no unknown field, every
field named in the error (a book or statement re-sent written differently must not be a different document)."""

from __future__ import annotations

import pytest

from tests.book.builders import SNAPSHOT
from tests.book.proved import published
from zkmargin.book.document import book_to_json, parse_book
from zkmargin.book.reserves import check_reserves, parse_reserves, reserves_to_json, sign_reserves
from zkmargin.errors import EncodingError, MalformedAttestationError
from zkmargin.groth16.serialization import parse_hex
from zkmargin.venue.attestation import VenueSigningKey, attest, attestation_to_json, parse_attestation

KEY = VenueSigningKey.generate()


def _reserves() -> dict:
    return reserves_to_json(sign_reserves(KEY, SNAPSHOT, {"A0": 5, "A1": 7}))


@pytest.mark.parametrize(("text", "ok"), [("00ff", True), ("00FF", False), ("00 f", False), ("0ff", False),
                                          ("00ff00", False), (255, False), ("", False)])
def test_parse_hex_takes_exactly_one_spelling(text, ok):
    if ok:
        assert parse_hex(text, 2, "x") == b"\x00\xff"
    else:
        with pytest.raises(EncodingError, match="x: expected 4 lowercase hex digits"):
            parse_hex(text, 2, "x")


def test_the_attestation_parser_reads_hex_through_it_with_its_own_error_type():
    document = attestation_to_json(attest(KEY, SNAPSHOT, "acct-1", 5))
    parse_attestation(document)
    with pytest.raises(MalformedAttestationError, match="signature: expected 128 lowercase hex digits"):
        parse_attestation({**document, "signature": document["signature"].upper()})


@pytest.mark.parametrize("field", ["signature", "snapshot_digest"])
def test_a_book_with_upper_case_hex_is_refused_naming_the_field(field):
    document = book_to_json(published())
    assert parse_book(document).signature == published().signature
    document[field] = document[field].upper()
    with pytest.raises(EncodingError, match=f"book.{field}: expected"):
        parse_book(document)


@pytest.mark.parametrize("signature", ["ab" * 63, "ab" * 65, "xy" * 64])
def test_a_book_signature_is_64_bytes_or_absent(signature):
    document = {**book_to_json(published()), "signature": signature}
    with pytest.raises(EncodingError, match="book.signature"):
        parse_book(document)
    assert parse_book({**document, "signature": ""}).signature == b""  # not signed yet: refused when checked


@pytest.mark.parametrize("field", ["signature", "snapshot_digest"])
def test_reserves_with_upper_case_hex_are_refused_naming_the_field(field):
    document = _reserves()
    parse_reserves(document)
    document[field] = document[field].upper()
    with pytest.raises(EncodingError, match=f"reserves.{field}: expected"):
        parse_reserves(document)


def test_reserves_with_an_unknown_field_are_refused_naming_it():
    with pytest.raises(EncodingError, match="reserves: unknown field note"):
        parse_reserves({**_reserves(), "note": "audited"})


@pytest.mark.parametrize("field", ["venue", "snapshot_id", "snapshot_digest", "reserves_e8", "signature"])
def test_reserves_missing_a_field_are_refused_naming_it(field):
    document = _reserves()
    del document[field]
    with pytest.raises(EncodingError, match=f"reserves: missing {field}"):
        parse_reserves(document)


def test_reserves_naming_an_asset_the_snapshot_lacks_are_refused_naming_it():
    document = _reserves()
    document["reserves_e8"]["DOGE"] = "1"
    signed = parse_reserves(document)
    with pytest.raises(EncodingError, match="reserves.reserves_e8.DOGE: not an asset"):
        check_reserves(signed, KEY.public_key(SNAPSHOT.venue), SNAPSHOT)
