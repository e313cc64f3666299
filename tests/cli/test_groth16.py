"""`zkmargin groth16 verify` on the snarkjs peer's fixture: snarkjs's arguments, defaults and exit codes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from zkmargin.cli.main import cli
from zkmargin.field import R

FIXTURES = Path(__file__).resolve().parents[1] / "groth16" / "fixtures" / "snarkjs"


@pytest.fixture
def triple(tmp_path) -> Path:
    for name in ("verification_key.json", "public.json", "proof.json"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    return tmp_path


def run(directory: Path, *args: str):
    cwd = os.getcwd()
    os.chdir(directory)
    try:
        return CliRunner().invoke(cli, ["groth16", "verify", *args], catch_exceptions=False)
    finally:
        os.chdir(cwd)


def test_accepts_the_snarkjs_proof_with_default_file_names(triple):
    result = run(triple, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["valid"] is True


@pytest.mark.parametrize("index", [0, 16, 32])
def test_a_changed_public_input_is_invalid_exit_1(triple, index):
    public = json.loads((triple / "public.json").read_text())
    public[index] = str(int(public[index]) + 1)
    (triple / "changed.json").write_text(json.dumps(public))
    result = run(triple, "verification_key.json", "changed.json", "proof.json")
    assert result.exit_code == 1 and "INVALID" in result.stdout


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda d: (d / "verification_key.json").unlink(), "not found"),
        (lambda d: (d / "public.json").write_text(json.dumps(["1"])), "public input"),
        (lambda d: (d / "public.json").write_text(json.dumps([str(R)] + json.loads((d / "public.json").read_text())[1:])),
         "outside [0, r)"),
        (lambda d: (d / "proof.json").write_text("{"), "not valid JSON"),
    ],
)
def test_malformed_input_is_exit_2_with_a_message(triple, mutate, message):
    mutate(triple)
    result = run(triple)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
