"""e(alpha, beta) in snarkjs's Fq12 layout, for verification_key.json's vk_alphabeta_12.

snarkjs towers Fq2 = Fq[u]/(u^2 + 1), Fq6 = Fq2[v]/(v^3 - (u + 1)), Fq12 = Fq6[w]/(w^2 - v)
and writes an element as [[c0, c2, c4], [c1, c3, c5]] for sum_i c_i w^i (c_i in Fq2).
py_ecc instead writes Fq12 over Fq with w^12 = 2 w^6 - 2, so u = w^6 - 1 and
c = x + y*u contributes (x - y) to w^i and y to w^(i+6).
snarkjs's final exponentiation differs from py_ecc's by a factor 3 and a
conjugation: its value is conj(e_py_ecc^3), i.e. the odd w-coefficients are negated
(checked against the snarkjs fixture in tests/groth16/test_snarkjs_interop.py).
Only the JSON writer needs this (verification does not read the field), so the
pure-Python pairing's ~0.3 s is paid once per exported key.
"""

from __future__ import annotations

from zkmargin.backends import CurveBackend
from zkmargin.groth16.data_structures import VerifyingKey


def alphabeta_to_json(vk: VerifyingKey, backend: CurveBackend) -> list[list[list[str]]]:
    """vk_alphabeta_12 = e(alpha_g1, beta_g2) as snarkjs writes it."""
    # The backend module imports py_ecc first, undoing py_ecc's change to the recursion limit.
    from zkmargin.backends.py_ecc_backend import FQ, FQ2  # isort: skip
    from py_ecc.optimized_bls12_381 import pairing

    alpha = backend.g1_to_affine(vk.alpha_g1)
    beta = backend.g2_to_affine(vk.beta_g2)
    if alpha is None or beta is None:
        raise ValueError("alpha and beta are never the identity in a checked key")
    p1 = (FQ(alpha[0]), FQ(alpha[1]), FQ(1))
    p2 = (FQ2(list(beta[0])), FQ2(list(beta[1])), FQ2([1, 0]))
    e = pairing(p2, p1)
    d = [int(c) for c in (e * e * e).coeffs]
    modulus = FQ.field_modulus
    fq2 = []
    for i in range(6):
        sign = -1 if i % 2 else 1  # conjugation negates odd powers of w
        fq2.append((sign * (d[i] + d[i + 6]) % modulus, sign * d[i + 6] % modulus))
    as_text = [[str(x), str(y)] for x, y in fq2]
    return [[as_text[0], as_text[2], as_text[4]], [as_text[1], as_text[3], as_text[5]]]
