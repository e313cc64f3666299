"""snarkjs's H convention: A*B - C on the odd 2n-th roots of unity, over ffjavascript's domain.

A snarkjs .zkey's H query is [L^(2n)_(2i+1)(tau) / delta]_1: the Lagrange basis of the
2n-domain at its odd points x_i = w_2n * w_n^i. Since A*B - C vanishes on the
n-domain, (A*B - C)(tau) = sum_i (A*B - C)(x_i) L^(2n)_(2i+1)(tau), so the prover's
scalars are those values. Rows are numbered by ffjavascript's roots (generator 5);
our NTTs use generator 7, so we renumber the rows into our domain (the two
primitive roots are powers of each other), let the existing quotient code find
h = (A*B - C)/Z, and evaluate h * Z = -2h on the odd points in snarkjs's order.
"""

from __future__ import annotations

import functools

from zkmargin import field
from zkmargin.field import TWO_ADICITY, R, root_of_unity
from zkmargin.groth16.ptau import ffjs_root_of_unity
from zkmargin.groth16.r1cs_to_qap import quotient_coefficients


@functools.cache
def _ffjs_exponent() -> int:
    """C with ours^C = ffjavascript's primitive 2^32-th root (Pohlig-Hellman in a 2-group)."""
    ours, theirs = root_of_unity(TWO_ADICITY), ffjs_root_of_unity(TWO_ADICITY)
    exponent = 0
    for bit in range(TWO_ADICITY):
        remainder = theirs * pow(ours, -exponent, R) % R
        if pow(remainder, 1 << (TWO_ADICITY - 1 - bit), R) != 1:
            exponent |= 1 << bit
    if pow(ours, exponent, R) != theirs:
        raise ArithmeticError("ffjavascript's root of unity is not a power of ours")
    return exponent


def odd_coset_evaluations(az: list[int], bz: list[int], cz: list[int]) -> list[int]:
    """(A*B - C)(w_2n * w_n^i) for i < n, with A, B, C given on ffjavascript's n-domain in its order."""
    n = len(az)
    log_n = n.bit_length() - 1
    step = _ffjs_exponent() % n
    ours = [[0] * n for _ in range(3)]
    for source, target in zip((az, bz, cz), ours):
        for j, value in enumerate(source):
            target[step * j % n] = value
    h = quotient_coefficients(*ours)
    shift = ffjs_root_of_unity(log_n + 1)
    scaled, power = [0] * n, 1
    for j in range(n):
        scaled[j] = h[j] * power % R
        power = power * shift % R
    return [(-2 * v) % R for v in field.ntt(scaled, ffjs_root_of_unity(log_n))]
