"""Attestation policy at the CLI (#12 item 2): with the venue's key, `verify`, `verify-batch` and `prove`
accept only a commitment the venue attested for this snapshot; unattested, wrongly attested and
wrong-venue proofs are refused (exit 1) with the reason, malformed attestation files are bad input (exit 2)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.cli.samples import write_samples
from tests.key_cache import install_bundle
from zkmargin.cli.main import cli
from zkmargin.margin.samples import sample_snapshot
from zkmargin.venue.attestation import (
    Attestation,
    VenueSigningKey,
    attest,
    attestation_message,
    attestation_to_json,
    snapshot_digest,
)

CIRCUIT = "cross-n6-k4"
CONTEXT = "11"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def write(path: Path, obj) -> str:
    path.write_text(json.dumps(obj))
    return str(path)


@pytest.fixture(scope="module")
def flow(tmp_path_factory, key_bundle) -> dict:
    """Keys, an opening, a proof made with a valid attestation, and attestations good and bad."""
    root = tmp_path_factory.mktemp("attested")
    write_samples(root)
    cache = str(root / "cache")
    install_bundle(key_bundle(CIRCUIT), Path(cache), CIRCUIT)
    committed = run("commit", str(root / "healthy.json"), str(root / "snapshot.json"),
                    "--opening", str(root / "opening.json"), "--circuit", CIRCUIT, "--json")
    assert committed.exit_code == 0, committed.output
    commitment = int(json.loads(committed.stdout)["commitment"])
    snapshot = sample_snapshot()
    venue_key, rival_key = VenueSigningKey.generate(), VenueSigningKey.generate()
    later = replace(snapshot, snapshot_id="demo-later", timestamp="2026-11-24T17:00Z")
    account_id = "trader-healthy"
    files = {
        "pub": write(root / "venue.pub.json", {"format": "zkmargin-venue-public-key/1", "scheme": "ed25519",
                                                "venue": snapshot.venue,
                                                "public_key": venue_key.public_key(snapshot.venue).key_bytes.hex()}),
        "rival_pub": write(root / "rival.pub.json", {"format": "zkmargin-venue-public-key/1", "scheme": "ed25519",
                                                      "venue": "rival",
                                                      "public_key": rival_key.public_key("rival").key_bytes.hex()}),
    }
    rival_venue = Attestation("rival", snapshot_digest(snapshot), account_id, commitment, b"")
    forged = attest(rival_key, snapshot, account_id, commitment)  # right venue name, another venue's key
    attestations = {
        "good": attest(venue_key, snapshot, account_id, commitment),
        "other_commitment": attest(venue_key, snapshot, account_id, commitment + 1),
        "other_snapshot": attest(venue_key, later, account_id, commitment),
        "wrong_venue": replace(rival_venue, signature=rival_key.sign(rival_venue.message())),
        "bad_signature": forged,
    }
    for name, att in attestations.items():
        files[name] = write(root / f"{name}.att.json", attestation_to_json(att))
    files["malformed"] = write(root / "malformed.att.json", {"format": "zkmargin-attestation/1", "venue": "x"})
    assert attestation_message(snapshot.venue, snapshot_digest(snapshot), account_id, commitment) == \
        attestations["good"].message()
    proved = run("--cache-dir", cache, "prove", str(root / "healthy.json"), str(root / "snapshot.json"),
                 "--opening", str(root / "opening.json"), "--context", CONTEXT, "--out", str(root / "proof.json"),
                 "--public-out", str(root / "public.json"), "--attestation", files["good"], "--venue-key", files["pub"],
                 "--json")
    assert proved.exit_code == 0, proved.output
    return {"root": root, "cache": cache, "commitment": commitment, "files": files, "attestations": attestations,
            "proof": json.loads((root / "proof.json").read_text())}


def verify(flow: dict, *extra: str):
    root = flow["root"]
    return run("--cache-dir", flow["cache"], "verify", str(root / "proof.json"), "--snapshot", str(root / "snapshot.json"),
               "--commitment", str(flow["commitment"]), "--context", CONTEXT, "--circuit", CIRCUIT, *extra)


def test_verify_accepts_an_attested_proof_and_still_works_without_a_policy(flow):
    files = flow["files"]
    assert verify(flow).exit_code == 0
    attested = verify(flow, "--venue-key", files["pub"], "--attestation", files["good"], "--json")
    assert attested.exit_code == 0, attested.output
    assert json.loads(attested.stdout)["valid"] is True and json.loads(attested.stdout)["attested"] is True


@pytest.mark.parametrize("attestation, reason", [
    (None, "no attestation"),
    ("other_commitment", "attestation is for commitment"),
    ("other_snapshot", "signed for snapshot digest"),
    ("wrong_venue", "signed for venue 'rival'"),
    ("bad_signature", "signature does not verify"),
])
def test_verify_refuses_unattested_and_wrongly_attested_proofs(flow, attestation, reason):
    files = flow["files"]
    extra = ("--attestation", files[attestation]) if attestation else ()
    result = verify(flow, "--venue-key", files["pub"], *extra)
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("REFUSED: ") and reason in result.stdout


def test_verify_refuses_a_key_of_another_venue_than_the_snapshots(flow):
    files = flow["files"]
    result = verify(flow, "--venue-key", files["rival_pub"], "--attestation", files["wrong_venue"], "--json")
    assert result.exit_code == 1
    assert "is venue 'example-exchange''s; the key held is venue 'rival''s" in json.loads(result.stdout)["refused"]


def test_malformed_attestation_or_missing_key_is_bad_input(flow):
    files = flow["files"]
    malformed = verify(flow, "--venue-key", files["pub"], "--attestation", files["malformed"])
    assert malformed.exit_code == 2 and "malformed.att.json" in malformed.stderr and "Traceback" not in malformed.output
    no_key = verify(flow, "--attestation", files["good"])
    assert no_key.exit_code == 2 and "--venue-key" in no_key.stderr


@pytest.mark.parametrize("attestation, reason", [
    ("other_commitment", "attestation is for commitment"),
    ("other_snapshot", "signed for snapshot digest"),
    ("bad_signature", "signature does not verify"),
])
def test_prove_checks_the_attestation_before_proving(flow, tmp_path, attestation, reason):
    root, files = flow["root"], flow["files"]
    result = run("--cache-dir", flow["cache"], "prove", str(root / "healthy.json"), str(root / "snapshot.json"),
                 "--opening", str(root / "opening.json"), "--context", CONTEXT, "--out", str(tmp_path / "p.json"),
                 "--public-out", str(tmp_path / "pub.json"), "--attestation", files[attestation],
                 "--venue-key", files["pub"])
    assert result.exit_code == 1 and reason in result.stdout
    assert not (tmp_path / "p.json").exists() and not (tmp_path / "pub.json").exists()
    alone = run("--cache-dir", flow["cache"], "prove", str(root / "healthy.json"), str(root / "snapshot.json"),
                "--opening", str(root / "opening.json"), "--context", CONTEXT, "--out", str(tmp_path / "p.json"),
                "--attestation", files["good"])
    assert alone.exit_code == 2 and "--venue-key" in alone.stderr and not (tmp_path / "p.json").exists()


def batch(flow: dict, tmp_path: Path, items: list[dict], *extra: str, as_json: bool = True):
    lines = tmp_path / "batch.jsonl"
    lines.write_text("\n".join(json.dumps(item) for item in items) + "\n")
    root = flow["root"]
    return run("--cache-dir", flow["cache"], "verify-batch", str(lines), "--vk",
               str(Path(flow["cache"]) / CIRCUIT / "verification_key.json"), "--snapshot", str(root / "snapshot.json"),
               "--circuit", CIRCUIT, "--report-dir", str(tmp_path / "report"), *(["--json"] if as_json else []), *extra)


def test_verify_batch_refuses_each_unattested_item_with_its_reason(flow, tmp_path):
    files, attestations = flow["files"], flow["attestations"]
    base = {"commitment": str(flow["commitment"]), "context": CONTEXT, "proof": flow["proof"]}
    items = [dict(base, id="plain")]
    for name, att in attestations.items():
        items.append(dict(base, id=name, attestation=attestation_to_json(att)))
    items.append(dict(base, id="garbled", attestation={"format": "zkmargin-attestation/1"}))
    unchecked = batch(flow, tmp_path, items)
    assert unchecked.exit_code == 2, unchecked.output  # no policy: every proof valid, only "garbled" malformed
    # ... and one proof: the first valid, the five copies duplicates of it.
    assert ([json.loads(unchecked.stdout)[k] for k in ("valid", "duplicates", "refused")]) == [1, 5, 0]
    result = batch(flow, tmp_path, items, "--venue-key", files["pub"])
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    assert (out["valid"], out["invalid"], out["malformed"], out["refused"]) == (1, 0, 1, 5)
    assert set(out["refused_ids"]) == {"plain", "other_commitment", "other_snapshot", "wrong_venue", "bad_signature"}
    assert out["malformed_ids"] == ["garbled"] and out["attestations_required"] is True
    rows = {r["id"]: r for r in json.loads((tmp_path / "report" / "report.json").read_text())["items"]}
    assert "no attestation" in rows["plain"]["refused"]
    assert "signed for snapshot digest" in rows["other_snapshot"]["refused"]
    assert "signature does not verify" in rows["bad_signature"]["refused"]
    assert rows["garbled"]["error"].startswith("attestation: ")
    text = batch(flow, tmp_path, items, "--venue-key", files["pub"], as_json=False)
    assert text.exit_code == 1 and "refused: plain (no attestation" in text.stdout


def test_verify_batch_with_all_items_attested_exits_0(flow, tmp_path):
    item = {"id": "a", "commitment": str(flow["commitment"]), "context": CONTEXT, "proof": flow["proof"],
            "attestation": attestation_to_json(flow["attestations"]["good"])}
    result = batch(flow, tmp_path, [item], "--venue-key", flow["files"]["pub"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["valid"] == 1

