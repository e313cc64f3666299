"""The one verification path (circuits/verification.py): folded snapshot inputs, proof fields, batches and
the attestation policy."""

from __future__ import annotations

import base64
import random
from dataclasses import replace

import pytest

from zkmargin.backends import get_backend
from zkmargin.circuits.layout import HEADER
from zkmargin.circuits.proving import prove_account
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.circuits.verification import (
    ProofItem,
    SnapshotVerifier,
    check_key_fits,
    decode_proof,
    encoded_proof,
)
from zkmargin.errors import (
    BadSignatureError,
    MalformedProofError,
    PublicInputError,
    UnattestedError,
    WrongCommitmentError,
    WrongSnapshotError,
    WrongVenueError,
)
from zkmargin.field import R
from zkmargin.groth16 import setup, verify
from zkmargin.groth16.serialization import proof_to_bytes, proof_to_json
from zkmargin.margin.samples import sample_account, sample_snapshot
from zkmargin.venue.attestation import VenueSigningKey, attest

CIRCUIT = "cross-n6-k4"


@pytest.fixture(scope="module")
def material():
    backend = get_backend("arkworks")
    circuit = circuit_from_id(CIRCUIT)
    snapshot = sample_snapshot()
    pk = setup(circuit.compile(), random.Random(3), backend)
    proof, public = prove_account(circuit, pk, sample_account("healthy"), snapshot, 77, 9, backend)
    return backend, circuit, snapshot, pk.vk, proof, public


def test_per_proof_inputs_come_from_the_layout_header():
    assert circuit_from_id(CIRCUIT).per_proof_inputs == len(HEADER) == 2


def test_verdicts_equal_the_plain_verifier(material):
    backend, circuit, snapshot, vk, proof, public = material
    verifier = SnapshotVerifier(circuit, vk, snapshot, backend)
    assert verifier.snapshot_values == list(public.snapshot_values)
    for commitment, context in ((public.commitment, 9), (public.commitment + 1, 9), (public.commitment, 10)):
        full = [commitment, context, *public.snapshot_values]
        assert verifier.verify(commitment, context, proof) is verify(vk, full, proof, backend)
    assert verifier.verify(public.commitment, 9, proof)
    with pytest.raises(PublicInputError, match="commitment"):
        verifier.verify(R, 9, proof)


def test_a_key_for_another_circuit_is_refused_once(material):
    backend, _, snapshot, vk, _, _ = material
    other = circuit_from_id("cross-n7-k4")
    with pytest.raises(PublicInputError, match="cross-n7-k4"):
        check_key_fits(other, vk)
    with pytest.raises(PublicInputError, match="expects"):
        SnapshotVerifier(other, vk, snapshot, backend)


def test_proof_fields_decode_in_one_place(material):
    backend, *_, proof, _ = material
    raw = proof_to_bytes(proof, backend)
    assert encoded_proof(None, base64.b64encode(raw).decode()) == raw
    as_json = proof_to_json(proof, backend)
    assert encoded_proof(as_json, None) is as_json
    assert proof_to_bytes(decode_proof(as_json, None, backend), backend) == raw
    assert proof_to_bytes(decode_proof(None, base64.b64encode(raw).decode(), backend), backend) == raw
    for bad_proof, bad_b64, message in [(None, None, "neither"), (as_json, "AAAA", "exactly one"),
                                        (None, "not base64!", "base64"), ("text", None, "JSON object")]:
        with pytest.raises(MalformedProofError, match=message):
            encoded_proof(bad_proof, bad_b64)
    with pytest.raises(MalformedProofError):
        decode_proof(None, base64.b64encode(raw[:-1]).decode(), backend)


def test_batch_tallies_every_outcome(material):
    backend, circuit, snapshot, vk, proof, public = material
    key = VenueSigningKey.generate()
    verifier = SnapshotVerifier(circuit, vk, snapshot, backend, key.public_key(snapshot.venue))
    c = public.commitment
    good = attest(key, snapshot, "a", c)
    items = [
        ProofItem(c, 9, proof, good, label="valid"),
        ProofItem(c, 10, proof, good, label="invalid"),
        ProofItem(error="bad json", label="malformed"),
        ProofItem(c, 9, proof, None, label="unattested"),
        ProofItem(c, 9, proof, attest(key, snapshot, "a", c + 1), label="other-commitment"),
    ]
    report = verifier.verify_batch(items)
    assert [v.outcome for v in report.verdicts] == ["valid", "invalid", "malformed", "refused", "refused"]
    assert [v.label for v in report.verdicts] == [i.label for i in items]
    assert report.tally == {"valid": 1, "invalid": 1, "malformed": 1, "refused": 2}
    assert "no attestation" in report.verdicts[3].refused


def test_attestation_policy_names_what_differs(material):
    backend, circuit, snapshot, vk, proof, public = material
    key, rival = VenueSigningKey.generate(), VenueSigningKey.generate()
    c = public.commitment
    verifier = SnapshotVerifier(circuit, vk, snapshot, backend, key.public_key(snapshot.venue))
    assert verifier.verify(c, 9, proof, attest(key, snapshot, "a", c))
    later = replace(snapshot, snapshot_id="later", timestamp="2026-11-24T17:00Z")
    cases = [
        (None, UnattestedError),
        (attest(key, snapshot, "a", c + 1), WrongCommitmentError),
        (attest(key, later, "a", c), WrongSnapshotError),
        (attest(rival, snapshot, "a", c), BadSignatureError),
        (replace(attest(key, snapshot, "a", c), venue="rival"), WrongVenueError),
    ]
    for attestation, error in cases:
        with pytest.raises(error):
            verifier.verify(c, 9, proof, attestation)
    # No policy: no attestation asked for.
    assert SnapshotVerifier(circuit, vk, snapshot, backend).verify(c, 9, proof)
    # A key of another venue than the snapshot's vouches for nothing here.
    elsewhere = SnapshotVerifier(circuit, vk, snapshot, backend, rival.public_key("rival"))
    with pytest.raises(WrongVenueError, match="rival"):
        elsewhere.verify(c, 9, proof, attest(rival, snapshot, "a", c))
