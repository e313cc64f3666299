"""Key bundles: `prove` never makes keys, refuses missing or mismatched ones, and checks a pinned digest."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.cli.samples import write_samples
from tests.key_cache import BUNDLE_FILES, copy_bundle
from zkmargin.backends import get_backend
from zkmargin.cli.main import cli
from zkmargin.groth16.serialization import proof_from_json, proof_to_bytes, vk_from_json, vk_to_bytes

CIRCUIT = "cross-n6-k4"
OTHER_CIRCUIT = "cross-n7-k4"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict:
    """Two independent bundles of CIRCUIT (caches a and b), one of OTHER_CIRCUIT, an opening and its commitment."""
    root = tmp_path_factory.mktemp("keys")
    write_samples(root)
    for cache, circuit in (("a", CIRCUIT), ("b", CIRCUIT), ("a", OTHER_CIRCUIT)):
        made = run("--cache-dir", str(root / cache), "setup", "--circuit", circuit, "--json")
        assert made.exit_code == 0, made.output
    committed = run("commit", str(root / "healthy.json"), str(root / "snapshot.json"),
                    "--opening", str(root / "opening.json"), "--circuit", CIRCUIT, "--json")
    assert committed.exit_code == 0, committed.output
    assert run("commit", str(root / "margin_call.json"), str(root / "snapshot.json"),
               "--opening", str(root / "mc-opening.json"), "--circuit", CIRCUIT).exit_code == 0
    return {"root": root, "commitment": json.loads(committed.stdout)["commitment"],
            "bundle": root / "a" / CIRCUIT, "digest": (root / "a" / CIRCUIT / BUNDLE_FILES[2]).read_text().strip()}


def prove(keys: dict, out: Path, *extra: str, opening: str = "opening.json", account: str = "healthy.json"):
    root = keys["root"]
    return run("--cache-dir", str(out / "cache"), "prove", str(root / account), str(root / "snapshot.json"),
               "--opening", str(root / opening), "--context", "11",
               "--out", str(out / "proof.json"), "--public-out", str(out / "public.json"), *extra)


def assert_refused(result, out: Path, *phrases: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr
    assert not (out / "proof.json").exists() and not (out / "public.json").exists()


def test_setup_says_new_then_cached_and_records_the_digest_of_the_key(keys, tmp_path):
    first = run("--cache-dir", str(tmp_path), "setup", "--circuit", CIRCUIT)
    assert first.exit_code == 0 and "new keys" in first.stdout
    again = run("--cache-dir", str(tmp_path), "setup", "--circuit", CIRCUIT, "--json")
    info = json.loads(again.stdout)
    assert again.exit_code == 0 and info["keys"] == "cached"
    vk_bytes = (tmp_path / CIRCUIT / "verification_key.json").read_bytes()
    expected = hashlib.sha256(vk_to_bytes(vk_from_json(vk_bytes, get_backend()))).hexdigest()
    assert info["vk_digest"] == expected == (tmp_path / CIRCUIT / "verification_key.sha256").read_text().strip()


def test_prove_without_keys_exits_2_names_the_circuit_and_writes_nothing(keys, tmp_path):
    result = prove(keys, tmp_path)
    assert_refused(result, tmp_path, f"no key bundle for {CIRCUIT}", f"zkmargin setup --circuit {CIRCUIT}",
                   "ask the venue")
    assert not (tmp_path / "cache").exists()  # no keys were made, not even a directory


def test_a_proving_key_without_its_verification_key_is_refused_and_kept(keys, tmp_path):
    bundle = copy_bundle(keys["bundle"], tmp_path / "cache" / CIRCUIT, files=BUNDLE_FILES[:1])
    before = (bundle / "proving_key.bin").read_bytes()
    result = prove(keys, tmp_path)
    assert_refused(result, tmp_path, "missing verification_key.json")
    assert (bundle / "proving_key.bin").read_bytes() == before
    assert sorted(p.name for p in bundle.iterdir()) == ["proving_key.bin"]


def test_prove_with_a_handed_out_bundle_and_the_pinned_digest(keys, tmp_path):
    bundle = copy_bundle(keys["bundle"], tmp_path / "venue-keys")
    result = prove(keys, tmp_path, "--keys", str(bundle), "--vk-digest", keys["digest"].upper(), "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["vk_digest"] == keys["digest"] and printed["circuit_id"] == CIRCUIT
    proof = proof_from_json((tmp_path / "proof.json").read_bytes(), get_backend())
    assert base64.b64decode(printed["proof_b64"]) == proof_to_bytes(proof, get_backend())
    verified = run("verify", str(tmp_path / "proof.json"), "--snapshot", str(keys["root"] / "snapshot.json"),
                   "--commitment", keys["commitment"], "--context", "11", "--circuit", CIRCUIT,
                   "--vk", str(bundle / "verification_key.json"), "--vk-digest", keys["digest"])
    assert verified.exit_code == 0, verified.output


def test_prove_refuses_a_bundle_whose_digest_is_not_the_pinned_one(keys, tmp_path):
    other = (keys["root"] / "b" / CIRCUIT / BUNDLE_FILES[2]).read_text().strip()
    result = prove(keys, tmp_path, "--keys", str(keys["bundle"]), "--vk-digest", other)
    assert_refused(result, tmp_path, "not the pinned", other)


def test_prove_refuses_a_proving_key_from_another_bundle(keys, tmp_path):
    bundle = copy_bundle(keys["bundle"], tmp_path / "mixed")
    shutil.copy(keys["root"] / "b" / CIRCUIT / "proving_key.bin", bundle / "proving_key.bin")
    result = prove(keys, tmp_path, "--keys", str(bundle))
    assert_refused(result, tmp_path, "does not belong to")


def test_prove_refuses_a_digest_file_that_does_not_match_the_key(keys, tmp_path):
    bundle = copy_bundle(keys["bundle"], tmp_path / "tampered")
    (bundle / BUNDLE_FILES[2]).write_text("0" * 64 + "\n")
    result = prove(keys, tmp_path, "--keys", str(bundle))
    assert_refused(result, tmp_path, "not the pinned")


def test_prove_refuses_the_keys_of_another_circuit(keys, tmp_path):
    result = prove(keys, tmp_path, "--keys", str(keys["root"] / "a" / OTHER_CIRCUIT))
    assert_refused(result, tmp_path, "another circuit than " + CIRCUIT)


def test_a_margin_call_is_refused_before_any_key_is_needed(keys, tmp_path):
    result = prove(keys, tmp_path, opening="mc-opening.json", account="margin_call.json")
    assert result.exit_code == 1, result.output  # exit 2 would mean it looked for keys first
    assert "subject to a margin call" in result.stderr and "key bundle" not in result.stderr
    assert not (tmp_path / "proof.json").exists()


def test_verify_checks_a_pinned_digest(keys, tmp_path):
    bundle = copy_bundle(keys["bundle"], tmp_path / "venue-keys")
    assert prove(keys, tmp_path, "--keys", str(bundle)).exit_code == 0
    args = ["verify", str(tmp_path / "proof.json"), "--snapshot", str(keys["root"] / "snapshot.json"),
            "--commitment", keys["commitment"], "--context", "11", "--circuit", CIRCUIT,
            "--vk", str(bundle / "verification_key.json")]
    wrong = run(*args, "--vk-digest", "ab" * 32)
    assert wrong.exit_code == 2 and "not the pinned" in wrong.stderr
    malformed = run(*args, "--vk-digest", "xyz")
    assert malformed.exit_code == 2 and "64 hex digits" in malformed.stderr
    assert run(*args, "--vk-digest", keys["digest"]).exit_code == 0


def test_setup_never_replaces_a_lone_proving_key_and_upgrades_an_old_cache(keys, tmp_path):
    lone = copy_bundle(keys["bundle"], tmp_path / "lone" / CIRCUIT, files=BUNDLE_FILES[:1])
    refused = run("--cache-dir", str(tmp_path / "lone"), "setup", "--circuit", CIRCUIT)
    assert refused.exit_code == 2 and "incomplete key bundle" in refused.stderr
    assert (lone / "proving_key.bin").read_bytes() == (keys["bundle"] / "proving_key.bin").read_bytes()
    old = copy_bundle(keys["bundle"], tmp_path / "old" / CIRCUIT, files=BUNDLE_FILES[:2])
    upgraded = run("--cache-dir", str(tmp_path / "old"), "setup", "--circuit", CIRCUIT, "--json")
    assert upgraded.exit_code == 0 and json.loads(upgraded.stdout)["keys"] == "cached"
    assert (old / BUNDLE_FILES[2]).read_text().strip() == keys["digest"]


def test_verifying_under_another_model_says_invalid_and_names_the_circuit_checked(keys, tmp_path):
    bundle = copy_bundle(keys["bundle"], tmp_path / "venue-keys")
    assert prove(keys, tmp_path, "--keys", str(bundle)).exit_code == 0
    cache = tmp_path / "verifier-cache"
    assert run("--cache-dir", str(cache), "setup", "--circuit", CIRCUIT, "--model", "isolated").exit_code == 0
    result = run("--cache-dir", str(cache), "verify", str(tmp_path / "proof.json"),
                 "--snapshot", str(keys["root"] / "snapshot.json"), "--commitment", keys["commitment"],
                 "--context", "11", "--circuit", CIRCUIT, "--model", "isolated")
    assert result.exit_code == 1, result.output
    assert "INVALID proof (checked as isolated-n6-k4" in result.stdout and "prove --json" in result.stdout


def test_one_vk_digest_from_setup_service_evm_export_and_the_formats_page_recipe(keys, tmp_path):
    """#22 item 9: setup's digest is the service's vk_digest and the Solidity export's, for the file as written
    and for the same key re-serialized with other whitespace and key order; the recipe in docs/formats.md recomputes it."""
    import re
    import shlex
    import subprocess
    import sys

    from tests.verifier_service.conftest import admin_headers, make_client

    digest = keys["digest"]
    original = keys["bundle"] / "verification_key.json"
    reformatted = tmp_path / "vk-reformatted.json"
    reformatted.write_text(json.dumps(dict(reversed(list(json.loads(original.read_text()).items()))), indent=7))
    assert hashlib.sha256(reformatted.read_bytes()).hexdigest() != hashlib.sha256(original.read_bytes()).hexdigest()
    for vk_file in (original, reformatted):
        exported = run("export", "solidity", str(vk_file), str(tmp_path / "verifier.sol"))
        assert exported.exit_code == 0, exported.output
        assert re.search(r"vk digest ([0-9a-f]{64})", exported.stderr).group(1) == digest
        client = make_client(tmp_path / vk_file.stem)
        created = client.post("/v1/circuits", json={"circuit_id": CIRCUIT,
                                                    "verification_key": json.loads(vk_file.read_text())},
                              headers=admin_headers())
        assert created.status_code == 201, created.text
        assert created.json()["vk_digest"] == digest
        assert client.get(f"/v1/circuits/{CIRCUIT}").json()["vk_digest"] == digest
    formats = (Path(__file__).resolve().parents[2] / "docs" / "formats.md").read_text()
    recipe = next(line for line in formats.splitlines() if line.startswith("python -c") and "vk_digest" in line)
    program, flag, code, vk_name = shlex.split(recipe)
    assert (program, flag, vk_name) == ("python", "-c", "verification_key.json")
    recomputed = subprocess.run([sys.executable, "-c", code, str(reformatted)], capture_output=True, text=True,
                                check=True)
    assert recomputed.stdout.strip() == digest


def test_a_bundle_whose_proving_key_holds_torsion_is_refused_naming_the_point(keys, tmp_path):
    """#22 item 7 for key bundles: the pinned digest covers the verification key only, so a venue could plant a
    small-order point in a query point and read a witness bit from the proof; the key is refused on load."""
    from tests.groth16.torsion import pk_with_torsion
    from zkmargin.cli.keystore import SUBGROUP_CHECKED_DIR
    from zkmargin.groth16.serialization import pk_from_bytes

    ark = get_backend("arkworks")
    good = copy_bundle(keys["bundle"], tmp_path / "good")
    proved = prove(keys, tmp_path, "--keys", str(good), "--vk-digest", keys["digest"])
    assert proved.exit_code == 0, proved.output
    pk_bytes = (good / "proving_key.bin").read_bytes()
    assert (tmp_path / "cache" / SUBGROUP_CHECKED_DIR / hashlib.sha256(pk_bytes).hexdigest()).is_file()
    (tmp_path / "proof.json").unlink()
    (tmp_path / "public.json").unlink()
    bad = copy_bundle(keys["bundle"], tmp_path / "bad")
    (bad / "proving_key.bin").write_bytes(pk_with_torsion(pk_from_bytes(pk_bytes, ark), "l_query", 4, ark))
    result = prove(keys, tmp_path, "--keys", str(bad), "--vk-digest", keys["digest"])
    assert_refused(result, tmp_path, "l_query[4]")
