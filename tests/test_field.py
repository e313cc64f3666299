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
