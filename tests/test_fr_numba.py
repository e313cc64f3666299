"""The numba NTT kernels agree with the pure-Python reference."""

from __future__ import annotations

import random

import pytest

from zkmargin.field import R, intt, ntt
from zkmargin.groth16.r1cs_to_qap import quotient_coefficients_reference

numba_kernels = pytest.importorskip("zkmargin._fr_numba")


@pytest.mark.parametrize("log_n", [0, 1, 2, 5, 9])
def test_ntt_and_inverse_match_reference(log_n):
    rng = random.Random(log_n)
    values = [rng.randrange(R) for _ in range(1 << log_n)]
    values[0] = R - 1  # the top of the field
    forward = numba_kernels.ints_to_limbs(values)
    numba_kernels.ntt_limbs(forward)
    assert numba_kernels.limbs_to_ints(forward) == ntt(values)
    backward = numba_kernels.ints_to_limbs(values)
    numba_kernels.ntt_limbs(backward, inverse=True)
    assert numba_kernels.limbs_to_ints(backward) == intt(values)


@pytest.mark.parametrize("log_n", [1, 3, 8])
def test_quotient_matches_reference_and_divides(log_n):
    rng = random.Random(100 + log_n)
    n = 1 << log_n
    a = [rng.randrange(R) for _ in range(n)]
    b = [rng.randrange(R) for _ in range(n)]
    c = [x * y % R for x, y in zip(a, b)]  # A*B - C vanishes on the domain
    h = numba_kernels.quotient_coefficients(a, b, c)
    assert h == quotient_coefficients_reference(a, b, c)
    # Check A(x)B(x) - C(x) == h(x) (x^n - 1) at a random point.
    x = rng.randrange(R)

    def at(coefficients):
        acc = 0
        for coefficient in reversed(coefficients):
            acc = (acc * x + coefficient) % R
        return acc

    lhs = (at(intt(a)) * at(intt(b)) - at(intt(c))) % R
    assert lhs == at(h) * (pow(x, n, R) - 1) % R


def test_round_trip_of_extremes():
    values = [0, 1, R - 1, 2**255 % R, 2**32, 2**32 - 1]
    assert numba_kernels.limbs_to_ints(numba_kernels.ints_to_limbs(values)) == values
