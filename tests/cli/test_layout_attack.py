"""The layout attack of issue 12 walked through the CLI: a commitment made under assets [SHIB, BTC] is
neither provable nor verifiable under a snapshot listing [BTC, SHIB]."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from zkmargin.backends import get_backend
from zkmargin.circuits.layout import StatementPublic
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.cli.main import cli
from zkmargin.groth16 import prove, setup
from zkmargin.groth16.serialization import proof_to_json, vk_to_json
from zkmargin.margin.models import (
    Account,
    AssetQuote,
    Collateral,
    InstrumentQuote,
    Position,
    Snapshot,
    account_to_json,
    snapshot_to_json,
)

E8 = 10**8
CIRCUIT = "cross-n1-k2"
SHIB, BTC = AssetQuote("SHIB", 1_000, 0), AssetQuote("BTC", 60_000 * E8, 0)
PERP = InstrumentQuote("BTC-PERP", 60_000 * E8, E8 // 20, E8)
ORIGINAL = Snapshot("s1", "venue", "2026-11-25T00:00:00Z", (SHIB, BTC), (PERP,))
REORDERED = Snapshot("s2", "venue", "2026-11-25T01:00:00Z", (BTC, SHIB), (PERP,))
HONEST = Account("acct", (Collateral("SHIB", 1_000_000 * E8),), (Position("BTC-PERP", E8, 70_000 * E8),))
FORGED = Account("acct", (Collateral("BTC", 1_000_000 * E8),), (Position("BTC-PERP", E8, 70_000 * E8),))


def run(root: Path, *args: str):
    return CliRunner().invoke(cli, ["--cache-dir", str(root / "cache"), *args], catch_exceptions=False)


def write(path: Path, document) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def test_reordered_snapshot_cannot_prove_or_verify_the_old_commitment(tmp_path):
    original = write(tmp_path / "original.json", snapshot_to_json(ORIGINAL))
    reordered = write(tmp_path / "reordered.json", snapshot_to_json(REORDERED))
    honest = write(tmp_path / "honest.json", account_to_json(HONEST))
    forged = write(tmp_path / "forged.json", account_to_json(FORGED))
    opening = tmp_path / "opening.json"
    committed = run(tmp_path, "commit", honest, original, "--opening", str(opening), "--circuit", CIRCUIT, "--json")
    assert committed.exit_code == 0, committed.output
    commitment = json.loads(committed.stdout)["commitment"]
    assert run(tmp_path, "margin", forged, reordered).exit_code == 0  # healthy as 1,000,000 BTC

    # Prove time: the opening does not open under the reordered layout; nothing is written.
    proved = run(tmp_path, "prove", forged, reordered, "--opening", str(opening), "--context", "5",
                 "--out", str(tmp_path / "proof.json"), "--public-out", str(tmp_path / "public.json"))
    assert proved.exit_code == 2 and "does not match the commitment" in proved.stderr
    assert not (tmp_path / "proof.json").exists()

    # Verify time: a proof from a hand-built witness that carries the old layout digest.
    backend = get_backend("arkworks")
    circuit = circuit_from_id(CIRCUIT)
    salt = int(json.loads(opening.read_text())["salt"])
    old_digest = circuit.snapshot_inputs(ORIGINAL)[0]
    witness = replace(circuit.witness(FORGED, REORDERED, salt), layout_digest=old_digest)
    assert str(circuit.commitment(witness)) == commitment
    verifier_values = circuit.public_inputs(REORDERED, int(commitment), 5).snapshot_values
    public = StatementPublic(int(commitment), 5, (old_digest, *verifier_values[1:]))
    pk = setup(circuit.compile(), random.Random(5), backend)
    proof = prove(pk, circuit.compile(), circuit.witness_assignment(public, witness), backend=backend)
    proof_path = write(tmp_path / "forged-proof.json", proof_to_json(proof, backend))
    vk_path = write(tmp_path / "vk.json", vk_to_json(pk.vk, backend))
    verify = ["verify", proof_path, "--commitment", commitment, "--context", "5", "--vk", vk_path, "--circuit", CIRCUIT]
    assert run(tmp_path, *verify, "--snapshot", original).exit_code == 1
    refused = run(tmp_path, *verify, "--snapshot", reordered)
    assert refused.exit_code == 1 and "INVALID" in refused.stdout
