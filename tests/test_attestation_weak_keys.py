"""Review finding: a venue public key document holding a small-order Ed25519 point parsed, and under it one fixed
signature (R = identity, S = 0) verifies for every message: anyone could forge that venue's attestations."""

from __future__ import annotations

import dataclasses

import pytest

from zkmargin.errors import MalformedAttestationError
from zkmargin.margin.samples import sample_snapshot
from zkmargin.venue.attestation import (
    VenueSigningKey,
    attest,
    check_attestation,
    parse_public_key,
    public_key_to_json,
)

IDENTITY = bytes([1]) + bytes(31)
# Small-order points: identity, order 2 (y = -1), order 4 (y = 0, both signs), and an order-8 point.
SMALL_ORDER = [
    IDENTITY,
    bytes([0xEC]) + bytes([0xFF]) * 30 + bytes([0x7F]),
    bytes(32),
    bytes(31) + bytes([0x80]),
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
]


def key_document(raw: bytes) -> dict:
    return {**public_key_to_json(VenueSigningKey.generate().public_key("v")), "public_key": raw.hex()}


def test_the_identity_key_really_accepts_a_forged_attestation_without_the_check():
    # The attack the check stops: this forged attestation verifies under the identity key.
    snapshot = sample_snapshot()
    honest = attest(VenueSigningKey.generate(), snapshot, "alice", 5)
    forged = dataclasses.replace(honest, signature=IDENTITY + bytes(32))
    weak = dataclasses.replace(VenueSigningKey.generate().public_key(snapshot.venue), key_bytes=IDENTITY)
    check_attestation(forged, weak, forged.snapshot_digest, 5)  # no error: this is why such keys are refused


@pytest.mark.parametrize("raw", SMALL_ORDER, ids=lambda b: b.hex()[:8])
def test_a_small_order_public_key_is_refused(raw):
    with pytest.raises(MalformedAttestationError, match="small-order|canonical"):
        parse_public_key(key_document(raw))


def test_a_non_canonical_encoding_is_refused():
    p = 2**255 - 19
    with pytest.raises(MalformedAttestationError):
        parse_public_key(key_document((p + 1).to_bytes(32, "little")))  # y = 1 written as p + 1


def test_real_keys_still_parse():
    for _ in range(50):
        key = VenueSigningKey.generate().public_key("v")
        assert parse_public_key(public_key_to_json(key)) == key
