"""CLI messages: JSON errors under --json, errors naming their file, model reports, the demo's snarkjs files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.cli.samples import write_samples
from tests.npm_tools import snarkjs_command
from zkmargin.cli.main import cli

FIXTURES = Path(__file__).resolve().parents[1] / "groth16" / "fixtures" / "snarkjs"
CIRCUIT = "cross-n6-k4"
MODELS = ("cross", "isolated", "tiered", "portfolio")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("messages")
    write_samples(root)
    (root / "empty.json").write_text("")
    for name in ("verification_key.json", "public.json", "proof.json"):
        shutil.copy(FIXTURES / name, root / name)
    return root


def run(root: Path, *args: str):
    return CliRunner().invoke(cli, ["--cache-dir", str(root / "cache"), *args], catch_exceptions=False)


def verify_args(root: Path, proof: str) -> list[str]:
    return ["verify", str(root / proof), "--snapshot", str(root / "snapshot.json"), "--commitment", "1",
            "--context", "1", "--circuit", CIRCUIT, "--vk", str(root / "verification_key.json")]


# ----- --json: errors as JSON on stdout, and the flag before the subcommand ---------------------------------
@pytest.mark.parametrize("where", ["after", "before"])
def test_json_errors_are_an_object_on_stdout_with_the_exit_code_unchanged(files, where):
    args = ["margin", str(files / "missing.json"), str(files / "snapshot.json")]
    result = run(files, *(["--json", *args] if where == "before" else [*args, "--json"]))
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert error["error"]["code"] == "bad_input" and error["exit_code"] == 2
    assert "missing.json" in error["error"]["message"] and "missing.json" in result.stderr


def test_json_usage_errors_and_margin_calls_are_json_too(files, tmp_path):
    usage = run(files, "margin", str(files / "healthy.json"), "--json", "--no-such-option")
    assert usage.exit_code == 2 and json.loads(usage.stdout)["error"]["code"] == "usage"
    assert run(files, "commit", str(files / "margin_call.json"), str(files / "snapshot.json"),
               "--opening", str(tmp_path / "mc.json"), "--circuit", CIRCUIT).exit_code == 0
    refused = run(files, "prove", str(files / "margin_call.json"), str(files / "snapshot.json"),
                  "--opening", str(tmp_path / "mc.json"), "--context", "1", "--out", str(tmp_path / "p.json"), "--json")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["error"]["code"] == "margin_call"


def test_json_before_the_subcommand_selects_json_output(files):
    result = run(files, "--json", "margin", str(files / "healthy.json"), str(files / "snapshot.json"))
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "healthy"
    without = run(files, "margin", str(files / "healthy.json"), str(files / "snapshot.json"))
    assert without.stdout.startswith("model:")


# ----- errors name the file they come from ----------------------------------------------------------------
def test_verify_names_the_proof_file_that_is_not_a_proof(files):
    result = run(files, *verify_args(files, "public.json"))
    assert result.exit_code == 2
    assert f"proof file {files / 'public.json'}: expected a JSON object" in result.stderr


def test_verify_names_an_empty_proof_file(files):
    result = run(files, *verify_args(files, "empty.json"))
    assert result.exit_code == 2 and f"proof file {files / 'empty.json'} is empty" in result.stderr


def groth16_verify_in(directory: Path, *names: str):
    cwd = os.getcwd()
    os.chdir(directory)
    try:
        return CliRunner().invoke(cli, ["groth16", "verify", *names])
    finally:
        os.chdir(cwd)


def test_groth16_verify_with_arguments_in_the_wrong_order_names_the_file_and_the_order(files):
    result = groth16_verify_in(files, "proof.json", "public.json", "verification_key.json")
    assert result.exit_code == 2, result.output
    assert "verification key proof.json" in result.stderr and "in snarkjs's order" in result.stderr


def test_groth16_verify_names_a_public_file_that_is_not_a_list(files):
    result = groth16_verify_in(files, "verification_key.json", "proof.json", "proof.json")
    assert result.exit_code == 2 and "public inputs file proof.json" in result.stderr


# ----- margin reports -------------------------------------------------------------------------------------
def test_tiered_cap_error_names_instrument_notional_and_cap(files, tmp_path):
    snapshot = json.loads((files / "snapshot.json").read_text())
    quote = snapshot["instruments"][0]
    quote["tiers"] = [{"notional_floor": "0", "notional_cap": "10", "maintenance_rate": "0.01",
                       "maintenance_amount": "0"}]
    (tmp_path / "tiered.json").write_text(json.dumps(snapshot))
    account = json.loads((files / "healthy.json").read_text())
    held = {p["instrument"] for p in account["positions"]}
    assert quote["instrument"] in held
    result = run(files, "margin", str(files / "healthy.json"), str(tmp_path / "tiered.json"), "--model", "tiered")
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert quote["instrument"] in message and "above the last bracket's cap 10" in message
    assert re.search(r"position notional [0-9.]+ is above", message)


@pytest.mark.parametrize("model", MODELS)
def test_every_model_lists_every_position(files, model):
    result = run(files, "margin", str(files / "healthy.json"), str(files / "snapshot.json"), "--model", model, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    account = json.loads((files / "healthy.json").read_text())
    assert [p["instrument"] for p in report["positions"]] == [p["instrument"] for p in account["positions"]]


def test_portfolio_worst_scenario_indexes_scenario_losses(files):
    result = run(files, "margin", str(files / "healthy.json"), str(files / "snapshot.json"), "--model", "portfolio",
                 "--json")
    report = json.loads(result.stdout)
    losses = [float(v) for v in report["scenario_losses"]]
    # The first scenario with the largest loss (volatility up and down often tie): a 1-based index would be off by one.
    assert report["worst_scenario"] == losses.index(max(losses))
    assert f"worst scenario: [{report['worst_scenario']}]" in run(
        files, "margin", str(files / "healthy.json"), str(files / "snapshot.json"), "--model", "portfolio").stdout


# ----- the demo: decimal field elements, and a snarkjs triple in --workdir ---------------------------------
@pytest.fixture(scope="module")
def demo_run(files) -> tuple[Path, dict, str]:
    workdir = files / "demo"
    as_json = run(files, "demo", "--circuit", CIRCUIT, "--workdir", str(workdir), "--json")
    assert as_json.exit_code == 0, as_json.output
    text = run(files, "demo", "--circuit", CIRCUIT, "--workdir", str(files / "demo-text"))
    assert text.exit_code == 0, text.output
    return workdir, json.loads(as_json.stdout), text.stdout


def test_demo_prints_field_elements_in_decimal_like_commit(demo_run):
    _, report, text = demo_run
    assert report["commitment"].isdigit() and report["context"].isdigit()
    assert "0x" not in text and re.search(r"commitment [0-9]{20,} ", text)
    assert "(cached keys" in text  # the second run reuses the first run's keys


def test_demo_workdir_holds_a_triple_our_groth16_verify_accepts(files, demo_run):
    workdir, report, _ = demo_run
    names = ("verification_key.json", "public.json", "proof.json")
    assert all((workdir / name).exists() for name in names)
    public = json.loads((workdir / "public.json").read_text())
    assert public[:2] == [report["commitment"], report["context"]]
    result = run(files, "groth16", "verify", *(str(workdir / name) for name in names))
    assert result.exit_code == 0, result.output


def test_demo_workdir_triple_verifies_with_snarkjs(demo_run):
    snarkjs = snarkjs_command()
    if snarkjs is None:
        pytest.skip("snarkjs not installed (.ci/run installs it into .ci/npm where npm is available)")
    workdir, _, _ = demo_run
    done = subprocess.run([*snarkjs, "groth16", "verify", "verification_key.json", "public.json", "proof.json"],
                          cwd=workdir, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "OK" in done.stdout, done.stdout + done.stderr


# ----- long first steps announce themselves on stderr -------------------------------------------------------
def test_prove_says_when_the_ntts_run_without_the_compiled_kernel(monkeypatch):
    from zkmargin import ntt
    from zkmargin.cli.keystore import proving_message

    monkeypatch.setattr(ntt, "NATIVE", False)
    assert "no compiled NTT kernel" in proving_message("cross-n64-k8")
    monkeypatch.setattr(ntt, "NATIVE", True)
    assert proving_message("cross-n64-k8") == "proving cross-n64-k8"


# ----- errors say it once, plainly, and name the file -------------------------------------------------------
def test_a_missing_account_file_is_named_once(files):
    result = run(files, "margin", "nosuch.json", str(files / "snapshot.json"))
    assert result.exit_code == 2
    assert "account file not found: nosuch.json" in result.stderr and result.stderr.count("nosuch.json") == 1


def test_a_negative_collateral_amount_must_not_be_negative(files, tmp_path):
    account = json.loads((files / "healthy.json").read_text())
    account["collateral"][0]["amount"] = "-500"
    (tmp_path / "negative.json").write_text(json.dumps(account))
    result = run(files, "margin", str(tmp_path / "negative.json"), str(files / "snapshot.json"))
    assert result.exit_code == 2
    assert "collateral[0].amount: '-500' must not be negative" in result.stderr and "outside" not in result.stderr


@pytest.mark.parametrize("command", ["margin", "commit", "stress"])
def test_an_unknown_instrument_names_the_account_file(files, tmp_path, command):
    account = json.loads((files / "healthy.json").read_text())
    account["positions"][0]["instrument"] = "XRP-PERP"
    path = tmp_path / "unknown.json"
    path.write_text(json.dumps(account))
    extra = ["--opening", str(tmp_path / "opening.json"), "--circuit", CIRCUIT] if command == "commit" else []
    result = run(files, command, str(path), str(files / "snapshot.json"), *extra)
    assert result.exit_code == 2, result.output
    assert f"account {path}: positions[0].instrument: 'XRP-PERP' is not in snapshot" in result.stderr
    assert not (tmp_path / "opening.json").exists()


def test_membership_verify_without_a_key_points_to_the_venues_bundle(files, tmp_path):
    result = run(files, "--cache-dir", str(tmp_path / "empty-cache"), "verify", str(FIXTURES / "proof.json"),
                 "--snapshot", str(files / "snapshot.json"), "--circuit", f"{CIRCUIT}-m4", "--root", "1",
                 "--scope", "2", "--nullifier", "3", "--context", "4")
    assert result.exit_code == 2, result.output
    # Keys of the verifier's own would make every proof INVALID: the hint names the venue's bundle, never setup.
    assert "the venue's" in result.stderr and "key bundle" in result.stderr and "zkmargin setup" not in result.stderr


# ----- demo leaves nothing behind, prove warns about unpinned keys -----------------------------------------
def test_demo_without_workdir_leaves_no_folder_in_the_temp_directory(files, demo_run, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = run(files, "demo", "--circuit", CIRCUIT, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True
    assert list(tmp_path.glob("zkmargin-demo-*")) == []


def test_prove_warns_when_the_keys_are_not_pinned(files, demo_run, tmp_path):
    opening = tmp_path / "opening.json"
    assert run(files, "commit", str(files / "healthy.json"), str(files / "snapshot.json"), "--opening", str(opening),
               "--circuit", CIRCUIT).exit_code == 0
    args = ["prove", str(files / "healthy.json"), str(files / "snapshot.json"), "--opening", str(opening),
            "--context", "5", "--public-out", str(tmp_path / "public.json")]
    unpinned = run(files, *args, "--out", str(tmp_path / "p1.json"), "--json")
    assert unpinned.exit_code == 0, unpinned.output
    digest = json.loads(unpinned.stdout)["vk_digest"]
    assert "warning: the keys are not pinned" in unpinned.stderr and "--vk-digest" in unpinned.stderr
    pinned = run(files, *args, "--out", str(tmp_path / "p2.json"), "--vk-digest", digest)
    assert pinned.exit_code == 0, pinned.output
    assert "not pinned" not in pinned.stderr
