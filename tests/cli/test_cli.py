"""The zkmargin command walked in CLI order, plus its error paths (exit codes and messages)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.cli.samples import write_samples
from tests.key_cache import install_bundle
from zkmargin.cli.main import cli

CIRCUIT = "cross-n8-k4"  # fits the sample snapshot, small enough for a quick setup


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, key_bundle) -> Path:
    """Sample files, CIRCUIT's keys in the cache and a proof: what every test here reads (none writes the keys)."""
    root = tmp_path_factory.mktemp("cli")
    write_samples(root)
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    install_bundle(key_bundle(CIRCUIT), root / "cache", CIRCUIT)
    opening = root / "fixture-opening.json"
    assert run(root, "commit", str(root / "healthy.json"), str(root / "snapshot.json"), "--opening", str(opening),
               "--circuit", CIRCUIT).exit_code == 0
    proved = run(root, "prove", str(root / "healthy.json"), str(root / "snapshot.json"), "--opening", str(opening),
                 "--context", "1", "--out", str(root / "proof.json"), "--public-out", str(root / "public.json"))
    assert proved.exit_code == 0, proved.output
    return root


def run(workdir: Path, *args: str):
    runner = CliRunner()
    return runner.invoke(cli, ["--cache-dir", str(workdir / "cache"), *args], catch_exceptions=False)


def test_margin_reports_status_and_exit_codes(workdir):
    ok = run(workdir, "margin", str(workdir / "healthy.json"), str(workdir / "snapshot.json"), "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["status"] == "healthy"
    bad = run(workdir, "margin", str(workdir / "margin_call.json"), str(workdir / "snapshot.json"))
    assert bad.exit_code == 1
    assert "margin_call" in bad.stdout or "margin call" in bad.stdout


def test_full_flow_commit_setup_prove_verify(tmp_path):
    workdir = tmp_path  # its own cache: this flow makes the keys
    write_samples(workdir)
    opening = workdir / "opening.json"
    committed = run(workdir, "commit", str(workdir / "healthy.json"), str(workdir / "snapshot.json"),
                    "--opening", str(opening), "--circuit", CIRCUIT, "--json")
    assert committed.exit_code == 0, committed.output
    commitment = json.loads(committed.stdout)["commitment"]
    assert stat.S_IMODE(os.stat(opening).st_mode) == 0o600

    again = run(workdir, "commit", str(workdir / "healthy.json"), str(workdir / "snapshot.json"),
                "--opening", str(opening), "--circuit", CIRCUIT)
    assert again.exit_code == 2 and "already exists" in again.stderr  # the salt is never overwritten

    made = run(workdir, "setup", "--circuit", CIRCUIT)
    assert made.exit_code == 0, made.output
    assert "new keys" in made.stdout and "setting up keys for cross-n8-k4" in made.stderr
    proved = run(workdir, "prove", str(workdir / "healthy.json"), str(workdir / "snapshot.json"),
                 "--opening", str(opening), "--context", "424242",
                 "--out", str(workdir / "proof.json"), "--public-out", str(workdir / "public.json"))
    assert proved.exit_code == 0, proved.output
    assert "key bundle" in proved.stderr and "proving cross-n8-k4" in proved.stderr  # progress on stderr
    assert "setting up keys" not in proved.stderr

    verify_args = ["verify", str(workdir / "proof.json"), "--snapshot", str(workdir / "snapshot.json"),
                   "--commitment", commitment, "--circuit", CIRCUIT]
    valid = run(workdir, *verify_args, "--context", "424242", "--json")
    assert valid.exit_code == 0, valid.output
    assert json.loads(valid.stdout)["valid"] is True
    replay = run(workdir, *verify_args, "--context", "424243")
    assert replay.exit_code == 1 and "INVALID" in replay.stdout

    inspected = run(workdir, "inspect", "--circuit", CIRCUIT, "--json")
    info = json.loads(inspected.stdout)
    assert info["public_inputs"] == len(json.loads((workdir / "public.json").read_text()))


def test_proving_a_margin_call_fails_without_writing_a_proof(workdir):
    opening = workdir / "mc-opening.json"
    assert run(workdir, "commit", str(workdir / "margin_call.json"), str(workdir / "snapshot.json"),
               "--opening", str(opening), "--circuit", CIRCUIT).exit_code == 0
    proof = workdir / "mc-proof.json"
    result = run(workdir, "prove", str(workdir / "margin_call.json"), str(workdir / "snapshot.json"),
                 "--opening", str(opening), "--context", "1", "--out", str(proof),
                 "--public-out", str(workdir / "mc-public.json"))
    assert result.exit_code == 1
    assert "account is subject to a margin call: equity" in result.stderr and "< maintenance" in result.stderr
    assert not proof.exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["margin", "missing.json", "snapshot.json"], "not found"),
        (["margin", "snapshot.json", "snapshot.json"], "account"),
        (["margin", "deep.json", "snapshot.json"], "nested too deeply"),
        (["margin", "healthy.json", "deep.json"], "nested too deeply"),
        (["verify", "deep.json", "--snapshot", "snapshot.json", "--commitment", "1", "--context", "1",
          "--circuit", CIRCUIT], "nested too deeply"),
        (["inspect", "--circuit", "cross-n0-k0"], "unknown circuit"),
        (["verify", "proof.json", "--snapshot", "snapshot.json", "--commitment", "xyz", "--context", "1",
          "--circuit", CIRCUIT], "commitment"),
        (["verify", "snapshot.json", "--snapshot", "snapshot.json", "--commitment", "1", "--context", "1",
          "--circuit", CIRCUIT], "proof"),
    ],
)
def test_bad_input_is_a_message_and_exit_2(workdir, args, message):
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        result = run(workdir, *args)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 2, result.output
    assert "error" in result.stderr.lower() and message in result.stderr.lower()
    assert "Traceback" not in result.output


def test_isolated_model_flow(workdir):
    account = json.loads((workdir / "healthy.json").read_text())
    account["positions"][0]["isolated"] = {"asset": "USD", "amount": "5000"}
    (workdir / "isolated.json").write_text(json.dumps(account))
    refused = run(workdir, "margin", str(workdir / "isolated.json"), str(workdir / "snapshot.json"))
    assert refused.exit_code == 2 and "--model isolated" in refused.stderr
    report = run(workdir, "margin", str(workdir / "isolated.json"), str(workdir / "snapshot.json"),
                 "--model", "isolated", "--json")
    assert report.exit_code == 0 and json.loads(report.stdout)["model"] == "isolated"
    opening = workdir / "iso-opening.json"
    assert run(workdir, "setup", "--circuit", "isolated-n8-k4").exit_code == 0
    committed = run(workdir, "commit", str(workdir / "isolated.json"), str(workdir / "snapshot.json"),
                    "--opening", str(opening), "--circuit", CIRCUIT, "--model", "isolated", "--json")
    assert committed.exit_code == 0, committed.output
    assert json.loads(committed.stdout)["circuit_id"] == "isolated-n8-k4"
    proved = run(workdir, "prove", str(workdir / "isolated.json"), str(workdir / "snapshot.json"),
                 "--opening", str(opening), "--context", "7", "--out", str(workdir / "iso-proof.json"),
                 "--public-out", str(workdir / "iso-public.json"))
    assert proved.exit_code == 0, proved.output
    verified = run(workdir, "verify", str(workdir / "iso-proof.json"), "--snapshot", str(workdir / "snapshot.json"),
                   "--commitment", json.loads(committed.stdout)["commitment"], "--context", "7",
                   "--circuit", "isolated-n8-k4")
    assert verified.exit_code == 0, verified.output


def test_prove_refuses_an_account_changed_after_commit(workdir):
    opening = workdir / "changed-opening.json"
    assert run(workdir, "commit", str(workdir / "healthy.json"), str(workdir / "snapshot.json"),
               "--opening", str(opening), "--circuit", CIRCUIT).exit_code == 0
    account = json.loads((workdir / "healthy.json").read_text())
    account["collateral"][0]["amount"] = "1"
    (workdir / "changed.json").write_text(json.dumps(account))
    result = run(workdir, "prove", str(workdir / "changed.json"), str(workdir / "snapshot.json"),
                 "--opening", str(opening), "--context", "1", "--out", str(workdir / "changed-proof.json"),
                 "--public-out", str(workdir / "changed-public.json"))
    assert result.exit_code == 2 and "does not match the commitment" in result.stderr
    assert not (workdir / "changed-proof.json").exists()
