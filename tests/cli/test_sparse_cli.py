"""A sparse circuit id (cross-n<N>-p<P>-k<K>) walked through the CLI like any other: commit, setup, prove,
verify, inspect; a wrong commitment and an account with more positions than slots are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.cli.samples import write_samples
from zkmargin.cli.main import cli
from zkmargin.margin.samples import sample_account, sample_snapshot

CIRCUIT = "cross-n8-p4-k4"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return write_samples(tmp_path_factory.mktemp("sparse_cli"))


def run(workdir: Path, *args: str):
    return CliRunner().invoke(cli, ["--cache-dir", str(workdir / "cache"), *args], catch_exceptions=False)


def test_the_samples_are_sparse():
    held = [p for p in sample_account("healthy").positions if p.quantity_e8 != 0]
    assert 0 < len(held) <= 4 < len(sample_snapshot().instruments)


@pytest.mark.parametrize(
    "circuit_id,row_inputs,sizes",
    [
        (CIRCUIT, 1, {"N": 8, "P": 4, "K": 4}),
        ("tiered-n8-p4-k4", 1 + 4, {"N": 8, "P": 4, "K": 4, "T": 4}),  # a head and T = 4 brackets a row
    ],
)
def test_sparse_commit_setup_prove_verify_inspect(workdir, circuit_id, row_inputs, sizes):
    opening = workdir / f"{circuit_id}.opening.json"
    committed = run(
        workdir,
        "commit",
        str(workdir / "healthy.json"),
        str(workdir / "snapshot.json"),
        "--opening",
        str(opening),
        "--circuit",
        circuit_id,
        "--json",
    )
    assert committed.exit_code == 0, committed.output
    commitment = json.loads(committed.stdout)["commitment"]
    assert run(workdir, "setup", "--circuit", circuit_id).exit_code == 0
    proved = run(
        workdir,
        "prove",
        str(workdir / "healthy.json"),
        str(workdir / "snapshot.json"),
        "--opening",
        str(opening),
        "--context",
        "77",
        "--out",
        str(workdir / f"{circuit_id}.proof.json"),
        "--public-out",
        str(workdir / f"{circuit_id}.public.json"),
    )
    assert proved.exit_code == 0, proved.output
    verify_args = [
        "verify",
        str(workdir / f"{circuit_id}.proof.json"),
        "--snapshot",
        str(workdir / "snapshot.json"),
        "--circuit",
        circuit_id,
    ]
    valid = run(workdir, *verify_args, "--commitment", commitment, "--context", "77", "--json")
    assert valid.exit_code == 0, valid.output
    assert json.loads(valid.stdout)["valid"] is True
    other = run(workdir, *verify_args, "--commitment", str(int(commitment) + 1), "--context", "77")
    assert other.exit_code == 1 and "INVALID" in other.stdout
    replay = run(workdir, *verify_args, "--commitment", commitment, "--context", "78")
    assert replay.exit_code == 1

    inspected = run(workdir, "inspect", "--circuit", circuit_id, "--json")
    info = json.loads(inspected.stdout)
    assert info["circuit_id"] == circuit_id
    assert info["public_inputs"] == len(json.loads((workdir / f"{circuit_id}.public.json").read_text())) == 2 + 2 + 8 * row_inputs + 2 * 4
    assert info["sizes"] == sizes
    text = run(workdir, "inspect", "--circuit", circuit_id).stdout
    assert "sizes:         " + ", ".join(f"{k} = {v}" for k, v in sizes.items()) in text


def test_more_positions_than_held_slots_is_a_clear_refusal(workdir):
    held = len([p for p in sample_account("healthy").positions if p.quantity_e8 != 0])
    result = run(
        workdir,
        "commit",
        str(workdir / "healthy.json"),
        str(workdir / "snapshot.json"),
        "--opening",
        str(workdir / "small.json"),
        "--circuit",
        f"cross-n8-p{held - 1}-k4",
    )
    assert result.exit_code != 0
    assert "held positions" in result.stderr and "Traceback" not in result.output
    assert not (workdir / "small.json").exists()


@pytest.mark.parametrize("circuit_id", ["cross-n8-p9-k4", "var-n8-p2-k4", "cross-n8-p0-k4"])
def test_unknown_sparse_ids_are_usage_errors(workdir, circuit_id):
    result = run(workdir, "inspect", "--circuit", circuit_id)
    assert result.exit_code == 2 and "Traceback" not in result.output
