"""`zkmargin verify-batch`: reports, exit codes, mixed snapshots, malformed lines."""

from __future__ import annotations

import base64
import csv
import json
import random

import pytest
from click.testing import CliRunner

from zkmargin.backends import get_backend
from zkmargin.circuits.proving import prove_account
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.cli.main import cli
from zkmargin.field import R, inv
from zkmargin.groth16 import Proof, setup
from zkmargin.groth16.serialization import proof_to_bytes, proof_to_json, vk_to_json
from zkmargin.margin.models import snapshot_to_json
from zkmargin.margin.samples import sample_account, sample_snapshot

CIRCUIT = "cross-n6-k4"


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    backend = get_backend("arkworks")
    circuit = circuit_from_id(CIRCUIT)
    snapshot = sample_snapshot()
    pk = setup(circuit.compile(), random.Random(8), backend)
    (root / "vk.json").write_text(json.dumps(vk_to_json(pk.vk, backend, alphabeta=[])))
    (root / "snapshot.json").write_text(json.dumps(snapshot_to_json(snapshot)))
    proof, public = prove_account(circuit, pk, sample_account("healthy"), snapshot, 99, 5, backend)
    rng = random.Random(1)
    lines = []
    for i in range(12):
        t = rng.randrange(1, R)
        p = Proof(backend.g1_mul(proof.a, inv(t)), backend.g2_mul(proof.b, t), proof.c)
        item = {"id": f"acct-{i}", "commitment": str(public.commitment), "context": "5"}
        if i % 2:
            item["proof"] = proof_to_json(p, backend)
        else:
            item["proof_b64"] = base64.b64encode(proof_to_bytes(p, backend)).decode()
        lines.append(item)
    lines[3]["context"] = "6"  # a replayed proof under another context: invalid
    lines.append(dict(lines[1], id="acct-dup"))
    good = [json.dumps(x) for x in lines]
    (root / "good.jsonl").write_text("\n".join(json.dumps(x) for i, x in enumerate(lines) if i != 3) + "\n")
    (root / "mixed.jsonl").write_text("\n".join(good + [json.dumps(dict(lines[0], snapshot_id="other"))]) + "\n")
    (root / "with_bad.jsonl").write_text("\n".join(good + ["{not json", json.dumps({"id": "x", "commitment": "1"})]) + "\n")
    (root / "empty.jsonl").write_text("")
    return root


def run(root, *args):
    return CliRunner().invoke(
        cli, ["verify-batch", *args, "--vk", str(root / "vk.json"), "--snapshot", str(root / "snapshot.json"),
              "--circuit", CIRCUIT, "--report-dir", str(root / "report")], catch_exceptions=False)


def test_all_valid_batch_writes_reports(batch_dir):
    result = run(batch_dir, str(batch_dir / "good.jsonl"), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["total"] == 12 and summary["valid"] == 11 and summary["duplicates"] == 1
    report = json.loads((batch_dir / "report" / "report.json").read_text())
    assert report["summary"]["snapshot"]["snapshot_id"] == "demo-2026-11-24T16:00Z"
    rows = list(csv.DictReader((batch_dir / "report" / "report.csv").open()))
    assert len(rows) == 12
    page = (batch_dir / "report" / "report.html").read_text()
    assert "acct-dup" in page and "<script" not in page and "http" not in page.split("<body>")[1]


def test_invalid_and_malformed_items_are_named_and_exit_1(batch_dir):
    result = run(batch_dir, str(batch_dir / "with_bad.jsonl"), "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert (summary["invalid"], summary["malformed"]) == (1, 2)
    rows = {r["id"]: r for r in json.loads((batch_dir / "report" / "report.json").read_text())["items"]}
    assert rows["acct-3"]["valid"] is False and rows["acct-3"]["error"] is None
    assert "not valid JSON" in rows["line 14"]["error"]
    assert "context" in rows["x"]["error"]


def test_mixed_snapshots_are_refused(batch_dir):
    result = run(batch_dir, str(batch_dir / "mixed.jsonl"))
    assert result.exit_code == 2 and "mixed snapshots" in result.stderr


def test_empty_batch_is_bad_input_exit_2(batch_dir, tmp_path):
    result = run(batch_dir, str(batch_dir / "empty.jsonl"), "--json")
    assert result.exit_code == 2 and "is empty" in result.stderr
    assert json.loads(result.stdout)["error"]["message"].startswith("the batch")
    empty_dir = tmp_path / "none"
    empty_dir.mkdir()
    assert run(batch_dir, str(empty_dir)).exit_code == 2


def test_malformed_items_alone_exit_2_and_are_named(batch_dir, tmp_path):
    good = (batch_dir / "good.jsonl").read_text().splitlines()[:2]
    (tmp_path / "malformed.jsonl").write_text("\n".join(good + ["{not json", json.dumps({"id": "y", "commitment": "1"})]))
    result = run(batch_dir, str(tmp_path / "malformed.jsonl"))
    assert result.exit_code == 2, result.output
    assert "2 malformed" in result.stdout and "line 3 (not valid JSON" in result.stdout and "y (" in result.stdout


def test_terminal_summary_names_invalid_ids_and_duplicates(batch_dir):
    result = run(batch_dir, str(batch_dir / "with_bad.jsonl"))
    assert result.exit_code == 1
    assert "invalid: acct-3" in result.stdout
    assert "1 duplicate " in result.stdout and "acct-dup = acct-1" in result.stdout
    summary = json.loads(run(batch_dir, str(batch_dir / "with_bad.jsonl"), "--json").stdout)
    assert summary["invalid_ids"] == ["acct-3"] and summary["duplicate_ids"] == ["acct-dup"]


def test_directory_input(batch_dir, tmp_path):
    for i, line in enumerate((batch_dir / "good.jsonl").read_text().splitlines()[:3]):
        (tmp_path / f"{i}.json").write_text(line)
    result = run(batch_dir, str(tmp_path), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["valid"] == 3


def test_missing_input(batch_dir):
    result = run(batch_dir, str(batch_dir / "nope.jsonl"))
    assert result.exit_code == 2 and "not found" in result.stderr
