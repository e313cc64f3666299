"""Venue attestations and signed roots: each refusal has its own typed error; documents parse strictly."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from zkmargin.errors import (
    AttestationError,
    BadSignatureError,
    EncodingError,
    MalformedAttestationError,
    WrongCommitmentError,
    WrongSnapshotError,
    WrongVenueError,
)
from zkmargin.field import R
from zkmargin.margin.samples import sample_snapshot
from zkmargin.venue.attestation import (
    ATTESTATION_LABEL,
    ROOT_LABEL,
    VenueSigningKey,
    attest,
    attestation_message,
    attestation_to_json,
    check_attestation,
    check_signed_root,
    parse_attestation,
    parse_public_key,
    parse_signed_root,
    public_key_to_json,
    root_message,
    sign_root,
    signed_root_to_json,
    snapshot_digest,
)
from zkmargin.venue.tree import MerkleTree

SNAPSHOT = sample_snapshot()
VENUE = SNAPSHOT.venue
DIGEST = snapshot_digest(SNAPSHOT)
KEY = VenueSigningKey.generate()
PUBLIC = KEY.public_key(VENUE)
COMMITMENT = 0x1234567890ABCDEF


def other_snapshot():
    return dataclasses.replace(SNAPSHOT, snapshot_id="later-snapshot")


# ----- attestations --------------------------------------------------------------------
def test_attestation_checks_and_round_trips():
    att = attest(KEY, SNAPSHOT, "alice", COMMITMENT)
    check_attestation(att, PUBLIC, DIGEST, COMMITMENT)
    check_attestation(att, PUBLIC, DIGEST, COMMITMENT, account_id="alice")
    again = parse_attestation(attestation_to_json(att))
    assert again == att
    check_attestation(again, parse_public_key(public_key_to_json(PUBLIC)), DIGEST, COMMITMENT)


def test_each_refusal_has_its_own_error():
    att = attest(KEY, SNAPSHOT, "alice", COMMITMENT)
    other_key = VenueSigningKey.generate()
    with pytest.raises(WrongVenueError):
        check_attestation(att, other_key.public_key("other-venue"), DIGEST, COMMITMENT)
    with pytest.raises(WrongSnapshotError):
        check_attestation(att, PUBLIC, snapshot_digest(other_snapshot()), COMMITMENT)
    with pytest.raises(WrongCommitmentError):
        check_attestation(att, PUBLIC, DIGEST, COMMITMENT + 1)
    with pytest.raises(WrongCommitmentError, match="account"):
        check_attestation(att, PUBLIC, DIGEST, COMMITMENT, account_id="bob")
    # Another key registered under the same venue name: the fields agree, the signature does not.
    with pytest.raises(BadSignatureError):
        check_attestation(att, other_key.public_key(VENUE), DIGEST, COMMITMENT)


@pytest.mark.parametrize("field, value", [
    ("venue", "other-venue"), ("account_id", "bob"), ("commitment", COMMITMENT + 1),
    ("snapshot_digest", bytes(32)),
])
def test_tampered_field_breaks_the_signature(field, value):
    """A signed field edited in the document: checked against matching expectations, only the signature can fail."""
    tampered = dataclasses.replace(attest(KEY, SNAPSHOT, "alice", COMMITMENT), **{field: value})
    key = KEY.public_key(tampered.venue)
    with pytest.raises(BadSignatureError):
        check_attestation(tampered, key, tampered.snapshot_digest, tampered.commitment, tampered.account_id)


def test_signatures_do_not_transfer_between_document_kinds():
    # An attestation and a root over the same numbers: different labels, different messages.
    att = attestation_message(VENUE, DIGEST, "alice", COMMITMENT)
    root = root_message(VENUE, DIGEST, 1, 1, COMMITMENT)
    assert att.startswith(ATTESTATION_LABEL) and root.startswith(ROOT_LABEL) and att[:24] != root[:24]
    signed = sign_root(KEY, SNAPSHOT, 1, 1, COMMITMENT)
    forged = dataclasses.replace(attest(KEY, SNAPSHOT, "alice", COMMITMENT), signature=signed.signature)
    with pytest.raises(BadSignatureError):
        check_attestation(forged, PUBLIC, DIGEST, COMMITMENT)


def test_message_encoding_is_injective_across_field_boundaries():
    # Moving characters between venue and account id must change the bytes (length prefixes).
    assert attestation_message("ab", DIGEST, "c", 1) != attestation_message("a", DIGEST, "bc", 1)
    message = attestation_message("v", DIGEST, "acct", 5)
    assert message == ATTESTATION_LABEL + b"\x00\x01v" + DIGEST + b"\x00\x04acct" + (5).to_bytes(32, "big")


@pytest.mark.parametrize("change, match", [
    ({"format": "zkmargin-attestation/2"}, "format"),
    ({"scheme": "bls"}, "scheme"),
    ({"signature": "00" * 63}, "signature"),
    ({"signature": "AB" * 64}, "signature"),
    ({"snapshot_digest": "zz" * 32}, "snapshot_digest"),
    ({"commitment": str(R)}, r"\[0, r\)"),
    ({"commitment": "-1"}, "commitment"),
    ({"commitment": "007"}, "commitment"),
    ({"commitment": 7}, "commitment"),
    ({"venue": ""}, "venue"),
    ({"account_id": " padded"}, "account_id"),
    ({"extra": 1}, "unknown field"),
    ({"venue": None}, "venue"),
])
def test_malformed_attestation_documents(change, match):
    doc = attestation_to_json(attest(KEY, SNAPSHOT, "alice", COMMITMENT))
    doc.update(change)
    with pytest.raises(MalformedAttestationError, match=match):
        parse_attestation(doc)


def test_missing_fields_and_non_objects():
    doc = attestation_to_json(attest(KEY, SNAPSHOT, "alice", COMMITMENT))
    del doc["signature"]
    with pytest.raises(MalformedAttestationError, match="missing"):
        parse_attestation(doc)
    for bad in (None, [], "x"):
        with pytest.raises(MalformedAttestationError):
            parse_attestation(bad)


def test_malformed_errors_are_encoding_errors_and_the_rest_attestation_errors():
    assert issubclass(MalformedAttestationError, EncodingError)
    for error in (WrongVenueError, WrongSnapshotError, WrongCommitmentError, BadSignatureError):
        assert issubclass(error, AttestationError) and not issubclass(error, EncodingError)


def test_commitment_at_or_above_r_cannot_be_signed():
    with pytest.raises(MalformedAttestationError):
        attest(KEY, SNAPSHOT, "alice", R)


# ----- keys -------------------------------------------------------------------------------
def test_key_pem_round_trip_and_bad_keys():
    again = VenueSigningKey.from_pem(KEY.to_pem())
    assert again.public_key(VENUE) == PUBLIC
    with pytest.raises(MalformedAttestationError):
        VenueSigningKey.from_pem(b"not a pem")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    p256 = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(MalformedAttestationError, match="ed25519"):
        VenueSigningKey.from_pem(p256)


@pytest.mark.parametrize("change", [{"public_key": "00" * 31}, {"public_key": "0g" * 32}, {"venue": ""},
                                    {"format": "x"}, {"extra": True}])
def test_malformed_public_keys(change):
    doc = public_key_to_json(PUBLIC)
    doc.update(change)
    with pytest.raises(MalformedAttestationError):
        parse_public_key(doc)


# ----- signed roots -----------------------------------------------------------------------
def test_signed_root_checks_and_round_trips():
    tree = MerkleTree([COMMITMENT, COMMITMENT + 1, COMMITMENT + 2], 4)
    signed = sign_root(KEY, SNAPSHOT, tree.depth, tree.size, tree.root)
    again = parse_signed_root(signed_root_to_json(signed))
    assert again == signed
    check_signed_root(again, PUBLIC, DIGEST)
    check_signed_root(again, PUBLIC, DIGEST, root=tree.root)
    with pytest.raises(WrongCommitmentError):
        check_signed_root(again, PUBLIC, DIGEST, root=tree.root + 1)
    with pytest.raises(WrongSnapshotError):
        check_signed_root(again, PUBLIC, snapshot_digest(other_snapshot()))
    with pytest.raises(WrongVenueError):
        check_signed_root(again, VenueSigningKey.generate().public_key("elsewhere"), DIGEST)
    for field, value in (("depth", 5), ("leaf_count", 4), ("root", tree.root + 1)):
        with pytest.raises(BadSignatureError):
            check_signed_root(dataclasses.replace(signed, **{field: value}), PUBLIC, DIGEST)


@pytest.mark.parametrize("change, match", [
    ({"depth": 0}, "depth"), ({"depth": 33}, "depth"), ({"depth": "4"}, "depth"), ({"depth": True}, "depth"),
    ({"leaf_count": 0}, "leaf_count"), ({"leaf_count": 17}, "leaf_count"), ({"root": str(R)}, "root"),
])
def test_malformed_signed_roots(change, match):
    doc = signed_root_to_json(sign_root(KEY, SNAPSHOT, 4, 3, COMMITMENT))
    doc = copy.deepcopy(doc)
    doc.update(change)
    with pytest.raises(MalformedAttestationError, match=match):
        parse_signed_root(doc)


# ----- the snapshot digest is the service's -----------------------------------------------
def test_snapshot_digest_is_the_digest_the_service_records(tmp_path):
    from tests.verifier_service.conftest import make_client, new_key, publish
    from zkmargin.margin.models import snapshot_to_json

    client = make_client(tmp_path)
    response = publish(client, snapshot_to_json(SNAPSHOT), new_key(client, "venue"), KEY)
    assert response.status_code == 201, response.text
    assert response.json()["digest"] == DIGEST.hex()
    assert snapshot_digest(other_snapshot()) != DIGEST


def test_membership_needs_the_signed_root_and_a_path_to_it():
    from zkmargin.venue.attestation import check_membership
    from zkmargin.venue.tree import MerklePath

    leaves = [COMMITMENT, COMMITMENT + 1, COMMITMENT + 2]
    tree = MerkleTree(leaves, 3)
    signed = sign_root(KEY, SNAPSHOT, 3, 3, tree.root)
    path = MerklePath("bob", leaves[1], 1, tuple(tree.path(1)), tree.root, 3)
    check_membership(signed, path, PUBLIC, DIGEST)
    with pytest.raises(WrongCommitmentError, match="does not lead"):
        check_membership(signed, dataclasses.replace(path, leaf=leaves[2]), PUBLIC, DIGEST)
    with pytest.raises(WrongCommitmentError, match="does not lead"):
        check_membership(signed, MerklePath("nobody", 0, 5, tuple(tree.path(5)), tree.root, 3), PUBLIC, DIGEST)
    other = MerkleTree(leaves[:2], 3)
    with pytest.raises(WrongCommitmentError, match="another root"):
        check_membership(signed, MerklePath("bob", leaves[1], 1, tuple(other.path(1)), other.root, 3), PUBLIC, DIGEST)
    with pytest.raises(WrongSnapshotError):
        check_membership(signed, path, PUBLIC, snapshot_digest(other_snapshot()))
    with pytest.raises(BadSignatureError):
        check_membership(dataclasses.replace(signed, leaf_count=2), path, PUBLIC, DIGEST)


# ----- signed snapshots -------------------------------------------------------------------
def test_a_snapshot_signature_checks_round_trips_and_names_what_differs():
    from zkmargin.venue.attestation import (
        SNAPSHOT_LABEL,
        check_snapshot_signature,
        parse_snapshot_signature,
        sign_snapshot,
        snapshot_message,
        snapshot_signature_to_json,
    )

    signed = sign_snapshot(KEY, SNAPSHOT)
    check_snapshot_signature(signed, PUBLIC, SNAPSHOT)
    again = parse_snapshot_signature(snapshot_signature_to_json(signed))
    assert again == signed and again.message().startswith(SNAPSHOT_LABEL)
    assert snapshot_message(VENUE, SNAPSHOT.snapshot_id, DIGEST) == signed.message()
    # Another label: a snapshot signature never checks as an attestation or a root, nor they as it.
    assert len({SNAPSHOT_LABEL, ATTESTATION_LABEL, ROOT_LABEL}) == 3
    later = other_snapshot()
    with pytest.raises(WrongSnapshotError, match="signed for snapshot"):
        check_snapshot_signature(signed, PUBLIC, later)
    with pytest.raises(WrongSnapshotError, match="digest"):
        check_snapshot_signature(signed, PUBLIC, dataclasses.replace(SNAPSHOT, timestamp="2030-01-01T00:00:00Z"))
    with pytest.raises(WrongVenueError, match="claims venue"):
        check_snapshot_signature(sign_snapshot(KEY, dataclasses.replace(SNAPSHOT, venue="rival")), PUBLIC,
                                 dataclasses.replace(SNAPSHOT, venue="rival"))
    with pytest.raises(WrongVenueError):
        check_snapshot_signature(dataclasses.replace(signed, venue="rival"), PUBLIC, SNAPSHOT)
    with pytest.raises(BadSignatureError):
        check_snapshot_signature(sign_snapshot(VenueSigningKey.generate(), SNAPSHOT), PUBLIC, SNAPSHOT)
    forged = dataclasses.replace(signed, signature=attest(KEY, SNAPSHOT, "alice", COMMITMENT).signature)
    with pytest.raises(BadSignatureError):
        check_snapshot_signature(forged, PUBLIC, SNAPSHOT)


@pytest.mark.parametrize("change, match", [
    ({"format": "zkmargin-attestation/1"}, "format"), ({"scheme": "bls"}, "scheme"), ({"venue": ""}, "venue"),
    ({"snapshot_id": 5}, "snapshot_id"), ({"snapshot_digest": "00"}, "snapshot_digest"),
    ({"signature": "zz" * 64}, "signature"), ({"extra": 1}, "extra"),
])
def test_malformed_snapshot_signatures(change, match):
    from zkmargin.venue.attestation import parse_snapshot_signature, sign_snapshot, snapshot_signature_to_json

    doc = {**snapshot_signature_to_json(sign_snapshot(KEY, SNAPSHOT)), **change}
    with pytest.raises(MalformedAttestationError, match=match):
        parse_snapshot_signature(doc)
