"""The compiled NTT kernel (zkmargin.ntt) agrees with the pure-Python reference, and refuses what it cannot take."""

from __future__ import annotations

import random

import pytest

from zkmargin import ntt
from zkmargin.field import MULTIPLICATIVE_GENERATOR, R, intt, root_of_unity
from zkmargin.field import ntt as reference_ntt
from zkmargin.groth16.r1cs_to_qap import quotient_coefficients_reference


def test_the_compiled_kernel_is_installed():
    # The prover is only fast with it; a missing compiler at install time must not go unnoticed here.
    assert ntt.NATIVE


@pytest.mark.parametrize("log_n", [0, 1, 2, 5, 9])
def test_ntt_and_inverse_match_reference(log_n):
    rng = random.Random(log_n)
    values = [rng.randrange(R) for _ in range(1 << log_n)]
    values[0] = R - 1  # the top of the field
    assert ntt.ntt(values) == reference_ntt(values)
    assert ntt.intt(values) == intt(values)


@pytest.mark.parametrize("log_n", [1, 4, 8])
def test_coset_transforms_evaluate_at_the_shifted_points(log_n):
    rng = random.Random(50 + log_n)
    n = 1 << log_n
    coefficients = [rng.randrange(R) for _ in range(n)]
    shift = rng.randrange(2, R)
    omega = root_of_unity(log_n)

    def at(x):
        acc = 0
        for c in reversed(coefficients):
            acc = (acc * x + c) % R
        return acc

    evaluations = ntt.ntt(coefficients, shift)
    assert evaluations == [at(shift * pow(omega, i, R) % R) for i in range(n)]
    assert ntt.intt(evaluations, shift) == coefficients


@pytest.mark.parametrize("log_n", [1, 3, 8])
def test_quotient_matches_reference_and_divides(log_n):
    rng = random.Random(100 + log_n)
    n = 1 << log_n
    a = [rng.randrange(R) for _ in range(n)]
    b = [rng.randrange(R) for _ in range(n)]
    c = [x * y % R for x, y in zip(a, b)]  # A*B - C vanishes on the domain
    h = ntt.quotient_coefficients(a, b, c)
    assert h == quotient_coefficients_reference(a, b, c)
    x = rng.randrange(R)

    def at(coefficients):
        acc = 0
        for coefficient in reversed(coefficients):
            acc = (acc * x + coefficient) % R
        return acc

    lhs = (at(intt(a)) * at(intt(b)) - at(intt(c))) % R
    assert lhs == at(h) * (pow(x, n, R) - 1) % R


def test_round_trip_of_extremes():
    values = [0, 1, R - 1, 2**255 % R, 2**64, 2**64 - 1, 2**32, 2**32 - 1]
    assert ntt.intt(ntt.ntt(values)) == values
    assert ntt.ntt(values) == reference_ntt(values)


@pytest.mark.parametrize("bad", [R, R + 1, 2**256 - 1])
def test_values_not_below_r_are_refused(bad):
    with pytest.raises(ValueError, match="below r|\\[0, r\\)"):
        ntt.ntt([1, bad])
    with pytest.raises(ValueError, match="below r|\\[0, r\\)"):
        ntt.quotient_coefficients([1, 2], [3, 4], [3, bad])


@pytest.mark.parametrize("length", [0, 3, 6])
def test_lengths_that_are_not_powers_of_two_are_refused(length):
    with pytest.raises(ValueError, match="power of two"):
        ntt.ntt([1] * length)
    with pytest.raises(ValueError, match="power of two"):
        ntt.quotient_coefficients([1] * length, [1] * length, [1] * length)


def test_negative_values_are_refused():
    with pytest.raises(ValueError):
        ntt.intt([1, -1])


def test_kernel_checks_its_own_arguments():
    # Called directly (not through zkmargin.ntt), the kernel still refuses malformed buffers.
    kernel = pytest.importorskip("zkmargin.native._fr_kernels")
    one = (1).to_bytes(32, "little")
    with pytest.raises(ValueError, match="power-of-two"):
        kernel.transform(b"\x00" * 33, one, one, one, one)
    with pytest.raises(ValueError, match="omega"):
        kernel.transform(b"\x00" * 64, R.to_bytes(32, "little"), one, one, one)
    with pytest.raises(ValueError, match="same length"):
        kernel.quotient(b"\x00" * 64, b"\x00" * 32, b"\x00" * 64, *([one] * 6))
    g = MULTIPLICATIVE_GENERATOR.to_bytes(32, "little")
    with pytest.raises(ValueError, match=r"c\[1\]"):
        kernel.quotient(bytes(64), bytes(64), bytes(32) + R.to_bytes(32, "little"), one, one, one, g, g, one)


def test_fallback_without_the_kernel_gives_the_same_results(monkeypatch):
    # Where no C compiler was available at install, the same functions run in pure Python.
    rng = random.Random(9)
    n = 16
    a = [rng.randrange(R) for _ in range(n)]
    b = [rng.randrange(R) for _ in range(n)]
    c = [x * y % R for x, y in zip(a, b)]
    expected = (ntt.ntt(a, 5), ntt.intt(a, 5), ntt.quotient_coefficients(a, b, c))
    monkeypatch.setattr(ntt, "_fr_kernels", None)
    monkeypatch.setattr(ntt, "NATIVE", False)
    assert (ntt.ntt(a, 5), ntt.intt(a, 5), ntt.quotient_coefficients(a, b, c)) == expected
    assert ntt.quotient_coefficients(a, b, c) == quotient_coefficients_reference(a, b, c)


def test_witness_evaluations_fall_back_without_the_kernel(monkeypatch):
    from tests.groth16.circuits import compiled_cube, cube_witness
    from zkmargin.errors import UnsatisfiedError
    from zkmargin.groth16.r1cs_to_qap import witness_evaluations

    compiled = compiled_cube()
    z, _ = cube_witness(3)
    expected = witness_evaluations(compiled, z)
    monkeypatch.setattr(ntt, "NATIVE", False)
    assert witness_evaluations(compiled, z) == expected
    with pytest.raises(UnsatisfiedError):
        witness_evaluations(compiled, [1, z[1] + 1, *z[2:]])


def test_assembly_and_portable_field_products_agree():
    # The kernels multiply with BMI2/ADX assembly where the CPU has it, else with portable C: same results,
    # including values next to r and products that need the final subtraction.
    kernel = pytest.importorskip("zkmargin.native._fr_kernels")
    rng = random.Random(21)
    n = 256
    values = [rng.choice([0, 1, R - 1, R - 2, rng.randrange(R)]) for _ in range(n)]
    others = [rng.choice([1, R - 1, rng.randrange(R)]) for _ in range(n)]
    products = [x * y % R for x, y in zip(values, others)]
    runs = []
    previous = kernel.set_assembly(True)
    try:
        for assembly in (True, False):
            kernel.set_assembly(assembly)
            runs.append((ntt.ntt(values, 7), ntt.intt(values, 7), ntt.quotient_coefficients(values, others, products)))
    finally:
        kernel.set_assembly(previous)
    assert runs[0] == runs[1]
    assert runs[0][0] == [v for v in reference_ntt([x * pow(7, i, R) % R for i, x in enumerate(values)])]
