"""Every margin model through the service: register, publish, verify (small capacities)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from tests.verifier_service.conftest import admin_headers, attestation_json, new_key, publish
from zkmargin.backends import get_backend
from zkmargin.circuits.proving import prove_account
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.groth16 import setup
from zkmargin.groth16.serialization import proof_to_json, vk_to_json
from zkmargin.margin.models import Account, RiskParams, Tier, snapshot_to_json
from zkmargin.margin.samples import sample_account, sample_snapshot

E8 = 10**8


def model_case(circuit_id: str):
    snapshot = sample_snapshot()
    account = sample_account("healthy")
    if circuit_id.startswith("isolated"):
        first = account.positions[0]
        account = Account(account.account_id, account.collateral,
                          (replace(first, isolated_asset="USD", isolated_amount_e8=5_000 * E8), *account.positions[1:]))
    if circuit_id.startswith("tiered"):
        tiers = (Tier(0, 10**4 * E8, E8 // 200, 0), Tier(10**4 * E8, 2**64 - 1, E8 // 100, 50 * E8))
        snapshot = replace(snapshot, instruments=tuple(replace(q, tiers=tiers) for q in snapshot.instruments))
    if circuit_id.startswith("portfolio"):
        snapshot = replace(snapshot, instruments=tuple(
            replace(q, risk=RiskParams("perpetual", q.mark_price_e8, E8 // 10, E8 // 20, 2 * E8, 35 * E8 // 100))
            for q in snapshot.instruments))
    return snapshot, account


@pytest.mark.parametrize("circuit_id", ["isolated-n6-k4", "tiered-n6-k4-t2", "portfolio-n6-k4"])
def test_model_round_trip_through_the_service(client, circuit_id):
    backend = get_backend("arkworks")
    circuit = circuit_from_id(circuit_id)
    snapshot, account = model_case(circuit_id)
    pk = setup(circuit.compile(), random.Random(1), backend)
    proof, public = prove_account(circuit, pk, account, snapshot, 17, 23, backend)
    venue = new_key(client, "venue")
    assert client.post("/v1/circuits", json={"circuit_id": circuit_id,
                                             "verification_key": vk_to_json(pk.vk, backend, alphabeta=[])},
                       headers=admin_headers()).status_code == 201
    assert publish(client, snapshot_to_json(snapshot), venue).status_code == 201
    body = {"circuit_id": circuit_id, "snapshot_id": snapshot.snapshot_id, "commitment": str(public.commitment),
            "context": "23", "proof": proof_to_json(proof, backend),
            "attestation": attestation_json(snapshot_to_json(snapshot), public.commitment)}
    assert client.post("/v1/verify", json=body).json()["valid"] is True
    assert client.post("/v1/verify", json={**body, "context": "24"}).json()["valid"] is False
    batch = client.post("/v1/verify/batch", json={"circuit_id": circuit_id, "snapshot_id": snapshot.snapshot_id,
                                                   "items": [{k: body[k] for k in ("commitment", "context", "proof", "attestation")}]})
    assert batch.json()["valid"] == 1
