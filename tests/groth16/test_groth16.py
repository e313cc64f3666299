"""Groth16 end to end on small circuits, on both curve backends."""

from __future__ import annotations

import random

import pytest

from tests.groth16.circuits import compiled_cube, cube_witness
from zkmargin.errors import (
    CircuitError,
    MalformedKeyError,
    MalformedProofError,
    PublicInputError,
    UnsatisfiedError,
    ZkMarginError,
)
from zkmargin.field import R
from zkmargin.groth16 import Proof, VerifyingKey, prove, setup, verify
from zkmargin.groth16.serialization import proof_to_bytes, vk_from_bytes, vk_from_json, vk_to_bytes, vk_to_json


@pytest.fixture(scope="module")
def cube():
    return compiled_cube()


@pytest.fixture
def keys(backend, cube):
    return setup(cube, random.Random(1), backend)


def test_valid_proof_verifies_and_wrong_inputs_do_not(backend, cube, keys):
    z, public = cube_witness(3)
    proof = prove(keys, cube, z, random.Random(2), backend)
    assert verify(keys.vk, public, proof, backend)
    assert not verify(keys.vk, [public[0] + 1, public[1]], proof, backend)
    # The circuit itself never uses the context: the builder's binding constraint
    # (and the QAP's input row) tie the proof to it.
    assert not verify(keys.vk, [public[0], public[1] + 1], proof, backend)


def test_unsatisfied_witness_is_refused_with_its_label(backend, cube, keys):
    z, _ = cube_witness(3)
    z[1] += 1  # y no longer equals x^3 + x + 5
    with pytest.raises(UnsatisfiedError, match="result"):
        prove(keys, cube, z, random.Random(2), backend)


@pytest.mark.parametrize(
    "public",
    [[35], [35, 7, 1], [R, 7], [35, R + 7], [-1, 7], ["35", 7], [True, 7]],
)
def test_malformed_public_inputs_raise_typed_error(backend, cube, keys, public):
    z, _ = cube_witness(3)
    proof = prove(keys, cube, z, random.Random(2), backend)
    with pytest.raises(PublicInputError):
        verify(keys.vk, public, proof, backend)


def test_identity_points_are_rejected(backend, cube, keys):
    z, public = cube_witness(3)
    proof = prove(keys, cube, z, random.Random(2), backend)
    for forged in (
        Proof(backend.g1_identity(), proof.b, proof.c),
        Proof(proof.a, backend.g2_identity(), proof.c),
        Proof(proof.a, proof.b, backend.g1_identity()),
    ):
        with pytest.raises(MalformedProofError):
            verify(keys.vk, public, forged, backend)


def _forge_with_delta_equal_gamma(backend, vk: VerifyingKey, public: list[int]) -> Proof:
    """With delta == gamma: A = alpha, B = beta, C = -sum x_i gamma_abc_i satisfies the equation."""
    acc = backend.g1_add(vk.gamma_abc_g1[0], backend.g1_msm(list(vk.gamma_abc_g1[1:]), public))
    return Proof(vk.alpha_g1, vk.beta_g2, backend.g1_neg(acc))


def test_key_with_delta_equal_gamma_is_refused(backend, keys):
    bad = VerifyingKey(keys.vk.alpha_g1, keys.vk.beta_g2, keys.vk.gamma_g2, keys.vk.gamma_g2, keys.vk.gamma_abc_g1)
    forged = _forge_with_delta_equal_gamma(backend, bad, [999, 1])
    with pytest.raises(MalformedKeyError, match="delta == gamma"):
        verify(bad, [999, 1], forged, backend)


def test_key_with_delta_equal_minus_gamma_is_refused_by_every_decoder_and_the_evm_export(backend, keys):
    """delta == -gamma: A = alpha, B = beta, C = +sum x_i gamma_abc_i passes for any inputs (issue 22 item 6)."""
    from zkmargin.evm import verifier_source

    vk = keys.vk
    bad = VerifyingKey(vk.alpha_g1, vk.beta_g2, vk.gamma_g2, backend.g2_neg(vk.gamma_g2), vk.gamma_abc_g1)
    forged = _forge_with_delta_equal_gamma(backend, bad, [999, 1])
    forged = Proof(forged.a, forged.b, backend.g1_neg(forged.c))
    with pytest.raises(MalformedKeyError, match="delta == -gamma"):
        verify(bad, [999, 1], forged, backend)
    for decode, encode in ((vk_from_bytes, vk_to_bytes), (vk_from_json, vk_to_json)):
        with pytest.raises(MalformedKeyError, match="delta == -gamma"):
            decode(encode(bad, backend), backend)
    with pytest.raises(MalformedKeyError, match="delta == -gamma"):
        verifier_source(bad, backend)


def test_key_with_two_equal_input_points_is_refused(backend, keys):
    """gamma_abc_1 == gamma_abc_2 would let a proof for (35, 7) pass for (34, 8): inputs not bound separately."""
    g = keys.vk.gamma_abc_g1
    bad = VerifyingKey(keys.vk.alpha_g1, keys.vk.beta_g2, keys.vk.gamma_g2, keys.vk.delta_g2, [g[0], g[1], g[1]])
    for decode, encode in ((vk_from_bytes, vk_to_bytes), (vk_from_json, vk_to_json)):
        with pytest.raises(MalformedKeyError, match=r"gamma_abc_g1\[1\] and gamma_abc_g1\[2\] are equal"):
            decode(encode(bad, backend), backend)
        assert decode(encode(keys.vk, backend), backend).num_public == 2


def test_key_with_delta_at_generator_is_refused(backend, keys):
    bad = VerifyingKey(keys.vk.alpha_g1, keys.vk.beta_g2, keys.vk.gamma_g2, backend.g2_generator(), keys.vk.gamma_abc_g1)
    with pytest.raises(MalformedKeyError, match="generator"):
        verify(bad, [35, 7], Proof(keys.vk.alpha_g1, keys.vk.beta_g2, keys.vk.alpha_g1), backend)


def test_proving_key_is_bound_to_its_circuit(backend, keys):
    from zkmargin.r1cs import ConstraintSystem

    other = ConstraintSystem("check")
    y = other.public_input("y", 4)
    other.public_input("context", 7)
    x = other.private_input("x", 2)
    other.assert_equal(other.mul(x, x, "sq"), y, "result")
    compiled = other.compile()
    with pytest.raises(CircuitError, match="different circuit"):
        prove(keys, compiled, other.assignment(), random.Random(2), backend)


def test_fresh_blinding_gives_different_valid_proofs(backend, cube, keys):
    z, public = cube_witness(5)
    p1 = prove(keys, cube, z, random.Random(3), backend)
    p2 = prove(keys, cube, z, random.Random(4), backend)
    assert proof_to_bytes(p1, backend) != proof_to_bytes(p2, backend)
    assert verify(keys.vk, public, p1, backend) and verify(keys.vk, public, p2, backend)


def test_backends_give_byte_identical_keys_and_proofs(cube):
    from zkmargin.backends import get_backend

    outputs = []
    for name in ("arkworks", "py_ecc"):
        backend = get_backend(name)
        pk = setup(cube, random.Random(11), backend)
        z, _ = cube_witness(4)
        proof = prove(pk, cube, z, random.Random(12), backend)
        outputs.append((vk_to_bytes(pk.vk, backend), proof_to_bytes(proof, backend)))
    assert outputs[0] == outputs[1]


def test_prepared_verification_decides_as_py_ecc_on_a_table_of_proofs(cube):
    # The same key and proofs on both backends (byte-identical, above): arkworks verifies through the prepared
    # key (fixed lines of gamma and delta, e(alpha, beta) once), py_ecc through its own pairing.
    from zkmargin.backends import get_backend
    from zkmargin.backends.base import P, fp2_sqrt, fp_sqrt, g2_rhs

    z, public = cube_witness(3)
    verdicts = []
    for name in ("arkworks", "py_ecc"):
        backend = get_backend(name)
        pk = setup(cube, random.Random(11), backend)
        proof = prove(pk, cube, z, random.Random(12), backend)
        g1, g2 = backend.g1_generator(), backend.g2_generator()
        table = {
            "valid": (public, proof),
            "wrong input": ([public[0] + 1, public[1]], proof),
            "input r - 1": ([R - 1, public[1]], proof),
            "A and C swapped": (public, Proof(proof.c, proof.b, proof.a)),
            "A = C": (public, Proof(proof.a, proof.b, proof.a)),
            "-A, -B (opposite points, same product)": (public, Proof(backend.g1_neg(proof.a), backend.g2_neg(proof.b), proof.c)),
            "-A": (public, Proof(backend.g1_neg(proof.a), proof.b, proof.c)),
            "B = generator": (public, Proof(proof.a, g2, proof.c)),
            "C + G1": (public, Proof(proof.a, proof.b, backend.g1_add(proof.c, g1))),
        }
        # Points off the subgroup (on the curve; the decoders refuse them, a Proof object can still carry them).
        rng = random.Random(5)
        while (y := fp_sqrt(((x := rng.randrange(P)) ** 3 + 4) % P)) is None:
            pass
        off_g1 = backend.g1_from_affine(x, y, subgroup_check=False)
        while (y2 := fp2_sqrt(g2_rhs(x2 := (rng.randrange(P), rng.randrange(P))))) is None:
            pass
        off_g2 = backend.g2_from_affine(x2, y2, subgroup_check=False)
        table["A off the subgroup"] = (public, Proof(off_g1, proof.b, proof.c))
        table["B off the subgroup"] = (public, Proof(proof.a, off_g2, proof.c))
        row = {}
        for label, (inputs, candidate) in table.items():
            row[label] = verify(pk.vk, inputs, candidate, backend)
        for label, candidate in (("A at infinity", Proof(backend.g1_identity(), proof.b, proof.c)),
                                 ("B at infinity", Proof(proof.a, backend.g2_identity(), proof.c))):
            with pytest.raises(MalformedProofError):
                verify(pk.vk, public, candidate, backend)
            row[label] = "refused"
        verdicts.append(row)
    assert verdicts[0] == verdicts[1]
    assert [label for label, ok in verdicts[0].items() if ok is True] == [
        "valid", "-A, -B (opposite points, same product)"]


def test_verify_raises_only_typed_errors(backend, cube, keys):
    z, public = cube_witness(3)
    proof = prove(keys, cube, z, random.Random(2), backend)
    for bad in (None, [None, 1], [1.5, 2]):
        with pytest.raises(ZkMarginError):
            verify(keys.vk, bad if bad is not None else [], proof, backend)


def test_key_with_an_unbound_public_input_is_refused(backend, keys):
    """A key whose gamma_abc point is the identity would accept any value of that input."""
    ic = list(keys.vk.gamma_abc_g1)
    ic[2] = backend.g1_identity()
    bad = VerifyingKey(keys.vk.alpha_g1, keys.vk.beta_g2, keys.vk.gamma_g2, keys.vk.delta_g2, tuple(ic))
    with pytest.raises(MalformedKeyError, match="unbound"):
        verify(bad, [35, 7], Proof(keys.vk.alpha_g1, keys.vk.beta_g2, keys.vk.alpha_g1), backend)



def test_fixed_inputs_give_the_same_verdicts(backend, cube, keys):
    from zkmargin.groth16.verifier import fixed_inputs_sum, verify_with_fixed_inputs

    z, public = cube_witness(3)
    proof = prove(keys, cube, z, random.Random(2), backend)
    fixed = fixed_inputs_sum(keys.vk, 1, public[1:], backend)
    assert verify_with_fixed_inputs(keys.vk, public[:1], fixed, proof, backend)
    assert not verify_with_fixed_inputs(keys.vk, [public[0] + 1], fixed, proof, backend)
    wrong_fixed = fixed_inputs_sum(keys.vk, 1, [public[1] + 1], backend)
    assert not verify_with_fixed_inputs(keys.vk, public[:1], wrong_fixed, proof, backend)
    with pytest.raises(PublicInputError):
        fixed_inputs_sum(keys.vk, 1, [R], backend)
    with pytest.raises(PublicInputError):
        verify_with_fixed_inputs(keys.vk, [R], fixed, proof, backend)
    with pytest.raises(PublicInputError):
        verify_with_fixed_inputs(keys.vk, [], fixed, proof, backend)


def test_e_alpha_beta_is_never_reused_for_another_key(backend, cube, keys):
    import dataclasses

    z, public = cube_witness(3)
    proof = prove(keys, cube, z, random.Random(2), backend)
    assert verify(keys.vk, public, proof, backend)  # caches e(alpha, beta) of this key
    other_alpha = dataclasses.replace(keys.vk, alpha_g1=backend.g1_add(keys.vk.alpha_g1, keys.vk.alpha_g1))
    other_beta = dataclasses.replace(keys.vk, beta_g2=backend.g2_add(keys.vk.beta_g2, keys.vk.beta_g2))
    assert not verify(other_alpha, public, proof, backend)
    assert not verify(other_beta, public, proof, backend)
    assert verify(keys.vk, public, proof, backend)


def test_two_keys_never_share_prepared_lines(backend, cube, keys):
    from zkmargin.groth16.verifier import prepare_verifying_key

    other = setup(cube, random.Random(99), backend)
    z, public = cube_witness(3)
    proof = prove(keys, cube, z, random.Random(2), backend)
    other_proof = prove(other, cube, z, random.Random(2), backend)
    mine, theirs = prepare_verifying_key(keys.vk, backend), prepare_verifying_key(other.vk, backend)
    assert prepare_verifying_key(keys.vk, backend) is mine  # once per key object
    for name in ("beta_g2", "gamma_g2", "delta_g2"):
        assert getattr(mine, name) != getattr(theirs, name)
    # Interleaved: each key's proof passes only under its own key, whichever key was prepared last.
    for _ in range(2):
        assert verify(keys.vk, public, proof, backend)
        assert not verify(other.vk, public, proof, backend)
        assert verify(other.vk, public, other_proof, backend)
        assert not verify(keys.vk, public, other_proof, backend)


def test_a_key_with_gamma_or_delta_swapped_is_refused_or_fails(backend, cube, keys):
    import dataclasses

    from zkmargin.groth16.verifier import fixed_inputs_sum, prepare_verifying_key, verify_with_fixed_inputs

    z, public = cube_witness(3)
    proof = prove(keys, cube, z, random.Random(2), backend)
    fixed = fixed_inputs_sum(keys.vk, 1, public[1:], backend)
    assert verify(keys.vk, public, proof, backend)  # the genuine key is prepared and cached
    # gamma set to delta (or delta to gamma): anyone could forge under it, so it is refused, never served from the cache.
    for swapped in (dataclasses.replace(keys.vk, gamma_g2=keys.vk.delta_g2),
                    dataclasses.replace(keys.vk, delta_g2=keys.vk.gamma_g2)):
        with pytest.raises(MalformedKeyError, match="delta == gamma"):
            prepare_verifying_key(swapped, backend)
        with pytest.raises(MalformedKeyError, match="delta == gamma"):
            verify(swapped, public, proof, backend)
        with pytest.raises(MalformedKeyError, match="delta == gamma"):
            verify_with_fixed_inputs(swapped, public[:1], fixed, proof, backend)
    # gamma and delta exchanged, or gamma from another setup: a well-formed key whose lines are its own, so the
    # proof made under the genuine key fails.
    other = setup(cube, random.Random(99), backend)
    for changed in (dataclasses.replace(keys.vk, gamma_g2=keys.vk.delta_g2, delta_g2=keys.vk.gamma_g2),
                    dataclasses.replace(keys.vk, gamma_g2=other.vk.gamma_g2)):
        assert not verify(changed, public, proof, backend)
        assert not verify_with_fixed_inputs(changed, public[:1], fixed, proof, backend)
    assert verify(keys.vk, public, proof, backend)


def test_repeated_verifications_keep_their_verdicts(backend, cube, keys):
    from zkmargin.groth16.verifier import fixed_inputs_sum, verify_with_fixed_inputs

    z, public = cube_witness(3)
    proof = prove(keys, cube, z, random.Random(2), backend)
    fixed = fixed_inputs_sum(keys.vk, 1, public[1:], backend)
    # Later uses of an input point go through the backend's cached table (arkworks): same verdicts.
    for _ in range(3):
        assert verify(keys.vk, public, proof, backend)
        assert verify_with_fixed_inputs(keys.vk, public[:1], fixed, proof, backend)
        assert not verify_with_fixed_inputs(keys.vk, [public[0] + 1], fixed, proof, backend)
        assert not verify(keys.vk, [public[0], public[1] + 1], proof, backend)
