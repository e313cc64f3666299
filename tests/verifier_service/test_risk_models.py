"""The service verifies VaR / ES proofs like every other model: register, publish scenarios, verify, batch."""

from __future__ import annotations

import random

import pytest

from tests.verifier_service.conftest import (
    admin_headers,
    attestation_json,
    make_client,
    new_key,
    publish,
    signed_snapshot,
)
from zkmargin.backends import get_backend
from zkmargin.circuits.proving import prove_account
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.groth16 import setup
from zkmargin.groth16.serialization import proof_to_json, vk_to_json
from zkmargin.margin.models import snapshot_to_json
from zkmargin.margin.samples import sample_account, sample_snapshot
from zkmargin.margin.var import with_scenarios

CIRCUIT = "es-n6-k4-s12"


@pytest.fixture(scope="module")
def es_material():
    backend = get_backend("arkworks")
    circuit = circuit_from_id(CIRCUIT)
    snapshot = with_scenarios(sample_snapshot(), 12, 80 * 10**6, 50 * 10**8, seed=12)
    pk = setup(circuit.compile(), random.Random(5), backend)
    proof, public = prove_account(circuit, pk, sample_account("healthy"), snapshot, 3, 41, backend)
    return vk_to_json(pk.vk, backend, alphabeta=[]), snapshot_to_json(snapshot), proof_to_json(proof, backend), \
        public.commitment


def test_es_proof_verifies_through_the_service(tmp_path, es_material):
    vk_json, snapshot_json, proof_json, commitment = es_material
    client = make_client(tmp_path)
    venue = new_key(client, "venue")
    registered = client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": vk_json},
                             headers=admin_headers())
    assert registered.status_code == 201, registered.text
    published = publish(client, snapshot_json, venue)
    assert published.status_code == 201, published.text
    assert published.json()["document"]["scenarios"]["count"] == 12
    attestation = attestation_json(snapshot_json, commitment)
    body = {"circuit_id": CIRCUIT, "snapshot_id": snapshot_json["snapshot_id"], "commitment": str(commitment),
            "context": "41", "proof": proof_json, "attestation": attestation}
    result = client.post("/v1/verify", json=body)
    assert result.status_code == 200 and result.json()["valid"] is True, result.text
    assert client.post("/v1/verify", json=dict(body, context="42")).json()["valid"] is False
    items = [{"id": "a", "commitment": str(commitment), "context": "41", "proof": proof_json, "attestation": attestation},
             {"id": "b", "commitment": str(commitment), "context": "40", "proof": proof_json, "attestation": attestation}]
    batch = client.post("/v1/verify/batch", json={"circuit_id": CIRCUIT, "snapshot_id": snapshot_json["snapshot_id"],
                                                  "items": items}).json()
    assert (batch["valid"], batch["invalid"]) == (1, 1)


def test_a_scenario_snapshot_with_unequal_vectors_is_a_4xx(tmp_path, es_material):
    _, snapshot_json, _, _ = es_material
    client = make_client(tmp_path)
    venue = new_key(client, "venue")
    bad = dict(snapshot_json, snapshot_id="bad-vectors",
               instruments=[dict(snapshot_json["instruments"][0], scenario_pnl=["1"] * 11), *snapshot_json["instruments"][1:]])
    response = client.post("/v1/snapshots", json=signed_snapshot(bad), headers=venue)
    assert 400 <= response.status_code < 500, response.text
    assert "same length" in response.json()["error"]["message"]
