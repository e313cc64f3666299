"""The service registers and verifies sparse cross proofs (cross-n<N>-p<P>-k<K>) like any other circuit: one proof,
a batch, and the same proof refused under another context, another commitment, or a reordered snapshot."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from tests.verifier_service.conftest import admin_headers, attestation_json, make_client, new_key, publish
from zkmargin.backends import get_backend
from zkmargin.circuits.proving import prove_account
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.groth16 import setup
from zkmargin.groth16.serialization import proof_to_json, vk_to_json
from zkmargin.margin.models import snapshot_to_json
from zkmargin.margin.samples import sample_account, sample_snapshot

CIRCUIT = "cross-n6-p4-k4"


@pytest.fixture(scope="module")
def sparse_material():
    backend = get_backend("arkworks")
    circuit = circuit_from_id(CIRCUIT)
    snapshot = sample_snapshot()
    pk = setup(circuit.compile(), random.Random(5), backend)
    proof, public = prove_account(circuit, pk, sample_account("healthy"), snapshot, 3, 41, backend)
    return (vk_to_json(pk.vk, backend, alphabeta=[]), snapshot, proof_to_json(proof, backend), public.commitment)


def test_sparse_proof_verifies_through_the_service(tmp_path, sparse_material):
    vk_json, snapshot, proof_json, commitment = sparse_material
    snapshot_json = snapshot_to_json(snapshot)
    client = make_client(tmp_path)
    venue = new_key(client, "venue")
    registered = client.post(
        "/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": vk_json}, headers=admin_headers()
    )
    assert registered.status_code == 201, registered.text
    assert publish(client, snapshot_json, venue).status_code == 201
    attestation = attestation_json(snapshot_json, commitment)
    body = {
        "circuit_id": CIRCUIT,
        "snapshot_id": snapshot_json["snapshot_id"],
        "commitment": str(commitment),
        "context": "41",
        "proof": proof_json,
        "attestation": attestation,
    }
    result = client.post("/v1/verify", json=body)
    assert result.status_code == 200 and result.json()["valid"] is True, result.text
    assert client.post("/v1/verify", json=dict(body, context="42")).json()["valid"] is False
    items = [
        {"id": "a", "commitment": str(commitment), "context": "41", "proof": proof_json, "attestation": attestation},
        {"id": "b", "commitment": str(commitment), "context": "40", "proof": proof_json, "attestation": attestation},
    ]
    batch = client.post(
        "/v1/verify/batch", json={"circuit_id": CIRCUIT, "snapshot_id": snapshot_json["snapshot_id"], "items": items}
    ).json()
    assert (batch["valid"], batch["invalid"]) == (1, 1)

    # The same prices under a reordered instrument list: another layout digest, so the proof is not valid there.
    reordered = replace(snapshot, snapshot_id="reordered", instruments=tuple(reversed(snapshot.instruments)))
    reordered_json = snapshot_to_json(reordered)
    assert publish(client, reordered_json, venue).status_code == 201
    moved = dict(body, snapshot_id="reordered", attestation=attestation_json(reordered_json, commitment))
    response = client.post("/v1/verify", json=moved)
    assert response.status_code == 200 and response.json()["valid"] is False, response.text


@pytest.mark.parametrize("circuit_id", ["cross-n6-p7-k4", "var-n6-p2-k4", "cross-n6-p04-k4"])
def test_unknown_sparse_ids_are_a_4xx(tmp_path, sparse_material, circuit_id):
    client = make_client(tmp_path)
    response = client.post(
        "/v1/circuits",
        json={"circuit_id": circuit_id, "verification_key": sparse_material[0]},
        headers=admin_headers(),
    )
    assert 400 <= response.status_code < 500, response.text
