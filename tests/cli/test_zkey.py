"""`zkmargin r1cs export` and `zkmargin zkey ...` walked in ceremony order, then `prove --zkey`; error paths.

The ptau is made with a known tau (insecure_ptau_for_tests) so that a margin circuit fits
without minutes of snarkjs powersoftau; snarkjs checks the result where it is installed.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.cli.ceremony_samples import ACCOUNT, BEACON, CIRCUIT, SNAPSHOT
from tests.npm_tools import snarkjs_command
from zkmargin.backends import get_backend
from zkmargin.cli.main import cli
from zkmargin.groth16.ptau import insecure_ptau_for_tests
from zkmargin.r1cs.circom import load_r1cs


def run(workdir: Path, *args: str):
    return CliRunner().invoke(cli, ["--cache-dir", str(workdir / "cache"), *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def ceremony(tmp_path_factory) -> Path:
    """A directory holding pot.ptau, circuit.r1cs and the ceremony's keys 0 (new) .. 3 (beacon)."""
    d = tmp_path_factory.mktemp("zkey_cli")
    (d / "pot.ptau").write_bytes(insecure_ptau_for_tests(10, random.Random(7), get_backend("arkworks")))
    (d / "small.ptau").write_bytes(insecure_ptau_for_tests(3, random.Random(8), get_backend("arkworks")))
    exported = run(d, "r1cs", "export", "--circuit", CIRCUIT, str(d / "circuit.r1cs"), "--json")
    assert exported.exit_code == 0, exported.output
    new = run(d, "zkey", "new", str(d / "circuit.r1cs"), str(d / "pot.ptau"), str(d / "k0.zkey"))
    assert new.exit_code == 0, new.output
    first = run(d, "zkey", "contribute", str(d / "k0.zkey"), str(d / "k1.zkey"), "--name", "alice", "-e", "x")
    assert first.exit_code == 0, first.output
    second = run(d, "zkey", "contribute", str(d / "k1.zkey"), str(d / "k2.zkey"), "--name", "bob")
    assert second.exit_code == 0, second.output
    final = run(d, "zkey", "beacon", str(d / "k2.zkey"), str(d / "k3.zkey"), BEACON, "10", "--name", "final")
    assert final.exit_code == 0, final.output
    return d


def test_r1cs_export_reports_and_writes_our_counts(ceremony):
    compiled = load_r1cs(ceremony / "circuit.r1cs")
    info = json.loads(run(ceremony, "inspect", "--circuit", CIRCUIT, "--json").stdout)
    assert (compiled.num_constraints, compiled.num_public) == (info["constraints"], info["public_inputs"])


def test_verify_accepts_the_ceremony_and_prints_contribution_hashes(ceremony):
    result = run(ceremony, "zkey", "verify", str(ceremony / "circuit.r1cs"), str(ceremony / "pot.ptau"),
                 str(ceremony / "k3.zkey"))
    assert result.exit_code == 0, result.output
    assert "ZKey Ok!" in result.stdout
    for name in ("contribution #1 alice", "contribution #2 bob", "contribution #3 final", "Beacon generator"):
        assert name in result.stdout


def test_verify_names_a_tampered_contribution_and_exits_1(ceremony, tmp_path):
    from zkmargin.groth16 import zkey as zk_mod

    backend = get_backend("arkworks")
    final = zk_mod.load_zkey(ceremony / "k3.zkey", backend)
    contributions = list(final.contributions)
    contributions[0] = zk_mod.replace(contributions[0], g2_spx=backend.g2_mul(contributions[0].g2_spx, 2))
    (tmp_path / "bad.zkey").write_bytes(zk_mod.zkey_to_bytes(zk_mod.replace(final, contributions=contributions)))
    result = run(ceremony, "zkey", "verify", str(ceremony / "circuit.r1cs"), str(ceremony / "pot.ptau"),
                 str(tmp_path / "bad.zkey"), "--json")
    assert result.exit_code == 1
    assert "contribution #1 (alice): broken proof of knowledge" in json.loads(result.stdout)["problem"]


def test_prove_with_the_final_zkey_and_verify_with_its_exported_key(ceremony):
    d = ceremony
    (d / "snapshot.json").write_text(json.dumps(SNAPSHOT))
    (d / "account.json").write_text(json.dumps(ACCOUNT))
    committed = run(d, "commit", str(d / "account.json"), str(d / "snapshot.json"), "--opening",
                    str(d / "opening.json"), "--circuit", CIRCUIT, "--json")
    assert committed.exit_code == 0, committed.output
    commitment = json.loads(committed.stdout)["commitment"]
    assert run(d, "zkey", "export", "verificationkey", str(d / "k3.zkey"), str(d / "vk.json")).exit_code == 0
    proved = run(d, "prove", str(d / "account.json"), str(d / "snapshot.json"), "--opening", str(d / "opening.json"),
                 "--context", "99", "--zkey", str(d / "k3.zkey"), "--out", str(d / "proof.json"),
                 "--public-out", str(d / "public.json"))
    assert proved.exit_code == 0, proved.output
    assert "snarkjs H convention" in proved.stderr
    assert not (d / "cache").exists() or not any((d / "cache").rglob("*.pk*"))  # no single-party setup ran
    args = ["verify", str(d / "proof.json"), "--snapshot", str(d / "snapshot.json"), "--commitment", commitment,
            "--circuit", CIRCUIT, "--vk", str(d / "vk.json")]
    assert run(d, *args, "--context", "99").exit_code == 0
    assert run(d, *args, "--context", "100").exit_code == 1

    # A pinned verification-key digest holds for a ceremony key too: another digest is refused, nothing written.
    pinned = run(d, "prove", str(d / "account.json"), str(d / "snapshot.json"), "--opening", str(d / "opening.json"),
                 "--context", "99", "--zkey", str(d / "k3.zkey"), "--vk-digest", "ab" * 32,
                 "--out", str(d / "other_proof.json"), "--public-out", str(d / "other_public.json"))
    assert pinned.exit_code == 2 and "--vk-digest" in pinned.output, pinned.output
    assert not (d / "other_proof.json").exists()

    snarkjs = snarkjs_command()
    if snarkjs is not None:  # snarkjs accepts the margin proof made from the ceremony key
        checked = subprocess.run([*snarkjs, "groth16", "verify", "vk.json", "public.json", "proof.json"], cwd=d,
                                 capture_output=True, text=True, timeout=300)
        assert checked.returncode == 0 and "OK" in checked.stdout, checked.stdout + checked.stderr


def test_snarkjs_zkey_verify_accepts_the_cli_ceremony(ceremony):
    snarkjs = snarkjs_command()
    if snarkjs is None:
        pytest.skip("snarkjs is not installed (.ci/run installs it into .ci/npm)")
    result = subprocess.run([*snarkjs, "zkey", "verify", "circuit.r1cs", "pot.ptau", "k3.zkey"], cwd=ceremony,
                            capture_output=True, text=True, timeout=600)
    assert "ZKey Ok!" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("make_args, message", [
    (lambda d: ["zkey", "new", str(d / "circuit.r1cs"), str(d / "small.ptau"), str(d / "out.zkey")], "too small"),
    (lambda d: ["zkey", "new", str(d / "circuit.r1cs"), str(d / "missing.ptau"), str(d / "out.zkey")], "not found"),
    (lambda d: ["zkey", "new", str(d / "k3.zkey"), str(d / "pot.ptau"), str(d / "out.zkey")], "not a r1cs file"),
    (lambda d: ["zkey", "contribute", str(d / "truncated.zkey"), str(d / "out.zkey"), "-n", "x"], "truncated"),
    (lambda d: ["zkey", "contribute", str(d / "k3.zkey"), str(d / "k3.zkey")], "replace the input"),
    (lambda d: ["zkey", "beacon", str(d / "k2.zkey"), str(d / "out.zkey"), "xyz", "10"], "hexadecimal"),
    (lambda d: ["zkey", "beacon", str(d / "k2.zkey"), str(d / "out.zkey"), BEACON, "5"], "[10, 63]"),
    (lambda d: ["zkey", "verify", str(d / "circuit.r1cs"), str(d / "pot.ptau"), str(d / "truncated.zkey")],
     "truncated"),
    (lambda d: ["zkey", "export", "verificationkey", str(d / "corrupt.zkey"), str(d / "out.json")], "zkey"),
])
def test_bad_input_is_a_message_exit_2_and_nothing_is_written(ceremony, make_args, message):
    d = ceremony
    data = (d / "k3.zkey").read_bytes()
    (d / "truncated.zkey").write_bytes(data[: len(data) // 2])
    corrupt = bytearray(data)
    corrupt[:4] = b"zkez"
    (d / "corrupt.zkey").write_bytes(bytes(corrupt))
    before = (d / "k3.zkey").read_bytes()
    result = run(d, *make_args(d))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not (d / "out.zkey").exists() and not (d / "out.json").exists()
    assert (d / "k3.zkey").read_bytes() == before


def test_prove_with_a_zkey_for_another_circuit_is_exit_2(ceremony, tmp_path):
    d = ceremony
    (tmp_path / "cube.r1cs").write_bytes(_cube_r1cs())
    assert run(d, "zkey", "new", str(tmp_path / "cube.r1cs"), str(d / "pot.ptau"), str(tmp_path / "c0.zkey")).exit_code == 0
    assert run(d, "zkey", "contribute", str(tmp_path / "c0.zkey"), str(tmp_path / "c1.zkey")).exit_code == 0
    (d / "snapshot.json").write_text(json.dumps(SNAPSHOT))
    (d / "account.json").write_text(json.dumps(ACCOUNT))
    opening = tmp_path / "opening.json"
    assert run(d, "commit", str(d / "account.json"), str(d / "snapshot.json"), "--opening", str(opening),
               "--circuit", CIRCUIT).exit_code == 0
    result = run(d, "prove", str(d / "account.json"), str(d / "snapshot.json"), "--opening", str(opening),
                 "--context", "1", "--zkey", str(tmp_path / "c1.zkey"), "--out", str(tmp_path / "proof.json"))
    assert result.exit_code == 2
    assert "another circuit" in result.stderr
    assert not (tmp_path / "proof.json").exists()


def _cube_r1cs() -> bytes:
    from tests.groth16.circuits import compiled_cube
    from zkmargin.r1cs.circom import r1cs_to_bytes

    return r1cs_to_bytes(compiled_cube())


def test_export_transcript_writes_the_records_the_service_checks(ceremony, tmp_path):
    from zkmargin.groth16.serialization import vk_from_json
    from zkmargin.groth16.transcript import check_transcript
    from zkmargin.groth16.zkey import zkey_from_bytes

    out, vk_path = tmp_path / "transcript.json", tmp_path / "vk.json"
    assert run(ceremony, "zkey", "export", "transcript", str(ceremony / "k3.zkey"), str(out)).exit_code == 0
    assert run(ceremony, "zkey", "export", "verificationkey", str(ceremony / "k3.zkey"), str(vk_path)).exit_code == 0
    backend = get_backend("arkworks")
    initial = zkey_from_bytes((ceremony / "k0.zkey").read_bytes(), backend)
    entries = check_transcript(json.loads(out.read_text()), vk_from_json(vk_path.read_text(), backend), initial,
                               backend)
    assert [(e["name"], e["beacon"]) for e in entries] == [("alice", False), ("bob", False), ("final", True)]
    # The initial key has no contribution: nothing to export, exit 2, no file.
    empty = run(ceremony, "zkey", "export", "transcript", str(ceremony / "k0.zkey"), str(tmp_path / "none.json"))
    assert empty.exit_code == 2 and "no contribution" in empty.output
    assert not (tmp_path / "none.json").exists()


def test_prove_with_a_zkey_holding_torsion_exits_2_naming_section_and_index(ceremony, tmp_path):
    """#22 item 7: a small-order point added to one L point; refused on load whatever the witness, no proof."""
    from tests.groth16.torsion import zkey_with_torsion
    from zkmargin.groth16 import zkey as zk_mod

    ark = get_backend("arkworks")
    d = ceremony
    final = zk_mod.zkey_from_bytes((d / "k3.zkey").read_bytes(), ark)
    (tmp_path / "bad.zkey").write_bytes(zkey_with_torsion(final, 8, 5, ark))
    (tmp_path / "snapshot.json").write_text(json.dumps(SNAPSHOT))
    (tmp_path / "account.json").write_text(json.dumps(ACCOUNT))
    committed = run(tmp_path, "commit", str(tmp_path / "account.json"), str(tmp_path / "snapshot.json"),
                    "--opening", str(tmp_path / "opening.json"), "--circuit", CIRCUIT)
    assert committed.exit_code == 0, committed.output
    proved = run(tmp_path, "prove", str(tmp_path / "account.json"), str(tmp_path / "snapshot.json"),
                 "--opening", str(tmp_path / "opening.json"), "--context", "99", "--zkey", str(tmp_path / "bad.zkey"),
                 "--out", str(tmp_path / "proof.json"), "--public-out", str(tmp_path / "public.json"))
    assert proved.exit_code == 2, proved.output
    assert "zkey L section (section 8), point 5" in proved.stderr and "subgroup" in proved.stderr
    assert "Traceback" not in proved.output
    assert not (tmp_path / "proof.json").exists() and not (tmp_path / "public.json").exists()


def test_a_ceremony_key_with_delta_minus_gamma_is_refused_by_every_cli_reader(ceremony, tmp_path):
    """#22 item 6: delta == -gamma forges; export solidity, verify and zkey export refuse it (exit 2)."""
    from zkmargin.groth16 import zkey as zk_mod
    from zkmargin.groth16.serialization import g2_to_json

    ark = get_backend("arkworks")
    d = ceremony
    assert run(d, "zkey", "export", "verificationkey", str(d / "k3.zkey"), str(tmp_path / "vk.json")).exit_code == 0
    vk_json = json.loads((tmp_path / "vk.json").read_text())
    final = zk_mod.zkey_from_bytes((d / "k3.zkey").read_bytes(), ark)
    vk_json["vk_delta_2"] = g2_to_json(ark.g2_neg(final.gamma_g2), ark)
    (tmp_path / "bad_vk.json").write_text(json.dumps(vk_json))
    exported = run(tmp_path, "export", "solidity", str(tmp_path / "bad_vk.json"), str(tmp_path / "v.sol"))
    assert exported.exit_code == 2 and "delta == -gamma" in exported.stderr, exported.output
    assert not (tmp_path / "v.sol").exists()
    bad_zkey = zk_mod.replace(final, delta_g2=ark.g2_neg(final.gamma_g2), delta_g1=ark.g1_neg(ark.g1_generator()))
    (tmp_path / "bad.zkey").write_bytes(zk_mod.zkey_to_bytes(bad_zkey, ark))
    from_zkey = run(tmp_path, "zkey", "export", "verificationkey", str(tmp_path / "bad.zkey"),
                    str(tmp_path / "bad_from_zkey.json"))
    assert from_zkey.exit_code == 2 and "delta == -gamma" in from_zkey.stderr, from_zkey.output
    assert not (tmp_path / "bad_from_zkey.json").exists()


def test_prove_with_a_zkey_checks_its_query_points_once_across_processes(ceremony, tmp_path, monkeypatch):
    """#22 item 7: the first `prove --zkey` subgroup-checks the key's points and remembers it in the prover's cache;
    the next one (a new process: the in-process memory is cleared here) does not check them again."""
    from zkmargin.cli.keystore import SUBGROUP_CHECKED_DIR
    from zkmargin.groth16 import serialization
    from zkmargin.groth16 import zkey as zk_mod

    ark = get_backend("arkworks")
    d = ceremony
    key = zk_mod.zkey_from_bytes((d / "k3.zkey").read_bytes(), ark)
    digest = zk_mod.query_sections_digest(key)
    (tmp_path / "snapshot.json").write_text(json.dumps(SNAPSHOT))
    (tmp_path / "account.json").write_text(json.dumps(ACCOUNT))
    assert run(tmp_path, "commit", str(tmp_path / "account.json"), str(tmp_path / "snapshot.json"),
               "--opening", str(tmp_path / "opening.json"), "--circuit", CIRCUIT).exit_code == 0
    checked: list[bool] = []
    for name in ("g1_from_affine", "g2_from_affine"):
        original = getattr(ark, name)

        def counting(x, y, subgroup_check=True, _original=original):
            checked.append(subgroup_check)
            return _original(x, y, subgroup_check)

        monkeypatch.setattr(ark, name, counting)
    counts = []
    for attempt in range(2):
        serialization._subgroup_checked.discard(digest)
        checked.clear()
        proved = run(tmp_path, "prove", str(tmp_path / "account.json"), str(tmp_path / "snapshot.json"),
                     "--opening", str(tmp_path / "opening.json"), "--context", "99", "--zkey", str(d / "k3.zkey"),
                     "--out", str(tmp_path / f"proof{attempt}.json"), "--public-out", str(tmp_path / "public.json"))
        assert proved.exit_code == 0, proved.output
        counts.append(checked.count(True))
    assert (tmp_path / "cache" / SUBGROUP_CHECKED_DIR / digest.hex()).is_file()
    nonzero = 0  # all-zero bytes are the identity and decode without a check
    for sid in (5, 6, 7, 8, 9):
        size, body = (192 if sid == 7 else 96), key.sections[sid]
        nonzero += sum(1 for i in range(0, len(body), size) if any(body[i : i + size]))
    assert nonzero > 0 and counts[0] - counts[1] == nonzero
