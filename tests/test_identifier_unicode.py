"""Review finding: a JSON \\ud800 escape decodes to a lone surrogate, which passed the identifier rule and then
crashed every UTF-8 encoding of it (signed messages, bundle file names) with an untyped UnicodeEncodeError."""

from __future__ import annotations

import json

import pytest

from zkmargin.errors import FormatError, MalformedAttestationError
from zkmargin.margin.models import account_to_json, parse_account, parse_snapshot, snapshot_to_json
from zkmargin.margin.samples import sample_account, sample_snapshot
from zkmargin.venue.attestation import (
    VenueSigningKey,
    attest,
    attestation_to_json,
    check_attestation,
    parse_attestation,
)

LONE_SURROGATE = json.loads('"a\\ud800"')


def test_an_attestation_with_a_lone_surrogate_account_id_is_malformed_not_a_crash():
    key = VenueSigningKey.generate()
    snapshot = sample_snapshot()
    doc = attestation_to_json(attest(key, snapshot, "alice", 12345))
    doc["account_id"] = LONE_SURROGATE
    with pytest.raises(MalformedAttestationError):
        attestation = parse_attestation(doc)
        # Before the fix parsing passed and this raised UnicodeEncodeError.
        check_attestation(attestation, key.public_key(snapshot.venue), attestation.snapshot_digest, 12345)


@pytest.mark.parametrize("field", ["venue", "snapshot_id"])
def test_a_snapshot_with_a_lone_surrogate_name_is_a_format_error(field):
    doc = snapshot_to_json(sample_snapshot())
    doc[field] = LONE_SURROGATE
    with pytest.raises(FormatError):
        parse_snapshot(doc)


def test_an_account_with_a_lone_surrogate_id_is_a_format_error():
    doc = account_to_json(sample_account("healthy"))
    doc["account_id"] = LONE_SURROGATE
    with pytest.raises(FormatError):
        parse_account(doc)
