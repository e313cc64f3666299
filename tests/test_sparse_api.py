"""The library API and `zkmargin verify-batch` take a sparse circuit id like any other: make_keys, prove, verify,
verify_batch; a proof checked against a moved held row, another context or the wrong circuit is not valid."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

import zkmargin
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.cli.main import cli
from zkmargin.errors import MalformedKeyError
from zkmargin.groth16.serialization import proof_to_json, vk_to_json
from zkmargin.margin.models import snapshot_to_json
from zkmargin.margin.samples import sample_account, sample_snapshot

CIRCUIT = "cross-n6-p4-k4"


@pytest.fixture(scope="module")
def keys():
    return zkmargin.make_keys(CIRCUIT)


@pytest.fixture(scope="module")
def proved(keys):
    return zkmargin.prove(sample_account("healthy"), sample_snapshot(), keys, circuit_id=CIRCUIT, context=9)


def test_sparse_prove_verify_and_batch_through_the_library(keys, proved):
    snapshot = sample_snapshot()
    assert proved.circuit_id == CIRCUIT and len(proved.public) == 2 + 2 + 6 + 2 * 4
    assert zkmargin.verify(proved.proof, proved.public, snapshot, keys.vk, circuit_id=CIRCUIT)
    replayed = [proved.public[0], 10, *proved.public[2:]]
    assert not zkmargin.verify(proved.proof, replayed, snapshot, keys.vk, circuit_id=CIRCUIT)
    held = next(p.instrument for p in sample_account("healthy").positions if p.quantity_e8 != 0)
    moved = replace(
        snapshot,
        instruments=tuple(
            replace(q, mark_price_e8=q.mark_price_e8 + 1) if q.instrument == held else q for q in snapshot.instruments
        ),
    )
    # The verifier's own (moved) snapshot: the table digest and the held row both differ, and the proof fails.
    moved_public = [*proved.public[:2], *circuit_from_id(CIRCUIT).snapshot_inputs(moved)]
    assert moved_public[2:] != proved.public[2:]
    assert not zkmargin.verify(proved.proof, moved_public, moved, keys.vk, circuit_id=CIRCUIT)
    report = zkmargin.verify_batch(
        [(proved.proof, proved.public), (proved.proof, replayed)], snapshot, keys.vk, circuit_id=CIRCUIT
    )
    assert [v.outcome for v in report.verdicts] == ["valid", "invalid"]


def test_a_dense_key_does_not_prove_a_sparse_id(keys):
    with pytest.raises(MalformedKeyError):
        zkmargin.prove(sample_account("healthy"), sample_snapshot(), keys, circuit_id="cross-n6-p3-k4", context=9)


def test_sparse_verify_batch_cli(tmp_path, keys, proved):
    (tmp_path / "vk.json").write_text(json.dumps(vk_to_json(keys.vk, alphabeta=[])))
    (tmp_path / "snapshot.json").write_text(json.dumps(snapshot_to_json(sample_snapshot())))
    proof = proof_to_json(proved.proof)
    items = [
        {"id": "a", "commitment": str(proved.public[0]), "context": "9", "proof": proof},
        {"id": "b", "commitment": str(proved.public[0]), "context": "8", "proof": proof},
    ]
    (tmp_path / "items.jsonl").write_text("\n".join(json.dumps(item) for item in items) + "\n")
    args = [
        "verify-batch",
        str(tmp_path / "items.jsonl"),
        "--vk",
        str(tmp_path / "vk.json"),
        "--snapshot",
        str(tmp_path / "snapshot.json"),
        "--circuit",
        CIRCUIT,
        "--report-dir",
        str(tmp_path / "report"),
        "--json",
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert summary["total"] == 2 and summary["valid"] == 1
    (tmp_path / "items.jsonl").write_text(json.dumps(items[0]) + "\n")
    assert CliRunner().invoke(cli, args, catch_exceptions=False).exit_code == 0


def test_a_real_sparse_membership_proof():
    """cross-n<N>-p<P>-k<K>-m<depth>: the membership wrapper proves and verifies the sparse statement."""
    from zkmargin.gadgets.merkle import identity_commitment, member_leaf
    from zkmargin.venue.tree import MerklePath, MerkleTree

    circuit_id = "cross-n6-p4-k4-m2"
    salt, scope, secret = 4242, 31337, 0x5EC12E7
    account, snapshot = sample_account("healthy"), sample_snapshot()
    commitment = circuit_from_id(circuit_id).witness(account, snapshot, salt).commitment
    leaf = member_leaf(commitment, identity_commitment(secret))
    tree = MerkleTree([111, leaf, 333], 2)
    path = MerklePath(account.account_id, leaf, 1, tuple(tree.path(1)), tree.root, 2)
    pk = zkmargin.make_keys(circuit_id)
    proved = zkmargin.prove(account, snapshot, pk, circuit_id=circuit_id, context=3, salt=salt, path=path, scope=scope,
                            secret=secret)
    assert proved.public[0] == tree.root and len(proved.public) == 4 + 2 + 6 + 2 * 4
    assert zkmargin.verify(proved.proof, proved.public, snapshot, pk.vk, circuit_id=circuit_id, root=tree.root)
    other_root = MerkleTree([111, 222, 333], 2).root
    forged = [other_root, *proved.public[1:]]
    assert not zkmargin.verify(proved.proof, forged, snapshot, pk.vk, circuit_id=circuit_id, root=other_root)
