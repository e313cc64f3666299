"""Proof and key encodings: round trips, strict decoding, tampering fails cleanly."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.groth16.circuits import compiled_cube, cube_witness
from tests.groth16.torsion import pk_with_torsion
from zkmargin.errors import (
    EncodingError,
    MalformedKeyError,
    MalformedProofError,
    PublicInputError,
)
from zkmargin.field import R
from zkmargin.groth16 import prove, setup, verify
from zkmargin.groth16.serialization import (
    PROOF_SIZE_BYTES,
    pk_from_bytes,
    pk_to_bytes,
    proof_from_bytes,
    proof_from_json,
    proof_to_bytes,
    proof_to_json,
    public_inputs_from_json,
    vk_from_bytes,
    vk_from_json,
    vk_to_bytes,
    vk_to_json,
)


@pytest.fixture(scope="module")
def ark():
    from zkmargin.backends import get_backend

    return get_backend("arkworks")


@pytest.fixture(scope="module")
def material(ark):
    compiled = compiled_cube()
    pk = setup(compiled, random.Random(21), ark)
    z, public = cube_witness(9)
    proof = prove(pk, compiled, z, random.Random(22), ark)
    return pk, proof, public


def test_round_trips(backend):
    compiled = compiled_cube()
    pk = setup(compiled, random.Random(21), backend)
    z, public = cube_witness(9)
    proof = prove(pk, compiled, z, random.Random(22), backend)
    data = proof_to_bytes(proof, backend)
    assert len(data) == PROOF_SIZE_BYTES
    assert proof_to_bytes(proof_from_bytes(data, backend), backend) == data
    assert proof_to_bytes(proof_from_json(json.dumps(proof_to_json(proof, backend)), backend), backend) == data
    vk_bytes = vk_to_bytes(pk.vk, backend)
    assert vk_to_bytes(vk_from_bytes(vk_bytes, backend), backend) == vk_bytes
    assert vk_to_bytes(vk_from_json(vk_to_json(pk.vk, backend, alphabeta=[]), backend), backend) == vk_bytes
    pk_bytes = pk_to_bytes(pk, backend)
    assert pk_to_bytes(pk_from_bytes(pk_bytes, backend), backend) == pk_bytes
    assert verify(vk_from_bytes(vk_bytes, backend), public, proof_from_bytes(data, backend), backend)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(0, PROOF_SIZE_BYTES - 1), flip=st.integers(1, 255))
def test_any_changed_proof_byte_fails_cleanly(ark, material, position, flip):
    pk, proof, public = material
    data = bytearray(proof_to_bytes(proof, ark))
    data[position] ^= flip
    try:
        tampered = proof_from_bytes(bytes(data), ark)
    except MalformedProofError:
        return
    assert not verify(pk.vk, public, tampered, ark)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(index=st.integers(0, 1), delta=st.integers(1, R - 1))
def test_any_changed_public_input_fails(ark, material, index, delta):
    pk, proof, public = material
    changed = list(public)
    changed[index] = (changed[index] + delta) % R
    assert not verify(pk.vk, changed, proof, ark)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.update(pi_a=["1", "2", "1"]),  # not on the curve
        lambda p: p.update(pi_a=p["pi_a"][:2]),
        lambda p: p.update(pi_a=[p["pi_a"][0], p["pi_a"][1], "2"]),
        lambda p: p.update(pi_a=[int(p["pi_a"][0]), p["pi_a"][1], "1"]),
        lambda p: p.update(pi_a=["0" + p["pi_a"][0], p["pi_a"][1], "1"]),
        lambda p: p.update(pi_a=["0", "1", "0"]),  # identity
        lambda p: p.update(pi_b=[["0", "0"], ["1", "0"], ["0", "0"]]),
        lambda p: p.update(pi_c=[str(4002409555221667393417789825735904156556882819939007885332058136124031650490837864442687629129015664037894272559787 + 1), "1", "1"]),
        lambda p: p.update(curve="bn128"),
        lambda p: p.pop("pi_b"),
    ],
)
def test_malformed_json_proofs_raise_typed_errors(ark, material, mutate):
    _, proof, _ = material
    obj = proof_to_json(proof, ark)
    mutate(obj)
    with pytest.raises(MalformedProofError):
        proof_from_json(obj, ark)


@pytest.mark.parametrize("text", ["{", "[]", "null", '"x"', "[" * 100_000 + "]" * 100_000, b"\xff\xfe"])
def test_garbage_proof_text(ark, text):
    with pytest.raises(MalformedProofError):
        proof_from_json(text, ark)


@pytest.mark.parametrize("obj", ['{"a": 1}', '["1", 2]', '["-1"]', '["1e3"]', '[" 1"]', "not json"])
def test_public_inputs_json_is_strict(obj):
    with pytest.raises(PublicInputError):
        public_inputs_from_json(obj)


@pytest.mark.parametrize("cut", [0, 1, 47, PROOF_SIZE_BYTES - 1])
def test_truncated_binary_proofs(ark, material, cut):
    _, proof, _ = material
    with pytest.raises(MalformedProofError):
        proof_from_bytes(proof_to_bytes(proof, ark)[:cut], ark)


def test_truncated_keys(ark, material):
    pk, _, _ = material
    with pytest.raises(MalformedKeyError):
        vk_from_bytes(vk_to_bytes(pk.vk, ark)[:-1], ark)
    with pytest.raises(MalformedKeyError):
        pk_from_bytes(pk_to_bytes(pk, ark)[:-5], ark)
    with pytest.raises(EncodingError):
        vk_from_json('{"protocol": "groth16"}', ark)


def test_parallel_decoding_matches_sequential_and_keeps_errors_in_place(ark, material):
    from zkmargin.field import inv
    from zkmargin.groth16 import Proof
    from zkmargin.groth16.serialization import decode_proofs

    _, proof, _ = material
    rng = random.Random(5)
    encoded: list = []
    for _ in range(300):  # above the threshold where worker processes are used
        t = rng.randrange(1, R)
        encoded.append(proof_to_bytes(Proof(ark.g1_mul(proof.a, inv(t)), ark.g2_mul(proof.b, t), proof.c), ark))
    encoded[7] = b"\x00" * PROOF_SIZE_BYTES
    encoded[8] = proof_to_json(proof, ark)
    decoded = decode_proofs(encoded, ark, workers=2)
    assert isinstance(decoded[7], MalformedProofError)
    assert proof_to_bytes(decoded[8], ark) == proof_to_bytes(proof, ark)
    assert all(proof_to_bytes(p, ark) == e for i, (p, e) in enumerate(zip(decoded, encoded)) if i not in (7, 8))


# ----- #22 item 7: torsion in a proving key's query points ------------------------------------------
@pytest.mark.parametrize(("query", "index"), [("a_query", 2), ("b_g1_query", 1), ("b_g2_query", 3), ("h_query", 0),
                                              ("l_query", 1)])
def test_proving_key_with_torsion_in_a_query_point_is_refused_naming_it(backend, ark, material, query, index):
    """prove() would put w_i * T in A, B or C: the proof (or its refusal) would carry a witness bit out."""
    data = pk_with_torsion(material[0], query, index, ark)
    with pytest.raises(MalformedKeyError, match=rf"proving key {query}\[{index}\]"):
        pk_from_bytes(data, backend)


def test_proving_key_query_points_are_checked_once_per_key(ark, material, monkeypatch):
    from zkmargin.groth16 import serialization

    data = pk_to_bytes(material[0], ark)
    serialization._subgroup_checked.clear()
    checked: list[bool] = []
    for name in ("g1_from_affine", "g2_from_affine"):
        original = getattr(ark, name)

        def counting(x, y, subgroup_check=True, _original=original):
            checked.append(subgroup_check)
            return _original(x, y, subgroup_check)

        monkeypatch.setattr(ark, name, counting)
    pk_from_bytes(data, ark)
    first = checked.count(True)
    checked.clear()
    again = pk_from_bytes(data, ark)
    assert first > len(again.a_query) and checked.count(True) == 0
    z, public = cube_witness(9)
    assert verify(again.vk, public, prove(again, compiled_cube(), z, random.Random(3), ark), ark)
