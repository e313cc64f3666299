"""`zkmargin prove` checks the opening and the account's health and builds the witness once (issue 24 item 2)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.cli.samples import write_samples
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.cli.main import cli

CIRCUIT = "cross-n8-k4"


def test_prove_builds_the_witness_and_checks_health_once(tmp_path, monkeypatch):
    write_samples(tmp_path)

    def run(*args: str):
        return CliRunner().invoke(cli, ["--cache-dir", str(tmp_path / "cache"), *args], catch_exceptions=False)

    opening = tmp_path / "opening.json"
    assert run("commit", str(tmp_path / "healthy.json"), str(tmp_path / "snapshot.json"), "--opening",
               str(opening), "--circuit", CIRCUIT).exit_code == 0
    assert run("setup", "--circuit", CIRCUIT).exit_code == 0
    statement = type(circuit_from_id(CIRCUIT).statement)
    calls = {"witness": 0, "require_healthy": 0}
    for name in calls:
        real = getattr(statement, name)

        def counted(self, *args, _real=real, _name=name):
            calls[_name] += 1
            return _real(self, *args)

        monkeypatch.setattr(statement, name, counted)
    proved = run("prove", str(tmp_path / "healthy.json"), str(tmp_path / "snapshot.json"), "--opening",
                 str(opening), "--context", "7", "--out", str(tmp_path / "proof.json"), "--public-out",
                 str(tmp_path / "public.json"), "--json")
    assert proved.exit_code == 0, proved.output
    assert json.loads(proved.stdout)["commitment"] == json.loads(opening.read_text())["commitment"]
    assert calls == {"witness": 1, "require_healthy": 1}


def test_prepare_proof_checks_the_opening_then_the_callers_checks_then_health(tmp_path):
    from zkmargin.circuits.proving import prepare_proof
    from zkmargin.errors import MarginCallError, OpeningMismatchError
    from zkmargin.margin.models import load_account, load_snapshot

    write_samples(tmp_path)
    circuit = circuit_from_id(CIRCUIT)
    snapshot = load_snapshot(tmp_path / "snapshot.json")
    unhealthy = load_account(tmp_path / "margin_call.json")
    commitment = circuit.commitment(circuit.witness(unhealthy, snapshot, 5))
    checked: list[int] = []
    with pytest.raises(OpeningMismatchError, match="does not match the commitment in the opening"):
        prepare_proof(circuit, unhealthy, snapshot, 5, 1, commitment=commitment + 1, checks=lambda: checked.append(1))
    assert checked == []  # the caller's refusals come after the opening
    with pytest.raises(MarginCallError):
        prepare_proof(circuit, unhealthy, snapshot, 5, 1, commitment=commitment, checks=lambda: checked.append(1))
    assert checked == [1]
