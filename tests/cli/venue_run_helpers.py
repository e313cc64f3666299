"""The venue-run tests' population, snapshot, command lines and bundle checks (shared with the resume tests)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from click.testing import CliRunner

from zkmargin.backends import get_backend
from zkmargin.circuits.proving import verify_account_proof
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.cli.main import cli
from zkmargin.gadgets.merkle import identity_commitment, member_leaf
from zkmargin.groth16.serialization import proof_from_json, vk_from_json
from zkmargin.margin.models import load_snapshot, parse_account
from zkmargin.venue.attestation import (
    check_attestation,
    check_membership,
    check_signed_root,
    parse_attestation,
    parse_public_key,
    parse_signed_root,
    snapshot_digest,
)
from zkmargin.venue.run import bundle_file_name
from zkmargin.venue.tree import parse_merkle_path

CIRCUIT = "cross-n1-k1"
N_ACCOUNTS = 200
SNAPSHOT = {
    "snapshot_id": "s1", "venue": "v1", "timestamp": "2026-11-24T16:00:00Z",
    "assets": [{"asset": "USDC", "price": "1", "haircut": "0.02"}],
    "instruments": [{"instrument": "BTC-PERP", "mark_price": "64000", "maintenance_rate": "0.005",
                     "contract_size": "1"}],
}


def identity_secret(i: int) -> int:
    """Trader i's identity secret (the venue's accounts file holds only its identity)."""
    return 10**9 + i


@functools.cache
def identity(i: int) -> str:
    return str(identity_commitment(identity_secret(i)))


def account_doc(i: int, with_identity: bool = True) -> dict:
    # Every tenth account holds 10 USDC against 32 of maintenance: a margin call.
    usdc = "10" if i % 10 == 0 else "1000"
    return {"account_id": f"acct-{i}", "collateral": [{"asset": "USDC", "amount": usdc}],
            "positions": [{"instrument": "BTC-PERP", "quantity": "0.1", "entry_price": str(64000 + i)}],
            **({"identity": identity(i)} if with_identity else {})}


def write_accounts(path: Path, ids: range, extra: list[str] = ()) -> None:
    path.write_text("".join(json.dumps(account_doc(i)) + "\n" for i in ids) + "".join(e + "\n" for e in extra))


def run_cli(root: Path, *args: str):
    return CliRunner().invoke(cli, ["--cache-dir", str(root / "cache"), *args], catch_exceptions=False)


def venue_run_args(root: Path, accounts: str, out: str, *extra: str, circuit_id: str = CIRCUIT) -> list[str]:
    return ["venue", "run", str(root / accounts), str(root / "snapshot.json"), "--keys",
            str(root / "cache" / circuit_id), "--signing-key", str(root / "venue.key"), "--out", str(root / out),
            "--circuit", circuit_id, "--depth", "8", "--json", *extra]


def load_bundles(out: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in (out / "bundles").glob("*.json")}


def check_bundles(root: Path, out: Path, expected_ids: set[str], circuit_id: str = CIRCUIT) -> None:
    """Every bundle: the proof verifies, the attestation checks, the path leads to the signed root."""
    backend = get_backend("arkworks")
    snapshot = load_snapshot(root / "snapshot.json")
    circuit = circuit_from_id(circuit_id)
    vk = vk_from_json((root / "cache" / circuit_id / "verification_key.json").read_bytes(), backend)
    public_key = parse_public_key(json.loads((root / "venue.key.pub.json").read_text()))
    digest = snapshot_digest(snapshot)
    signed = parse_signed_root(json.loads((out / "root.json").read_text()))
    check_signed_root(signed, public_key, digest)
    bundles = load_bundles(out)
    assert set(bundles) == {bundle_file_name(i) for i in expected_ids}
    assert signed.leaf_count >= len(bundles)
    for bundle in bundles.values():
        commitment = int(bundle["commitment"])
        number = int(bundle["account_id"].split("-")[1])
        account = parse_account(account_doc(number, with_identity=False))
        opening = bundle["opening"]
        assert circuit.commitment(circuit.witness(account, snapshot, int(opening["salt"]))) == commitment
        check_attestation(parse_attestation(bundle["attestation"]), public_key, digest, commitment,
                          bundle["account_id"])
        path = parse_merkle_path(bundle["merkle_path"])
        assert path.leaf == member_leaf(commitment, int(identity(number)))
        check_membership(signed, path, public_key, digest)  # what `zkmargin venue check --root --path` checks
        proof = proof_from_json(bundle["proof"], backend)
        assert verify_account_proof(circuit, vk, snapshot, commitment, int(bundle["context"]), proof, backend)
