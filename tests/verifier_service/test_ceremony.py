"""Ceremony keys in the service (#13 items 4 and 5, #22 item 6): a key registered with its phase-2 transcript.

The ceremony (two contributions and a beacon) runs through the library on a ptau made
with a known tau, so it takes seconds and needs no npm. The service trusts that ptau
(ZKMARGIN_CEREMONY_PTAU) and ties every transcript to it and to its own R1CS.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.cli.ceremony_samples import ACCOUNT, CIRCUIT, SNAPSHOT
from tests.cli.ceremony_samples import BEACON as BEACON_HEX
from tests.groth16.circuits import compiled_cube
from tests.verifier_service.conftest import admin_headers, attestation_json, make_client, new_key, publish
from zkmargin.backends import get_backend
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.errors import CeremonyError
from zkmargin.field import inv
from zkmargin.groth16 import Proof
from zkmargin.groth16 import verify as groth16_verify
from zkmargin.groth16 import zkey as zk_mod
from zkmargin.groth16.prover import prove_zkey
from zkmargin.groth16.ptau import insecure_ptau_for_tests, read_ptau
from zkmargin.groth16.serialization import (
    g1_from_json,
    g1_to_json,
    g2_to_json,
    proof_from_json,
    proof_to_json,
    vk_digest,
    vk_from_json,
    vk_to_json,
)
from zkmargin.groth16.transcript import check_transcript, transcript_to_json
from zkmargin.margin.models import parse_account, parse_snapshot


@dataclass
class Ceremony:
    ptau: bytes
    initial: zk_mod.ZKey
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
    ptau_bytes = insecure_ptau_for_tests(10, random.Random(7), backend)
    ptau = read_ptau(ptau_bytes)
    initial = zk_mod.new_zkey(compiled, ptau, backend)
    first, _ = zk_mod.contribute(initial, "alice", "e1", bytes(64), backend)
    second, _ = zk_mod.contribute(first, "bob", "e2", bytes([1]) * 64, backend)
    final, _ = zk_mod.beacon(second, BEACON_HEX, 10, "final", backend)
    account, snapshot = parse_account(ACCOUNT), parse_snapshot(SNAPSHOT)
    witness = circuit.witness(account, snapshot, 1234)
    public = circuit.public_inputs(snapshot, circuit.commitment(witness), 99)
    proof = prove_zkey(zk_mod.proving_key(final, compiled, backend), compiled,
                       circuit.witness_assignment(public, witness), random.Random(3), backend)
    return Ceremony(ptau_bytes, initial, vk_to_json(zk_mod.verifying_key(final, backend), backend, alphabeta=[]),
                    transcript_to_json(final, backend), transcript_to_json(second, backend),
                    proof_to_json(proof, backend), public.commitment, 99)


@pytest.fixture(scope="module")
def ptau_path(tmp_path_factory, ceremony) -> str:
    path = tmp_path_factory.mktemp("ptau") / "phase1.ptau"
    path.write_bytes(ceremony.ptau)
    return str(path)


@pytest.fixture
def client(tmp_path: Path, ptau_path: str) -> TestClient:
    """The service trusting the ceremony's phase 1."""
    return make_client(tmp_path, ceremony_ptau=ptau_path)


@pytest.fixture
def any_client(tmp_path: Path, database_url: str, ptau_path: str) -> TestClient:
    return make_client(tmp_path, database_url=database_url, ceremony_ptau=ptau_path)


def register(client: TestClient, ceremony: Ceremony, transcript: dict | None, vk_json: dict | None = None) -> httpx.Response:
    body = {"circuit_id": CIRCUIT, "verification_key": vk_json or ceremony.vk_json}
    if transcript is not None:
        body["transcript"] = transcript
    return client.post("/v1/circuits", json=body, headers=admin_headers())


def verify(client: TestClient, ceremony: Ceremony, proof: dict, commitment: int | None = None) -> httpx.Response:
    commitment = ceremony.commitment if commitment is None else commitment
    return client.post("/v1/verify", json={
        "circuit_id": CIRCUIT, "snapshot_id": SNAPSHOT["snapshot_id"], "commitment": str(commitment),
        "context": str(ceremony.context), "proof": proof,
        "attestation": attestation_json(SNAPSHOT, commitment)}, headers=new_key(client, "verifier"))


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


def _tampered(transcript: dict, index: int, key: str, value: object) -> dict:
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
    (lambda t: {**t, "circuit_hash": "22" * 64}, "circuit hash"),
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
    entries = check_transcript(ceremony.transcript, vk, ceremony.initial, backend)
    assert [e["hash"] for e in entries] == [c["contribution_hash"] for c in ceremony.transcript["contributions"]]
    with pytest.raises(CeremonyError, match="delta"):
        check_transcript(ceremony.before_beacon, vk, ceremony.initial, backend)
    with pytest.raises(CeremonyError, match="1 to 256"):
        check_transcript({**ceremony.transcript, "contributions": []}, vk, ceremony.initial, backend)


# ----- #22 item 6: a transcript is tied to its key and its circuit ------------------------------------------
def _forge(ceremony: Ceremony, vk_json: dict, delta_secret: int, commitment: int) -> dict:
    """A proof without a witness for a key whose delta_2 = d [1]_2 with d known and gamma = [1]_2.

    A = alpha, B = beta, C = -IC(x) / d: e(A, B) = e(alpha, beta) e(IC(x), gamma) e(C, delta) for any x.
    """
    backend = get_backend("arkworks")
    circuit = circuit_from_id(CIRCUIT)
    public = circuit.public_inputs(parse_snapshot(SNAPSHOT), commitment, ceremony.context).as_list()
    vk = vk_from_json(vk_json, backend)
    acc = backend.g1_add(vk.gamma_abc_g1[0], backend.g1_msm(list(vk.gamma_abc_g1[1:]), public))
    c = backend.g1_neg(backend.g1_mul(acc, inv(delta_secret)))
    return proof_to_json(Proof(vk.alpha_g1, vk.beta_g2, c), backend)


def _attacker_key_from_another_circuit(ceremony: Ceremony) -> tuple[dict, dict, int]:
    """A genuine one-contribution transcript of another circuit (the attacker knows its secret), and a key for
    this circuit ending in its delta: the old check (the chain, and the last delta is the key's) passes."""
    backend = get_backend("arkworks")
    other = zk_mod.new_zkey(compiled_cube(), read_ptau(ceremony.ptau), backend)
    secret = 0x1234567890ABCDEF
    contributed, _ = zk_mod._apply_contribution(other, secret, backend.g1_generator(), backend, zk_mod.CONTRIBUTION,
                                                "mallory")
    vk_json = {**ceremony.vk_json, "vk_delta_2": g2_to_json(contributed.delta_g2, backend)}
    return vk_json, transcript_to_json(contributed, backend), secret


def test_transcript_of_another_circuit_is_refused_and_its_forgery_never_verifies(client, ceremony):
    vk_json, transcript, secret = _attacker_key_from_another_circuit(ceremony)
    assert transcript["circuit_hash"] != ceremony.transcript["circuit_hash"]
    refused = register(client, ceremony, transcript, vk_json)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "invalid_transcript"
    assert "circuit hash" in refused.json()["error"]["message"]
    assert client.get(f"/v1/circuits/{CIRCUIT}").status_code == 404
    # Without the tie, the key would have been shown as a ceremony and this forgery accepted:
    # it does verify under the attacker's key (checked with the library alone).
    backend = get_backend("arkworks")
    forged = _forge(ceremony, vk_json, secret, 4242)
    public = circuit_from_id(CIRCUIT).public_inputs(parse_snapshot(SNAPSHOT), 4242, ceremony.context).as_list()
    assert groth16_verify(vk_from_json(vk_json, backend), public, proof_from_json(forged, backend), backend)


def test_genuine_transcript_with_key_points_not_from_the_ceremony_is_refused(client, ceremony):
    """The right circuit's real transcript and delta, but IC_i = k_i [delta]_1: C = -k(x) [1]_1 forges with
    public values only. Every point but delta must be the initial key's."""
    backend = get_backend("arkworks")
    delta_g1 = g1_from_json(ceremony.transcript["contributions"][-1]["delta_after"], backend, "delta", CeremonyError)
    ks = list(range(3, 3 + len(ceremony.vk_json["IC"])))
    vk_json = {**ceremony.vk_json, "IC": [g1_to_json(backend.g1_mul(delta_g1, k), backend) for k in ks]}
    refused = register(client, ceremony, ceremony.transcript, vk_json)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "invalid_transcript"
    assert "IC[0]" in refused.json()["error"]["message"]
    assert client.get(f"/v1/circuits/{CIRCUIT}").status_code == 404
    for name, value in (("vk_alpha_1", g1_to_json(delta_g1, backend)),
                        ("vk_beta_2", ceremony.vk_json["vk_delta_2"])):
        changed = register(client, ceremony, ceremony.transcript, {**ceremony.vk_json, name: value})
        assert changed.status_code == 422, changed.text
        assert name in changed.json()["error"]["message"]


def test_transcript_over_another_phase_one_is_refused(client, ceremony):
    """The same circuit's ceremony, run on a ptau the attacker made (it knows tau): not the service's phase 1."""
    backend = get_backend("arkworks")
    theirs = read_ptau(insecure_ptau_for_tests(10, random.Random(8), backend))
    initial = zk_mod.new_zkey(circuit_from_id(CIRCUIT).compile(), theirs, backend)
    final, _ = zk_mod.contribute(initial, "mallory", "", bytes(64), backend)
    vk_json = vk_to_json(zk_mod.verifying_key(final, backend), backend, alphabeta=[])
    refused = register(client, ceremony, transcript_to_json(final, backend), vk_json)
    assert refused.status_code == 422, refused.text
    assert "circuit hash" in refused.json()["error"]["message"]


def test_key_with_delta_equal_minus_gamma_is_refused_at_registration(client, ceremony):
    backend = get_backend("arkworks")
    gamma = vk_from_json(ceremony.vk_json, backend).gamma_g2
    vk_json = {**ceremony.vk_json, "vk_delta_2": g2_to_json(backend.g2_neg(gamma), backend)}
    for transcript in (None, ceremony.transcript):
        refused = register(client, ceremony, transcript, vk_json)
        assert refused.status_code == 422, refused.text
        assert "delta == -gamma" in refused.json()["error"]["message"]
    assert client.get(f"/v1/circuits/{CIRCUIT}").status_code == 404


def test_transcript_without_a_configured_ptau_is_refused(tmp_path, ceremony):
    bare = make_client(tmp_path)
    refused = register(bare, ceremony, ceremony.transcript)
    assert refused.status_code == 422, refused.text
    assert "ZKMARGIN_CEREMONY_PTAU" in refused.json()["error"]["message"]
    assert register(bare, ceremony, None).status_code == 201


def test_service_vk_digest_is_the_library_digest_whatever_the_json_layout(client, ceremony):
    """#22 item 9: one digest, over the key's canonical binary form, not over the JSON text."""
    backend = get_backend("arkworks")
    reordered = dict(reversed(list(ceremony.vk_json.items())))
    reordered["IC"] = [[str(int(v)) for v in point] for point in ceremony.vk_json["IC"]]
    created = register(client, ceremony, ceremony.transcript, reordered)
    assert created.status_code == 201, created.text
    assert created.json()["vk_digest"] == vk_digest(vk_from_json(ceremony.vk_json, backend), backend)
    again = register(client, ceremony, None, ceremony.vk_json)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_registered"


def test_a_beacon_only_ceremony_is_refused_because_its_delta_is_public(client, ceremony):
    """Review (issue 22 item 6): a transcript whose only contribution is a beacon checks as a chain, but a beacon's
    secret comes from its public parameters, so delta is known to everyone and anyone forges (A = alpha, B = beta,
    C = -IC(x) / delta). Like a key with no contribution, it is refused: 422 invalid_transcript, nothing stored."""
    backend = get_backend("arkworks")
    beaconed, _ = zk_mod.beacon(ceremony.initial, BEACON_HEX, 10, "public", backend)
    vk_json = vk_to_json(zk_mod.verifying_key(beaconed, backend), backend, alphabeta=[])
    transcript = transcript_to_json(beaconed, backend)
    delta = zk_mod.fr_from_rng(zk_mod.beacon_rng(bytes.fromhex(BEACON_HEX), 10))  # anyone can compute it
    forged = _forge(ceremony, vk_json, delta, 4242)
    public = circuit_from_id(CIRCUIT).public_inputs(parse_snapshot(SNAPSHOT), 4242, ceremony.context).as_list()
    assert groth16_verify(vk_from_json(vk_json, backend), public, proof_from_json(forged, backend), backend)
    with pytest.raises(CeremonyError, match="beacon"):
        check_transcript(transcript, vk_from_json(vk_json, backend), ceremony.initial, backend)
    refused = register(client, ceremony, transcript, vk_json)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "invalid_transcript" and "beacon" in refused.json()["error"]["message"]
    assert client.get(f"/v1/circuits/{CIRCUIT}").status_code == 404
