"""Anonymous-mode material shared by the service's tests: a -m4 membership proof of the sample account under a
venue-signed root, and an app serving it (fixtures: anonymous, served)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from tests.verifier_service.conftest import CIRCUIT, VENUE_KEY, admin_headers, new_key, publish
from zkmargin.attestation import sign_root, signed_root_to_json
from zkmargin.backends import get_backend
from zkmargin.circuits.proving import prove_member
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.groth16 import setup
from zkmargin.groth16.serialization import proof_to_json, vk_to_json
from zkmargin.margin.models import snapshot_to_json
from zkmargin.margin.samples import sample_account, sample_snapshot
from zkmargin.merkle_tree import MerklePath, MerkleTree

MEMBER = f"{CIRCUIT}-m4"
DEPTH = 4
SCOPE = 5
CONTEXT = 8


@dataclass
class Anonymous:
    vk_json: dict
    snapshot_json: dict
    signed_root: dict
    deeper_root: dict
    proof_json: dict
    nullifier: int
    other_scope_proof_json: dict
    other_scope_nullifier: int


@pytest.fixture(scope="module")
def anonymous() -> Anonymous:
    backend = get_backend("arkworks")
    circuit = circuit_from_id(MEMBER)
    pk = setup(circuit.compile(), random.Random(6), backend)
    snapshot, account, salt = sample_snapshot(), sample_account("healthy"), 4321
    leaf = circuit.commitment(circuit.witness(account, snapshot, salt))
    leaves = [1111, leaf, 3333]
    tree = MerkleTree(leaves, DEPTH)
    path = MerklePath("alice", leaf, 1, tuple(tree.path(1)), tree.root, DEPTH)
    proof, public = prove_member(circuit, pk, account, snapshot, salt, CONTEXT, path, SCOPE, backend)
    other, other_public = prove_member(circuit, pk, account, snapshot, salt, CONTEXT, path, SCOPE + 1, backend)
    deeper = MerkleTree(leaves, DEPTH + 1)
    return Anonymous(
        vk_to_json(pk.vk, backend, alphabeta=[]), snapshot_to_json(snapshot),
        signed_root_to_json(sign_root(VENUE_KEY, snapshot, DEPTH, len(leaves), tree.root)),
        signed_root_to_json(sign_root(VENUE_KEY, snapshot, DEPTH + 1, len(leaves), deeper.root)),
        proof_to_json(proof, backend), public.extra[1], proof_to_json(other, backend), other_public.extra[1])


def register_root(client, anonymous: Anonymous, document: dict | None = None) -> str:  # noqa: ANN001
    response = client.post("/v1/roots", json={"snapshot_id": anonymous.snapshot_json["snapshot_id"],
                                              "signed_root": document or anonymous.signed_root},
                           headers=new_key(client, "venue"))
    assert response.status_code == 201, response.text
    return response.json()["root_id"]


@pytest.fixture
def served(any_client, anonymous, material):  # noqa: F811 - any_client is conftest's or a module's own
    """Both circuits registered, the snapshot published (signed) and its root registered: (client, root_id).

    The client's requests carry a verifier's API key unless they give their own headers: showings are counted
    per key, and a request without one has no history (nullifier_seen_before is null)."""
    client = any_client
    client.headers.update(new_key(client, "verifier"))
    for circuit_id, vk_json in ((MEMBER, anonymous.vk_json), (CIRCUIT, material.vk_json)):
        assert client.post("/v1/circuits", json={"circuit_id": circuit_id, "verification_key": vk_json},
                           headers=admin_headers()).status_code == 201
    assert publish(client, anonymous.snapshot_json, new_key(client, "venue")).status_code == 201
    return client, register_root(client, anonymous)


def body(anonymous: Anonymous, registered: str, **changes) -> dict:
    fields = {"circuit_id": MEMBER, "root_id": registered, "scope": str(SCOPE), "nullifier": str(anonymous.nullifier),
              "context": str(CONTEXT), "proof": anonymous.proof_json}
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}
