"""Anonymous-mode material shared by the service's tests: a -m4 membership proof of the sample account under a
venue-signed root, and an app serving it (fixtures: anonymous, served)."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.verifier_service.conftest import CIRCUIT, VENUE_KEY, admin_headers, new_key, publish
from zkmargin.backends import get_backend
from zkmargin.circuits.circuit import AnyCircuit
from zkmargin.circuits.proving import prove_member
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.gadgets.merkle import identity_commitment, member_leaf
from zkmargin.groth16 import setup
from zkmargin.groth16.serialization import proof_to_json, vk_to_json
from zkmargin.margin.models import Account, Snapshot, snapshot_to_json
from zkmargin.margin.samples import sample_account, sample_snapshot
from zkmargin.venue.attestation import sign_root, signed_root_to_json
from zkmargin.venue.tree import MerklePath, MerkleTree

MEMBER = f"{CIRCUIT}-m4"
DEPTH = 4
SCOPE = 5
CONTEXT = 8
SECRET = 0x5EC12E7  # alice's identity secret; the venue holds only identity_commitment(SECRET)
OTHER_LEAVES = (1111, 3333)  # other accounts' leaves (stand-ins)


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
    later_snapshot_json: dict  # a second snapshot: alice commits afresh (new salt) and the venue signs a new tree
    later_signed_root: dict
    later_proof_json: dict
    later_nullifier: int


@pytest.fixture(scope="module")
def anonymous() -> Anonymous:
    backend = get_backend("arkworks")
    circuit = circuit_from_id(MEMBER)
    pk = setup(circuit.compile(), random.Random(6), backend)
    snapshot, account, salt = sample_snapshot(), sample_account("healthy"), 4321
    leaves, path = member_tree(circuit, account, snapshot, salt)
    proof, public = prove_member(circuit, pk, account, snapshot, salt, CONTEXT, path, SCOPE, SECRET, backend)
    other, other_public = prove_member(circuit, pk, account, snapshot, salt, CONTEXT, path, SCOPE + 1, SECRET,
                                       backend)
    deeper = MerkleTree(leaves, DEPTH + 1)
    later = dataclasses.replace(snapshot, snapshot_id=f"{snapshot.snapshot_id}-later")
    later_leaves, later_path = member_tree(circuit, account, later, 8765)
    later_proof, later_public = prove_member(circuit, pk, account, later, 8765, CONTEXT, later_path, SCOPE, SECRET,
                                             backend)
    return Anonymous(
        vk_to_json(pk.vk, backend, alphabeta=[]), snapshot_to_json(snapshot),
        signed_root_to_json(sign_root(VENUE_KEY, snapshot, DEPTH, len(leaves), path.root)),
        signed_root_to_json(sign_root(VENUE_KEY, snapshot, DEPTH + 1, len(leaves), deeper.root)),
        proof_to_json(proof, backend), public.extra[1], proof_to_json(other, backend), other_public.extra[1],
        snapshot_to_json(later),
        signed_root_to_json(sign_root(VENUE_KEY, later, DEPTH, len(later_leaves), later_path.root)),
        proof_to_json(later_proof, backend), later_public.extra[1])


def member_tree(circuit: AnyCircuit, account: Account, snapshot: Snapshot, salt: int,
                depth: int = DEPTH) -> tuple[list[int], MerklePath]:
    """The venue's leaves (alice's commitment bound to her identity, at index 1) and alice's path."""
    leaf = member_leaf(circuit.commitment(circuit.witness(account, snapshot, salt)), identity_commitment(SECRET))
    leaves = [OTHER_LEAVES[0], leaf, OTHER_LEAVES[1]]
    tree = MerkleTree(leaves, depth)
    return leaves, MerklePath("alice", leaf, 1, tuple(tree.path(1)), tree.root, depth)


def register_root(client: TestClient, anonymous: Anonymous, document: dict | None = None,
                  snapshot_id: str | None = None) -> str:
    response = client.post("/v1/roots", json={"snapshot_id": snapshot_id or anonymous.snapshot_json["snapshot_id"],
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
