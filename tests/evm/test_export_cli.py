"""`zkmargin export solidity|calldata|register|context`: files, output, exit codes, and the CLI flow end to end in the EVM."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.evm.node_evm import NodeEvm, unavailable_reason
from zkmargin.backends import get_backend
from zkmargin.cli.main import cli
from zkmargin.evm import proof_to_eip2537, verify_margin_calldata, verify_proof_calldata
from zkmargin.field import R
from zkmargin.groth16.serialization import proof_from_json, public_inputs_from_json

FIXTURES = Path(__file__).resolve().parents[1] / "groth16" / "fixtures" / "snarkjs"
BENEFICIARY = "0x" + "be" * 20


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


@pytest.mark.parametrize("mode, per_proof", [("named", 2), ("membership", 4)])
def test_export_solidity_margin_splits_the_inputs(triple, mode, per_proof):
    out = triple / "margin.sol"
    result = run("solidity", str(triple / "verification_key.json"), str(out), "--margin", mode, "--name", "Venue1")
    assert result.exit_code == 0, result.output
    source = out.read_text()
    assert "contract Venue1" in source and f"PER_PROOF_INPUTS = {per_proof};" in source
    assert f"SNAPSHOT_INPUTS = {33 - per_proof};" in source
    assert f"MEMBERSHIP = {'true' if mode == 'membership' else 'false'};" in source


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--margin", "2"], "'2' is not one of"),
        (["--margin", "plain"], "'plain' is not one of"),
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
    margin = run("calldata", str(triple / "public.json"), str(triple / "proof.json"), "--margin", "membership",
                 "--snapshot-id", "0x" + "00" * 31 + "07", "--beneficiary", BENEFICIARY, "--epoch", "3")
    assert margin.exit_code == 0, margin.output
    snapshot_id, beneficiary, epoch, per_proof, _ = json.loads(f"[{margin.stdout}]")
    assert snapshot_id.endswith("07") and [int(v, 16) for v in per_proof] == public[:4]
    assert (beneficiary, epoch) == (BENEFICIARY, 3)
    encoded = run("calldata", str(triple / "public.json"), str(triple / "proof.json"), "--margin", "named",
                  "--snapshot-id", "0x" + "00" * 31 + "07", "--beneficiary", BENEFICIARY, "--epoch", "3", "--encoded")
    assert encoded.stdout.strip() == "0x" + verify_margin_calldata("00" * 31 + "07", BENEFICIARY, 3, public[:2], proof,
                                                                   backend).hex()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--margin", "named"], "--snapshot-id, --beneficiary, --epoch"),
        (["--margin", "named", "--snapshot-id", "0x" + "00" * 32, "--epoch", "1"], "--margin needs --beneficiary"),
        (["--snapshot-id", "0x" + "00" * 32], "--margin"),
        (["--beneficiary", BENEFICIARY], "--margin"),
        (["--margin", "named", "--snapshot-id", "0x12", "--beneficiary", BENEFICIARY, "--epoch", "1"], "32 bytes"),
        (["--margin", "named", "--snapshot-id", "0x" + "00" * 32, "--beneficiary", "0x12", "--epoch", "1"],
         "20 bytes"),
        (["--margin", "named", "--snapshot-id", "0x" + "00" * 32, "--beneficiary", BENEFICIARY, "--epoch", "-1",
          "--encoded"], "epoch"),
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
    from zkmargin.circuits.registry import circuit_from_id
    from zkmargin.evm import register_snapshot_calldata
    from zkmargin.margin.models import load_snapshot
    from zkmargin.venue.attestation import snapshot_digest

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


# ----- registerAttested from the venue's signatures, and the on-chain context ------------------------------------
def _venue_files(tmp_path: Path, key_venue: str | None = None):
    """(snapshot path, snapshot, signing key, public key path) for the sample snapshot's venue (or key_venue)."""
    from tests.cli.samples import write_samples
    from zkmargin.margin.models import load_snapshot
    from zkmargin.venue.attestation import VenueSigningKey, public_key_to_json

    snapshot_path = write_samples(tmp_path) / "snapshot.json"
    snapshot = load_snapshot(snapshot_path)
    key = VenueSigningKey.generate()
    key_path = tmp_path / "venue.pub.json"
    key_path.write_text(json.dumps(public_key_to_json(key.public_key(key_venue or snapshot.venue))))
    return snapshot_path, snapshot, key, key_path


def test_export_register_attested_commitments_and_roots(tmp_path):
    """registerAttested calldata carries exactly the commitments and roots the venue signed for the snapshot."""
    from zkmargin.evm import register_attested_calldata
    from zkmargin.venue.attestation import attest, attestation_to_json, sign_root, signed_root_to_json, snapshot_digest

    snapshot_path, snapshot, key, key_path = _venue_files(tmp_path)
    (tmp_path / "alice.att.json").write_text(json.dumps(attestation_to_json(attest(key, snapshot, "alice", 1111))))
    lines = [json.dumps(attestation_to_json(attest(key, snapshot, a, c))) for a, c in (("bob", 2222), ("carol", 3333))]
    (tmp_path / "batch.jsonl").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(cli, ["export", "register", str(snapshot_path), "--venue-key", str(key_path),
                                      "--attestation", str(tmp_path / "alice.att.json"),
                                      "--attestation", str(tmp_path / "batch.jsonl")])
    assert result.exit_code == 0, result.output
    digest = snapshot_digest(snapshot)
    assert result.stdout.strip() == "0x" + register_attested_calldata(digest, [1111, 2222, 3333]).hex()
    (tmp_path / "root.json").write_text(json.dumps(signed_root_to_json(sign_root(key, snapshot, 3, 4, 4444))))
    result = CliRunner().invoke(cli, ["export", "register", str(snapshot_path), "--venue-key", str(key_path),
                                      "--signed-root", str(tmp_path / "root.json"), "--snapshot-id", "cd" * 32])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "0x" + register_attested_calldata("cd" * 32, [4444]).hex()


def test_export_register_refuses_what_the_venue_did_not_sign(tmp_path):
    """Issue 22: only commitments and roots under the venue's key, for this snapshot, become registration calldata."""
    import dataclasses

    from zkmargin.venue.attestation import (
        VenueSigningKey,
        attest,
        attestation_to_json,
        sign_root,
        signed_root_to_json,
    )

    snapshot_path, snapshot, key, key_path = _venue_files(tmp_path)
    stranger = VenueSigningKey.generate()
    other_snapshot = dataclasses.replace(snapshot, snapshot_id=snapshot.snapshot_id + "x")
    forged = attestation_to_json(attest(key, snapshot, "alice", 1111))
    forged["commitment"] = "1112"  # the signature covers 1111
    cases = {
        "stranger.att.json": attestation_to_json(attest(stranger, snapshot, "alice", 1111)),
        "other_snapshot.att.json": attestation_to_json(attest(key, other_snapshot, "alice", 1111)),
        "forged.att.json": forged,
        "stranger.root.json": signed_root_to_json(sign_root(stranger, snapshot, 3, 4, 4444)),
    }
    for name, doc in cases.items():
        (tmp_path / name).write_text(json.dumps(doc))
        option = "--signed-root" if name.endswith(".root.json") else "--attestation"
        result = CliRunner().invoke(cli, ["export", "register", str(snapshot_path), "--venue-key", str(key_path),
                                          option, str(tmp_path / name)])
        assert result.exit_code == 1 and "refused" in result.stderr and result.stdout == "", (name, result.output)
    (tmp_path / "other").mkdir()
    _, _, _, other_key = _venue_files(tmp_path / "other", key_venue="another-venue")
    (tmp_path / "good.att.json").write_text(json.dumps(attestation_to_json(attest(key, snapshot, "alice", 1111))))
    wrong_venue = CliRunner().invoke(cli, ["export", "register", str(snapshot_path), "--venue-key", str(other_key),
                                           "--attestation", str(tmp_path / "good.att.json")])
    assert wrong_venue.exit_code == 1 and wrong_venue.stdout == "", wrong_venue.output
    assert "another-venue" in wrong_venue.stderr



def test_export_register_checks_a_signed_roots_depth_against_the_circuit(tmp_path):
    """Adversarial review: a root the venue signed for a tree of another depth than the contract's circuit became
    registration calldata (no proof can ever use it; the off-chain verifier refuses it). With --circuit, the
    signed root's depth must be the membership circuit's."""
    from zkmargin.evm import register_attested_calldata
    from zkmargin.venue.attestation import sign_root, signed_root_to_json

    snapshot_path, snapshot, key, key_path = _venue_files(tmp_path)
    for depth in (3, 20):
        (tmp_path / f"root{depth}.json").write_text(json.dumps(signed_root_to_json(sign_root(key, snapshot, depth, 4, 4444))))
    base = ["export", "register", str(snapshot_path), "--venue-key", str(key_path)]
    ok = CliRunner().invoke(cli, [*base, "--signed-root", str(tmp_path / "root20.json"), "--circuit", "cross-n8-k4-m20",
                                  "--snapshot-id", "cd" * 32])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.strip() == "0x" + register_attested_calldata("cd" * 32, [4444]).hex()
    refused = CliRunner().invoke(cli, [*base, "--signed-root", str(tmp_path / "root20.json"),
                                       "--signed-root", str(tmp_path / "root3.json"), "--circuit", "cross-n8-k4-m20"])
    assert refused.exit_code == 1 and refused.stdout == "" and "depth-3" in refused.stderr, refused.output
    plain = CliRunner().invoke(cli, [*base, "--signed-root", str(tmp_path / "root20.json"), "--circuit", "cross-n8-k4"])
    assert plain.exit_code == 2 and "not a membership circuit" in plain.stderr, plain.output


@pytest.mark.parametrize("extra, message", [
    (["--attestation", "{att}"], "need --venue-key"),
    (["--venue-key", "{key}"], "--venue-key goes with"),
    (["--venue-key", "{key}", "--attestation", "{att}", "--signed-root", "{att}"], "not both"),
    (["--venue-key", "{key}", "--attestation", "{att}", "--circuit", "cross-n8-k4"], "takes no circuit"),
    (["--venue-key", "{key}", "--attestation", "{missing}"], "not found"),
    (["--venue-key", "{key}", "--attestation", "{garbage}"], "neither a JSON document"),
    (["--venue-key", "{key}", "--attestation", "{wrong_format}"], "format"),
])
def test_export_register_attested_bad_input_exits_2(tmp_path, extra, message):
    from zkmargin.venue.attestation import attest, attestation_to_json

    snapshot_path, snapshot, key, key_path = _venue_files(tmp_path)
    (tmp_path / "a.json").write_text(json.dumps(attestation_to_json(attest(key, snapshot, "alice", 1111))))
    (tmp_path / "garbage.json").write_text("{not json")
    (tmp_path / "wrong.json").write_text(json.dumps({"format": "nope"}))
    paths = {"att": tmp_path / "a.json", "key": key_path, "missing": tmp_path / "nope.json",
             "garbage": tmp_path / "garbage.json", "wrong_format": tmp_path / "wrong.json"}
    args = [a.format(**paths) for a in extra]
    result = CliRunner().invoke(cli, ["export", "register", str(snapshot_path), *args])
    assert result.exit_code == 2 and message in result.stderr and result.stdout == "", result.output


def test_export_context_is_the_library_value(tmp_path):
    from zkmargin.evm import onchain_context, onchain_scope

    contract = "0x" + "12" * 20
    args = ["context", "--chain-id", "1", "--contract", contract, "--beneficiary", BENEFICIARY, "--epoch", "9"]
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"context": str(onchain_context(1, contract, BENEFICIARY, 9)),
                                         "scope": str(onchain_scope(1, contract, 9))}
    for bad, message in ((["--chain-id", "0"], "chain id"), (["--beneficiary", "0x" + "00" * 20], "zero address"),
                         (["--contract", "0xzz"], "hexadecimal"), (["--epoch", str(2**64)], "epoch")):
        changed = list(args)
        changed[changed.index(bad[0]) + 1] = bad[1]
        refused = run(*changed)
        assert refused.exit_code == 2 and message in refused.stderr, (bad, refused.output)
