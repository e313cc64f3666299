"""Batch verification: exact isolation of bad proofs, malformed items, equivalence with single verification."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.groth16.circuits import compiled_cube, cube_witness
from zkmargin.backends import get_backend
from zkmargin.errors import ZkMarginError
from zkmargin.field import R, inv
from zkmargin.groth16 import Proof, prove, setup, verify
from zkmargin.groth16.batch import BatchItem, verify_batch


@pytest.fixture(scope="module")
def material():
    backend = get_backend("arkworks")
    compiled = compiled_cube()
    pk = setup(compiled, random.Random(31), backend)
    z, public = cube_witness(3)
    proof = prove(pk, compiled, z, random.Random(32), backend)
    return backend, pk, public, proof


def rerandomised(backend, proof: Proof, rng: random.Random) -> Proof:
    """(A / t, t B, C) is another valid proof of the same statement: e(A/t, tB) = e(A, B)."""
    t = rng.randrange(1, R)
    return Proof(backend.g1_mul(proof.a, inv(t)), backend.g2_mul(proof.b, t), proof.c)


def corrupted(backend, proof: Proof) -> Proof:
    return Proof(proof.a, proof.b, backend.g1_add(proof.c, backend.g1_generator()))


def many(material, count: int, seed: int = 0) -> list[BatchItem]:
    backend, _, public, proof = material
    rng = random.Random(seed)
    return [BatchItem(public, rerandomised(backend, proof, rng), label=f"p{i}") for i in range(count)]


def test_one_bad_proof_among_a_thousand_is_named(material):
    backend, pk, public, proof = material
    items = many(material, 1000)
    items[613] = BatchItem(public, corrupted(backend, items[613].proof), label="p613")
    result = verify_batch(pk.vk, items, backend)
    assert result.invalid_indices == [613]
    assert [r.label for r in result.items if not r.valid] == ["p613"]
    assert result.pairing_checks < 60  # bisection, not 1000 single checks


def test_several_bad_proofs_and_wrong_inputs(material):
    backend, pk, public, proof = material
    items = many(material, 64, seed=1)
    for i in (0, 17, 18, 63):
        items[i] = BatchItem(public, corrupted(backend, items[i].proof), label=f"p{i}")
    items[40] = BatchItem([public[0] + 1, public[1]], items[40].proof, label="p40")
    assert verify_batch(pk.vk, items, backend).invalid_indices == [0, 17, 18, 40, 63]


def test_cancelling_forgeries_are_caught_by_random_weights(material):
    """C + D and C - D cancel in an unweighted sum: only the random weights expose them."""
    backend, pk, public, proof = material
    d = backend.g1_mul(backend.g1_generator(), 12345)
    plus = Proof(proof.a, proof.b, backend.g1_add(proof.c, d))
    minus = Proof(proof.a, proof.b, backend.g1_add(proof.c, backend.g1_neg(d)))
    items = [BatchItem(public, plus, label="plus"), BatchItem(public, minus, label="minus")]
    assert verify_batch(pk.vk, items, backend).invalid_indices == [0, 1]


def test_duplicates_and_empty_batch(material):
    backend, pk, public, proof = material
    items = [BatchItem(public, proof, label="a"), BatchItem(public, proof, label="b")]
    result = verify_batch(pk.vk, items, backend)
    assert result.all_valid and len(result.items) == 2
    empty = verify_batch(pk.vk, [], backend)
    assert empty.all_valid and empty.items == [] and empty.pairing_checks == 0


def test_malformed_items_are_reported_and_do_not_stop_the_batch(material):
    backend, pk, public, proof = material
    items = many(material, 10, seed=2)
    items[2] = BatchItem(error="pi_a: not on the curve", label="bad-encoding")
    items[5] = BatchItem([R, public[1]], proof, label="input-too-big")
    items[7] = BatchItem(public, Proof(backend.g1_identity(), proof.b, proof.c), label="identity")
    items[8] = BatchItem([public[0]], proof, label="short-inputs")
    result = verify_batch(pk.vk, items, backend)
    assert result.invalid_indices == [2, 5, 7, 8]
    errors = {r.label: r.error for r in result.items if not r.valid}
    assert "curve" in errors["bad-encoding"] and "[0, r)" in errors["input-too-big"]
    assert "identity" in errors["identity"] and "expected 2 public inputs" in errors["short-inputs"]
    assert all(r.valid for r in result.items if r.index not in (2, 5, 7, 8))


def test_oversized_batch_is_refused(material, monkeypatch):
    backend, pk, _, _ = material
    monkeypatch.setattr("zkmargin.groth16.batch.MAX_BATCH_ITEMS", 3)
    with pytest.raises(ZkMarginError, match="at most 3"):
        verify_batch(pk.vk, [BatchItem(error="x")] * 4, backend)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["good", "bad_c", "bad_input", "malformed"]), min_size=0, max_size=9), st.integers(0, 1000))
def test_batch_equals_verifying_each_alone(material, kinds, seed):
    backend, pk, public, proof = material
    rng = random.Random(seed)
    items = []
    for i, kind in enumerate(kinds):
        p = rerandomised(backend, proof, rng)
        if kind == "bad_c":
            items.append(BatchItem(public, corrupted(backend, p), label=str(i)))
        elif kind == "bad_input":
            items.append(BatchItem([public[0], (public[1] + 1) % R], p, label=str(i)))
        elif kind == "malformed":
            items.append(BatchItem(error="broken", label=str(i)))
        else:
            items.append(BatchItem(public, p, label=str(i)))
    result = verify_batch(pk.vk, items, backend)
    for item, verdict in zip(items, result.items):
        alone = item.error is None and verify(pk.vk, item.public_inputs, item.proof, backend)
        assert verdict.valid == alone


def test_py_ecc_backend_agrees_on_a_small_batch(material):
    _, pk_ark, public, _ = material
    backend = get_backend("py_ecc")
    compiled = compiled_cube()
    pk = setup(compiled, random.Random(31), backend)
    z, public = cube_witness(3)
    proof = prove(pk, compiled, z, random.Random(32), backend)
    items = [BatchItem(public, proof), BatchItem(public, corrupted(backend, proof))]
    assert verify_batch(pk.vk, items, backend).invalid_indices == [1]


def test_fixed_inputs_batch_equals_full_inputs(material):
    """Items carrying only their leading inputs, the shared rest folded once: same verdicts."""
    from zkmargin.groth16.verifier import fixed_inputs_sum

    backend, pk, public, proof = material
    fixed = fixed_inputs_sum(pk.vk, 1, public[1:], backend)
    items = [BatchItem(public[:1], p.proof, label=p.label) for p in many(material, 80, seed=4)]
    items[9] = BatchItem(public[:1], corrupted(backend, items[9].proof), label="p9")
    items[50] = BatchItem([public[0] + 1], items[50].proof, label="p50")
    items[51] = BatchItem(public, items[51].proof, label="too-many-inputs")
    assert verify_batch(pk.vk, items, backend, fixed=fixed).invalid_indices == [9, 50, 51]
    single = [BatchItem(public[:1], proof)]
    assert verify_batch(pk.vk, single, backend, fixed=fixed).all_valid
    wrong = fixed_inputs_sum(pk.vk, 1, [public[1] + 1], backend)
    assert verify_batch(pk.vk, single, backend, fixed=wrong).invalid_indices == [0]
