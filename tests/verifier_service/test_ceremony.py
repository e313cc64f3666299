"""Ceremony keys in the service (#13 items 4 and 5): a key registered with its phase-2 transcript.

The ceremony (two contributions and a beacon) runs through the library on a ptau made
with a known tau, so it takes seconds and needs no npm.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass

import pytest

from tests.cli.ceremony_samples import ACCOUNT, CIRCUIT, SNAPSHOT
from tests.cli.ceremony_samples import BEACON as BEACON_HEX
from tests.verifier_service.conftest import admin_headers, attestation_json, new_key, publish
from zkmargin.backends import get_backend
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.errors import CeremonyError
from zkmargin.groth16 import zkey as zk_mod
from zkmargin.groth16.prover import prove_zkey
from zkmargin.groth16.ptau import insecure_ptau_for_tests, read_ptau
from zkmargin.groth16.serialization import proof_to_json, vk_from_json, vk_to_json
from zkmargin.groth16.transcript import check_transcript, transcript_to_json
from zkmargin.margin.models import parse_account, parse_snapshot


@dataclass
class Ceremony:
    vk_json: dict
    transcript: dict
    before_beacon: dict
    """The transcript of the key before the beacon: it checks, but ends in another delta."""
    proof_json: dict
    commitment: int
    context: int


@pytest.fixture(scope="module")
def ceremony() -> Ceremony:
    backend = get_backend("arkworks")
    circuit = circuit_from_id(CIRCUIT)
    compiled = circuit.compile()
    ptau = read_ptau(insecure_ptau_for_tests(10, random.Random(7), backend))
    initial = zk_mod.new_zkey(compiled, ptau, backend)
    first, _ = zk_mod.contribute(initial, "alice", "e1", bytes(64), backend)
    second, _ = zk_mod.contribute(first, "bob", "e2", bytes([1]) * 64, backend)
    final, _ = zk_mod.beacon(second, BEACON_HEX, 10, "final", backend)
    account, snapshot = parse_account(ACCOUNT), parse_snapshot(SNAPSHOT)
    witness = circuit.witness(account, snapshot, 1234)
    public = circuit.public_inputs(snapshot, circuit.commitment(witness), 99)
    proof = prove_zkey(zk_mod.proving_key(final, compiled, backend), compiled,
                       circuit.witness_assignment(public, witness), random.Random(3), backend)
    return Ceremony(vk_to_json(zk_mod.verifying_key(final, backend), backend, alphabeta=[]),
                    transcript_to_json(final, backend), transcript_to_json(second, backend),
                    proof_to_json(proof, backend), public.commitment, 99)


def register(client, ceremony: Ceremony, transcript: dict | None):  # noqa: ANN001, ANN201
    body = {"circuit_id": CIRCUIT, "verification_key": ceremony.vk_json}
    if transcript is not None:
        body["transcript"] = transcript
    return client.post("/v1/circuits", json=body, headers=admin_headers())


def verify(client, ceremony: Ceremony, proof: dict):  # noqa: ANN001, ANN201
    return client.post("/v1/verify", json={
        "circuit_id": CIRCUIT, "snapshot_id": SNAPSHOT["snapshot_id"], "commitment": str(ceremony.commitment),
        "context": str(ceremony.context), "proof": proof,
        "attestation": attestation_json(SNAPSHOT, ceremony.commitment)}, headers=new_key(client, "verifier"))


def test_ceremony_key_with_its_transcript_verifies_proofs_and_shows_its_contributors(any_client, ceremony):
    client = any_client
    created = register(client, ceremony, ceremony.transcript)
    assert created.status_code == 201, created.text
    assert publish(client, SNAPSHOT, new_key(client, "venue")).status_code == 201

    valid = verify(client, ceremony, ceremony.proof_json)
    assert valid.status_code == 200, valid.text
    assert valid.json()["valid"] is True
    tampered = copy.deepcopy(ceremony.proof_json)
    tampered["pi_a"], tampered["pi_c"] = tampered["pi_c"], tampered["pi_a"]
    refused = verify(client, ceremony, tampered)
    assert refused.status_code == 200, refused.text
    assert refused.json()["valid"] is False

    shown = client.get(f"/v1/circuits/{CIRCUIT}").json()
    assert shown["setup"] == "ceremony"
    names = [(c["index"], c["name"], c["beacon"]) for c in shown["contributions"]]
    assert names == [(1, "alice", False), (2, "bob", False), (3, "final", True)]
    stated = [c["contribution_hash"] for c in ceremony.transcript["contributions"]]
    assert [c["hash"] for c in shown["contributions"]] == stated
    assert shown["contributions"][2]["beacon_hash"] == BEACON_HEX
    assert shown["contributions"][2]["iterations_exp"] == 10
    assert client.get("/v1/circuits").json() == [shown]


def test_key_without_transcript_is_single_party(any_client, ceremony):
    assert register(any_client, ceremony, None).status_code == 201
    shown = any_client.get(f"/v1/circuits/{CIRCUIT}").json()
    assert shown["setup"] == "single-party"
    assert shown["contributions"] == []


def test_transcript_of_another_delta_is_refused_and_nothing_is_registered(any_client, ceremony):
    refused = register(any_client, ceremony, ceremony.before_beacon)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "invalid_transcript"
    assert "delta" in refused.json()["error"]["message"]
    assert any_client.get(f"/v1/circuits/{CIRCUIT}").status_code == 404
    # The right transcript is still accepted afterwards: the refused one left nothing behind.
    assert register(any_client, ceremony, ceremony.transcript).status_code == 201


def _tampered(transcript: dict, index: int, key: str, value) -> dict:  # noqa: ANN001
    changed = copy.deepcopy(transcript)
    changed["contributions"][index][key] = value
    return changed


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: _tampered(t, 0, "contribution_hash", "00" * 64), "contribution_hash"),
    (lambda t: _tampered(t, 1, "g1_sx", t["contributions"][0]["g1_sx"]), "contribution #2"),
    (lambda t: _tampered(t, 1, "delta_after", t["contributions"][0]["delta_after"]), "contribution #2"),
    (lambda t: _tampered(t, 2, "beacon_hash", "ab" * 32), "beacon"),
    (lambda t: _tampered(t, 2, "iterations_exp", 40), "too slow"),
    (lambda t: _tampered(t, 0, "transcript", "11" * 64), "transcript hash"),
    (lambda t: {**t, "circuit_hash": "22" * 64}, "contribution #1"),
    (lambda t: {**t, "format": "other/1"}, "format"),
    (lambda t: {**t, "contributions": t["contributions"][1:]}, "contribution #1"),
])
def test_tampered_transcript_is_refused_with_its_problem_named(client, ceremony, change, message):
    refused = register(client, ceremony, change(ceremony.transcript))
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "invalid_transcript"
    assert message in refused.json()["error"]["message"]
    assert client.get(f"/v1/circuits/{CIRCUIT}").status_code == 404


@pytest.mark.parametrize("change", [
    lambda t: {**t, "contributions": []},
    lambda t: _tampered(t, 0, "type", "gift"),
    lambda t: _tampered(t, 0, "g2_spx", [["1", "2"], ["3", "4"]]),
    lambda t: _tampered(t, 0, "delta_after", ["1", "2", "1"]),  # not on the curve
    lambda t: _tampered(t, 0, "transcript", "zz"),
    lambda t: {**t, "extra": 1},
])
def test_malformed_transcript_is_a_clear_422(client, ceremony, change):
    refused = register(client, ceremony, change(ceremony.transcript))
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] in {"invalid_request", "invalid_transcript"}
    assert client.get(f"/v1/circuits/{CIRCUIT}").status_code == 404


def test_library_check_returns_the_entries_zkey_verify_prints(ceremony):
    backend = get_backend("arkworks")
    vk = vk_from_json(ceremony.vk_json, backend)
    entries = check_transcript(ceremony.transcript, vk, backend)
    assert [e["hash"] for e in entries] == [c["contribution_hash"] for c in ceremony.transcript["contributions"]]
    with pytest.raises(CeremonyError, match="delta"):
        check_transcript(ceremony.before_beacon, vk, backend)
    with pytest.raises(CeremonyError, match="1 to 256"):
        check_transcript({**ceremony.transcript, "contributions": []}, vk, backend)
