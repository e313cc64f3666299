"""Interoperability with snarkjs 0.7.x on curve bls12381, both directions."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from tests.groth16.circuits import compiled_cube, cube_witness
from tests.npm_tools import snarkjs_command
from zkmargin.errors import MalformedKeyError
from zkmargin.groth16 import prove, setup, verify
from zkmargin.groth16.serialization import (
    proof_from_json,
    proof_to_json,
    public_inputs_from_json,
    public_inputs_to_json,
    vk_from_json,
    vk_to_json,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "snarkjs"


def _fixture(name: str) -> str:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"snarkjs fixtures not present at {FIXTURES}")
    return path.read_text()


def test_our_verifier_accepts_the_snarkjs_proof(backend):
    vk = vk_from_json(_fixture("verification_key.json"), backend)
    proof = proof_from_json(_fixture("proof.json"), backend)
    public = public_inputs_from_json(_fixture("public.json"))
    assert verify(vk, public, proof, backend)


def test_our_verifier_rejects_the_snarkjs_proof_with_any_input_changed():
    from zkmargin.backends import get_backend

    backend = get_backend("arkworks")  # 33 pairing checks: the fast backend only
    vk = vk_from_json(_fixture("verification_key.json"), backend)
    proof = proof_from_json(_fixture("proof.json"), backend)
    public = public_inputs_from_json(_fixture("public.json"))
    for i in range(len(public)):
        changed = list(public)
        changed[i] = (changed[i] + 1)
        assert not verify(vk, changed, proof, backend), f"input {i} changed but the proof verified"


def test_alphabeta_matches_snarkjs():
    """vk_alphabeta_12 (which snarkjs writes but does not read) comes out exactly as snarkjs writes it."""
    from zkmargin.backends import get_backend

    backend = get_backend("arkworks")
    original = json.loads(_fixture("verification_key.json"))
    ours = vk_to_json(vk_from_json(original, backend), backend)
    assert ours == original


def test_snarkjs_fixture_key_keeps_gamma_at_generator_and_is_accepted(backend):
    """snarkjs keys keep gamma = [1]_2; only delta must differ from it."""
    vk = vk_from_json(_fixture("verification_key.json"), backend)
    assert backend.g2_eq(vk.gamma_g2, backend.g2_generator())


def test_fixture_key_with_delta_replaced_by_gamma_is_refused(backend):
    obj = json.loads(_fixture("verification_key.json"))
    obj["vk_delta_2"] = obj["vk_gamma_2"]
    with pytest.raises(MalformedKeyError):
        vk_from_json(obj, backend)


def test_snarkjs_verifies_our_proof(tmp_path):
    command = snarkjs_command()
    if command is None:
        pytest.skip("snarkjs not installed (node + npm install snarkjs@0.7; .ci/run does this in CI)")
    from zkmargin.backends import get_backend

    backend = get_backend("arkworks")
    compiled = compiled_cube()
    pk = setup(compiled, random.Random(5), backend)
    z, public = cube_witness(6, context=123456789)
    proof = prove(pk, compiled, z, random.Random(6), backend)
    (tmp_path / "vk.json").write_text(json.dumps(vk_to_json(pk.vk, backend)))
    (tmp_path / "proof.json").write_text(json.dumps(proof_to_json(proof, backend)))
    (tmp_path / "public.json").write_text(json.dumps(public_inputs_to_json(public)))
    ok = subprocess.run([*command, "groth16", "verify", "vk.json", "public.json", "proof.json"],
                        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "OK" in ok.stdout, ok.stdout + ok.stderr
    (tmp_path / "public.json").write_text(json.dumps(public_inputs_to_json([public[0] + 1, public[1]])))
    bad = subprocess.run([*command, "groth16", "verify", "vk.json", "public.json", "proof.json"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 or "OK" not in bad.stdout
