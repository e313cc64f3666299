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

from zkmargin import ntt
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
    mask = n - 1
    # ffjavascript's w_n is ours to the power step (odd, so invertible mod n): its row j is our row step * j.
    step = _ffjs_exponent() % n
    step_inv = pow(step, -1, n) if n > 1 else 0
    ours = [[source[step_inv * k & mask] for k in range(n)] for source in (az, bz, cz)]
    h = quotient_coefficients(*ours)
    # h on the coset shift * <w_n> in our order (native NTT), read back in ffjavascript's order; Z = -2 there.
    evaluations = ntt.ntt(h, ffjs_root_of_unity(log_n + 1))
    return [(-2 * evaluations[step * i & mask]) % R for i in range(n)]
