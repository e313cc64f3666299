"""The public library API (`import zkmargin`): the README's example runs as written, the names load lazily,
and verify reads only the header from the prover's public inputs."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import zkmargin
from tests.npm_tools import snarkjs_command
from zkmargin.errors import CircuitError, MalformedKeyError, PublicInputError
from zkmargin.margin.samples import sample_account, sample_snapshot

ROOT = Path(__file__).resolve().parents[1]
CIRCUIT = "cross-n6-k4"


def readme_library_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Library\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the Library section holds one python example"
    return blocks[0]


@pytest.fixture(scope="module")
def keys():
    return zkmargin.make_keys(CIRCUIT)


def test_readme_library_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(readme_library_example(), "README.md:Library", "exec"), {"__name__": "readme_example"})
    lines = printed.getvalue().splitlines()
    assert lines[0].startswith("no proof:")
    assert lines[-1] == str({"valid": 2, "invalid": 0, "malformed": 0, "refused": 0})
    snarkjs = snarkjs_command()
    if snarkjs is None:
        pytest.skip("snarkjs is not installed (.ci/run installs it)")
    checked = subprocess.run([*snarkjs, "groth16", "verify", "verification_key.json", "public.json", "proof.json"],
                             capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert checked.returncode == 0 and "OK" in checked.stdout, checked.stdout + checked.stderr


def test_import_zkmargin_loads_no_circuit_until_a_name_is_used():
    code = ("import sys, zkmargin; before = 'zkmargin.circuits' in sys.modules; zkmargin.verify; "
            "print(before, 'zkmargin.circuits.api' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True"]


def test_every_exported_name_resolves_and_unknown_names_raise():
    for name in zkmargin.__all__:
        assert getattr(zkmargin, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'prove_everything'"):
        zkmargin.prove_everything  # noqa: B018


def test_the_public_namespace_is_the_api_only():
    code = "import zkmargin; print(*[n for n in dir(zkmargin) if not n.startswith('_')])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == sorted(zkmargin.__all__)
    with pytest.raises(AttributeError):
        zkmargin.annotations  # noqa: B018


def test_a_key_for_another_circuit_is_refused(keys):
    with pytest.raises(MalformedKeyError, match="cross-n6-k5"):
        zkmargin.prove(sample_account("healthy"), sample_snapshot(), keys, circuit_id="cross-n6-k5")


def test_public_inputs_made_against_another_snapshot_are_refused_by_name(keys):
    snapshot = sample_snapshot()
    proved = zkmargin.prove(sample_account("healthy"), snapshot, keys, circuit_id=CIRCUIT)
    other = list(proved.public)
    other[-1] = (other[-1] + 1)
    with pytest.raises(PublicInputError, match="another snapshot"):
        zkmargin.verify(proved.proof, other, snapshot, keys.vk, circuit_id=CIRCUIT)
    with pytest.raises(PublicInputError, match="public inputs"):
        zkmargin.verify(proved.proof, proved.public[:-1], snapshot, keys.vk, circuit_id=CIRCUIT)
    report = zkmargin.verify_batch([(proved.proof, other), (proved.proof, proved.public)], snapshot, keys.vk,
                                   circuit_id=CIRCUIT)
    assert [v.outcome for v in report.verdicts] == ["malformed", "valid"]
    assert "another snapshot" in report.verdicts[0].error


def test_files_round_trip_in_snarkjs_form(tmp_path, keys):
    proved = zkmargin.prove(sample_account("healthy"), sample_snapshot(), keys, circuit_id=CIRCUIT, context=7)
    assert proved.context == 7 and list(proved.header) == ["commitment", "context"]
    zkmargin.write_public(tmp_path / "public.json", proved.public)
    assert json.loads((tmp_path / "public.json").read_text()) == [str(v) for v in proved.public]
    assert zkmargin.read_public(tmp_path / "public.json") == proved.public
    zkmargin.write_proving_key(tmp_path / "proving_key.bin", keys)
    assert (tmp_path / "proving_key.bin").stat().st_mode & 0o777 == 0o600
    again = zkmargin.read_proving_key(tmp_path / "proving_key.bin")
    assert again.circuit_digest == keys.circuit_digest
    zkmargin.write_proof(tmp_path / "proof.json", proved.proof)
    assert zkmargin.verify(zkmargin.read_proof(tmp_path / "proof.json"), proved.public, sample_snapshot(),
                           again.vk, circuit_id=CIRCUIT)


def test_membership_mode_through_the_api():
    """A -m<depth> circuit: prove with the venue's path and the verifier's scope; verify reads the 4-wide header."""
    from zkmargin.circuits.registry import circuit_from_id
    from zkmargin.gadgets.merkle import identity_commitment, member_leaf, nullifier
    from zkmargin.venue.tree import MerklePath, MerkleTree

    circuit_id, snapshot, account = f"{CIRCUIT}-m3", sample_snapshot(), sample_account("healthy")
    salt, secret = 12345, 0x5EC12E7
    circuit = circuit_from_id(CIRCUIT)
    leaf = member_leaf(circuit.commitment(circuit.witness(account, snapshot, salt)), identity_commitment(secret))
    tree = MerkleTree([11, leaf, 13], 3)
    path = MerklePath(account.account_id, leaf, 1, tuple(tree.path(1)), tree.root, 3)
    pk = zkmargin.make_keys(circuit_id)
    with pytest.raises(CircuitError, match="path, scope"):
        zkmargin.prove(account, snapshot, pk, circuit_id=circuit_id, salt=salt)
    with pytest.raises(CircuitError, match="identity secret"):
        zkmargin.prove(account, snapshot, pk, circuit_id=circuit_id, salt=salt, path=path, scope=7)
    proved = zkmargin.prove(account, snapshot, pk, circuit_id=circuit_id, salt=salt, path=path, scope=7,
                            secret=secret)
    assert proved.header["nullifier"] == nullifier(secret, 7)
    assert list(proved.header) == ["root", "context", "scope", "nullifier"]
    assert proved.header["root"] == tree.root and proved.header["scope"] == 7
    root = tree.root
    assert zkmargin.verify(proved.proof, proved.public, snapshot, pk.vk, circuit_id=circuit_id, root=root)
    other_scope = [*proved.public[:2], 8, *proved.public[3:]]
    assert not zkmargin.verify(proved.proof, other_scope, snapshot, pk.vk, circuit_id=circuit_id, root=root)
    report = zkmargin.verify_batch([(proved.proof, proved.public), (proved.proof, other_scope)], snapshot, pk.vk,
                                   circuit_id=circuit_id, root=root)
    assert [v.outcome for v in report.verdicts] == ["valid", "invalid"]


def test_a_membership_proof_under_a_root_the_prover_chose_is_refused():
    """Without the venue's key or the verifier's own root, the prover's tree could be a one-leaf tree of its own:
    a valid proof under such a root is refused, and under the trusted root a proof for another root is too."""
    from zkmargin.circuits.registry import circuit_from_id
    from zkmargin.errors import UnattestedError, WrongCommitmentError
    from zkmargin.gadgets.merkle import identity_commitment, member_leaf
    from zkmargin.venue.tree import MerklePath, MerkleTree

    circuit_id, snapshot, account, salt = f"{CIRCUIT}-m2", sample_snapshot(), sample_account("healthy"), 99
    circuit = circuit_from_id(CIRCUIT)
    leaf = member_leaf(circuit.commitment(circuit.witness(account, snapshot, salt)), identity_commitment(5))
    own_tree = MerkleTree([leaf], 2)  # the prover's own one-leaf tree: a perfectly valid membership proof
    path = MerklePath(account.account_id, leaf, 0, tuple(own_tree.path(0)), own_tree.root, 2)
    pk = zkmargin.make_keys(circuit_id)
    proved = zkmargin.prove(account, snapshot, pk, circuit_id=circuit_id, salt=salt, path=path, scope=1, secret=5)
    with pytest.raises(UnattestedError, match="no trusted root"):
        zkmargin.verify(proved.proof, proved.public, snapshot, pk.vk, circuit_id=circuit_id)
    venue_root = MerkleTree([11, 12, 13], 2).root
    with pytest.raises(WrongCommitmentError, match="not the root this verifier trusts"):
        zkmargin.verify(proved.proof, proved.public, snapshot, pk.vk, circuit_id=circuit_id, root=venue_root)
    report = zkmargin.verify_batch([(proved.proof, proved.public)], snapshot, pk.vk, circuit_id=circuit_id)
    assert report.verdicts[0].outcome == "refused" and "no trusted root" in report.verdicts[0].refused
    assert zkmargin.verify(proved.proof, proved.public, snapshot, pk.vk, circuit_id=circuit_id, root=own_tree.root)
