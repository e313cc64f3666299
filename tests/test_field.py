import random

import pytest

from zkmargin.errors import EncodingError
from zkmargin.field import R, check_scalar, intt, ntt, root_of_unity


def naive_eval(coeffs, x):
    acc = 0
    for c in reversed(coeffs):
        acc = (acc * x + c) % R
    return acc


@pytest.mark.parametrize("log_n", [0, 1, 2, 5, 8])
def test_ntt_matches_naive_evaluation(log_n):
    rng = random.Random(log_n)
    n = 1 << log_n
    coeffs = [rng.randrange(R) for _ in range(n)]
    omega = root_of_unity(log_n)
    assert ntt(coeffs) == [naive_eval(coeffs, pow(omega, i, R)) for i in range(n)]
    assert intt(ntt(coeffs)) == coeffs


def test_root_of_unity_is_primitive():
    w = root_of_unity(32)
    assert pow(w, 1 << 32, R) == 1
    assert pow(w, 1 << 31, R) != 1


@pytest.mark.parametrize("bad", [-1, R, R + 5, 2**256])
def test_check_scalar_rejects_out_of_range(bad):
    with pytest.raises(EncodingError):
        check_scalar(bad)


def test_check_scalar_accepts_boundaries():
    assert check_scalar(0) == 0
    assert check_scalar(R - 1) == R - 1


def test_galois_agrees_on_roots_inverses_and_ntt():
    """galois, an independent implementation of Fr, as the reference for our roots, inverses and NTT."""
    from zkmargin.field import galois_field

    field = galois_field()
    omega = field(root_of_unity(4))
    assert omega**16 == field(1) and omega**8 != field(1)
    rng = random.Random(99)
    values = [rng.randrange(R) for _ in range(16)]
    x = field(values)
    # The DFT computed with galois arithmetic: X_k = sum_j x_j omega^(jk).
    expected = [int(sum((x[j] * omega ** (j * k) for j in range(16)), field(0))) for k in range(16)]
    assert ntt(values) == expected
    assert int(field(values[0]) ** -1) == pow(values[0], R - 2, R)
