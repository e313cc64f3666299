"""`zkmargin export solidity|calldata`: files, output, exit codes, and the CLI flow end to end in the EVM."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.evm.node_evm import NodeEvm, unavailable_reason
from zkmargin.backends import get_backend
from zkmargin.cli.main import cli
from zkmargin.evm import proof_to_eip2537, verify_proof_calldata
from zkmargin.field import R
from zkmargin.groth16.serialization import proof_from_json, public_inputs_from_json

FIXTURES = Path(__file__).resolve().parents[1] / "groth16" / "fixtures" / "snarkjs"


@pytest.fixture
def triple(tmp_path) -> Path:
    if not FIXTURES.exists():
        pytest.skip(f"snarkjs fixtures not present at {FIXTURES}")
    for name in ("verification_key.json", "public.json", "proof.json"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(cli, ["export", *args], catch_exceptions=False)


def test_export_solidity_writes_a_verifier_for_the_key(triple):
    out = triple / "verifier.sol"
    result = run("solidity", str(triple / "verification_key.json"), str(out))
    assert result.exit_code == 0, result.output
    source = out.read_text()
    assert "contract Groth16Verifier" in source and "PUBLIC_INPUTS = 33;" in source
    assert "wrote" in result.stderr and result.stdout == ""


def test_export_solidity_margin_splits_the_inputs(triple):
    out = triple / "margin.sol"
    result = run("solidity", str(triple / "verification_key.json"), str(out), "--margin", "2", "--name", "Venue1")
    assert result.exit_code == 0, result.output
    source = out.read_text()
    assert "contract Venue1" in source and "PER_PROOF_INPUTS = 2;" in source and "SNAPSHOT_INPUTS = 31;" in source


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--margin", "34"], "per-proof input count"),
        (["--margin", "-1"], "per-proof input count"),
        (["--name", "2bad"], "contract name"),
    ],
)
def test_export_solidity_bad_options_exit_2(triple, extra, message):
    out = triple / "x.sol"
    result = run("solidity", str(triple / "verification_key.json"), str(out), *extra)
    assert result.exit_code == 2 and message in result.stderr and not out.exists()


def test_export_solidity_bad_key_files_exit_2(triple):
    missing = run("solidity", str(triple / "nope.json"), str(triple / "x.sol"))
    assert missing.exit_code == 2 and "not found" in missing.stderr
    (triple / "bad.json").write_text('{"protocol": "groth16", "curve": "bn128"}')
    wrong_curve = run("solidity", str(triple / "bad.json"), str(triple / "x.sol"))
    assert wrong_curve.exit_code == 2 and "curve" in wrong_curve.stderr
    assert not (triple / "x.sol").exists()


def test_export_calldata_prints_the_call_arguments(triple):
    result = run("calldata", str(triple / "public.json"), str(triple / "proof.json"))
    assert result.exit_code == 0, result.output
    proof_hex, inputs = json.loads(f"[{result.stdout}]")
    backend = get_backend()
    proof = proof_from_json((triple / "proof.json").read_text(), backend)
    public = public_inputs_from_json((triple / "public.json").read_text())
    assert bytes.fromhex(proof_hex[2:]) == proof_to_eip2537(proof, backend)
    assert [int(v, 16) for v in inputs] == public
    encoded = run("calldata", str(triple / "public.json"), str(triple / "proof.json"), "--encoded")
    assert encoded.stdout.strip() == "0x" + verify_proof_calldata(public, proof, backend).hex()
    margin = run("calldata", str(triple / "public.json"), str(triple / "proof.json"),
                 "--margin", "2", "--snapshot-id", "0x" + "00" * 31 + "07")
    snapshot_id, per_proof, _ = json.loads(f"[{margin.stdout}]")
    assert snapshot_id.endswith("07") and [int(v, 16) for v in per_proof] == public[:2]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--margin", "2"], "--snapshot-id"),
        (["--snapshot-id", "0x" + "00" * 32], "--margin"),
        (["--margin", "2", "--snapshot-id", "0x12"], "32 bytes"),
        (["--margin", "40", "--snapshot-id", "0x" + "00" * 32, "--encoded"], "per-proof input count"),
    ],
)
def test_export_calldata_bad_options_exit_2(triple, extra, message):
    result = run("calldata", str(triple / "public.json"), str(triple / "proof.json"), *extra)
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_export_calldata_refuses_an_input_not_below_r(triple):
    public = json.loads((triple / "public.json").read_text())
    public[3] = str(int(public[3]) + R)
    (triple / "aliased.json").write_text(json.dumps(public))
    result = run("calldata", str(triple / "aliased.json"), str(triple / "proof.json"))
    assert result.exit_code == 2 and "public input 3" in result.stderr and result.stdout == ""


def test_cli_flow_in_the_evm(triple):
    """export solidity -> solc -> deploy -> call with `export calldata --encoded`: valid, then a changed input."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    assert run("solidity", str(triple / "verification_key.json"), str(triple / "verifier.sol")).exit_code == 0
    data = run("calldata", str(triple / "public.json"), str(triple / "proof.json"), "--encoded").stdout.strip()
    public = json.loads((triple / "public.json").read_text())
    public[0] = str(int(public[0]) + 1)
    (triple / "changed.json").write_text(json.dumps(public))
    changed = run("calldata", str(triple / "changed.json"), str(triple / "proof.json"), "--encoded").stdout.strip()
    evm = NodeEvm()
    try:
        evm.compile({"verifier.sol": (triple / "verifier.sol").read_text()})
        address, _ = evm.deploy("Groth16Verifier")
        assert evm.call(address, bytes.fromhex(data[2:])).returned_true
        assert evm.call(address, bytes.fromhex(changed[2:])).returned_false
    finally:
        evm.close()


def test_export_solidity_refuses_a_key_too_large_for_one_contract(tmp_path):
    import dataclasses
    import random

    from tests.groth16.circuits import compiled_cube
    from zkmargin.groth16 import setup
    from zkmargin.groth16.serialization import vk_to_json

    backend = get_backend("arkworks")
    vk = setup(compiled_cube(), random.Random(5), backend).vk
    big = dataclasses.replace(vk, gamma_abc_g1=tuple(backend.g1_batch_mul(backend.g1_generator(), list(range(2, 303)))))
    (tmp_path / "big.json").write_text(json.dumps(vk_to_json(big, backend)))
    result = run("solidity", str(tmp_path / "big.json"), str(tmp_path / "big.sol"))
    assert result.exit_code == 2 and "EIP-170" in result.stderr and not (tmp_path / "big.sol").exists()


def test_export_register_builds_the_values_from_the_verifiers_snapshot(tmp_path):
    """registerSnapshot's values are the circuit's own encoding of the snapshot, under its digest by default."""
    from tests.cli.samples import write_samples
    from zkmargin.attestation import snapshot_digest
    from zkmargin.circuits.registry import circuit_from_id
    from zkmargin.evm import register_snapshot_calldata
    from zkmargin.margin.models import load_snapshot

    snapshot_path = write_samples(tmp_path) / "snapshot.json"
    snapshot = load_snapshot(snapshot_path)
    values = circuit_from_id("cross-n8-k4").snapshot_inputs(snapshot)
    result = CliRunner().invoke(cli, ["export", "register", str(snapshot_path), "--circuit", "cross-n8-k4"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "0x" + register_snapshot_calldata(snapshot_digest(snapshot), values).hex()
    chosen = "ab" * 32
    result = CliRunner().invoke(cli, ["export", "register", str(snapshot_path), "--circuit", "cross-n8-k4",
                                      "--snapshot-id", chosen])
    assert result.stdout.strip() == "0x" + register_snapshot_calldata(chosen, values).hex()


@pytest.mark.parametrize("extra, message", [
    (["--circuit", "cross-n1-k1"], "capacity"),
    (["--circuit", "cross-n8-k4", "--snapshot-id", "0x12"], "32 bytes"),
    (["--circuit", "cross-n8-k4", "--snapshot-id", "zz" * 32], "not hexadecimal"),
])
def test_export_register_bad_input_exits_2(tmp_path, extra, message):
    from tests.cli.samples import write_samples

    snapshot_path = write_samples(tmp_path) / "snapshot.json"
    result = CliRunner().invoke(cli, ["export", "register", str(snapshot_path), *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output
