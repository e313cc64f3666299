"""Service fixtures: one small circuit's keys and proof per session, a fresh app per test."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from circuits.proving import prove_account
from circuits.registry import circuit_from_id
from verifier_service.app import create_app
from verifier_service.settings import Settings
from zkmargin.backends import get_backend
from zkmargin.groth16 import setup
from zkmargin.groth16.serialization import proof_to_json, vk_to_json
from zkmargin.margin.models import snapshot_to_json
from zkmargin.margin.samples import sample_account, sample_snapshot

CIRCUIT = "cross-n6-k4"
ADMIN = "admin-secret-for-tests"


@dataclass
class Material:
    vk_json: dict
    snapshot_json: dict
    proof_json: dict
    commitment: int
    context: int
    proof: object


@pytest.fixture(scope="session")
def material() -> Material:
    backend = get_backend("arkworks")
    circuit = circuit_from_id(CIRCUIT)
    pk = setup(circuit.compile(), random.Random(4), backend)
    snapshot = sample_snapshot()
    proof, public = prove_account(circuit, pk, sample_account("healthy"), snapshot, 1234, 99, backend)
    return Material(vk_to_json(pk.vk, backend, alphabeta=[]), snapshot_to_json(snapshot), proof_to_json(proof, backend),
                    public.commitment, 99, proof)


def make_client(tmp_path, **overrides) -> TestClient:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/service.db", admin_key=ADMIN, **overrides)
    return TestClient(create_app(settings))


@pytest.fixture
def client(tmp_path) -> TestClient:
    return make_client(tmp_path)


def admin_headers() -> dict:
    return {"Authorization": f"Bearer {ADMIN}"}


def new_key(client: TestClient, role: str) -> dict:
    response = client.post("/v1/keys", json={"role": role, "name": f"{role}-1"}, headers=admin_headers())
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def ready(client, material):
    """A client with the circuit registered and the snapshot published; returns (client, venue headers)."""
    venue = new_key(client, "venue")
    assert client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                       headers=admin_headers()).status_code == 201
    assert client.post("/v1/snapshots", json=material.snapshot_json, headers=venue).status_code == 201
    return client, venue


def verify_body(material: Material, **changes) -> dict:
    body = {"circuit_id": CIRCUIT, "snapshot_id": material.snapshot_json["snapshot_id"],
            "commitment": str(material.commitment), "context": str(material.context), "proof": material.proof_json}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}
