"""Reference backend: py_ecc.optimized_bls12_381, pure Python (slow; for cross-checking)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

# py_ecc raises the interpreter-wide recursion limit to 100,000 when it is first imported. With that
# limit a deeply nested JSON document (a request body, an account file) overflows the C stack in
# the json module and kills the process instead of raising RecursionError. Nothing we call in
# py_ecc recurses deeper than the bit length of a scalar or an Fp exponent (< 400), so we put the
# limit back.
_recursion_limit_before_py_ecc = sys.getrecursionlimit()
import py_ecc  # noqa: F401  (runs py_ecc/__init__, which sets the limit)

sys.setrecursionlimit(_recursion_limit_before_py_ecc)

from py_ecc.fields import optimized_bls12_381_FQ as FQ
from py_ecc.fields import optimized_bls12_381_FQ2 as FQ2
from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
from py_ecc.optimized_bls12_381 import (
    G1,
    G2,
    Z1,
    Z2,
    add,
    double,
    final_exponentiate,
    is_inf,
    multiply,
    neg,
)
from py_ecc.optimized_bls12_381 import eq as point_eq
from py_ecc.optimized_bls12_381.optimized_pairing import miller_loop

from zkmargin.backends.base import (
    Fp2,
    P,
    PointBases,
    decode_g1_affine,
    decode_g2_affine,
    encode_g1,
    encode_g2,
    fixed_base_multiples,
    fp2_mul,
    g2_rhs,
    pippenger,
)
from zkmargin.errors import MalformedPointError
from zkmargin.field import R


def _miller_product(pairs: Sequence[tuple[Any, Any]]) -> Any:
    """prod_i f_(P_i, Q_i) before the final exponentiation; pairs with an identity contribute 1."""
    product = FQ12.one()
    for p, q in pairs:
        if is_inf(p) or is_inf(q):
            continue  # e(O, Q) = e(P, O) = 1
        product = product * miller_loop(q, p, final_exponentiate=False)
    return product


class PyEccBackend:
    """CurveBackend on py_ecc's optimized (projective) BLS12-381."""

    name = "py_ecc"

    def g1_generator(self) -> Any:
        return G1

    def g2_generator(self) -> Any:
        return G2

    def g1_identity(self) -> Any:
        return Z1

    def g2_identity(self) -> Any:
        return Z2

    def g1_add(self, p: Any, q: Any) -> Any:
        return add(p, q)

    g2_add = g1_add

    def g1_neg(self, p: Any) -> Any:
        return neg(p)

    g2_neg = g1_neg

    def g1_mul(self, p: Any, k: int) -> Any:
        return multiply(p, k % R)

    g2_mul = g1_mul
    # The reference backend keeps no tables: a table would cost seconds of pure-Python additions.
    g1_mul_fixed = g1_mul

    def g1_eq(self, p: Any, q: Any) -> bool:
        return point_eq(p, q)

    g2_eq = g1_eq

    def g1_is_identity(self, p: Any) -> bool:
        return is_inf(p)

    g2_is_identity = g1_is_identity

    def g1_msm(self, points: Sequence[Any], scalars: Sequence[int]) -> Any:
        if len(points) != len(scalars):
            raise ValueError("msm needs as many scalars as points")
        return pippenger(points, scalars, add, double, Z1)

    def g2_msm(self, points: Sequence[Any], scalars: Sequence[int]) -> Any:
        if len(points) != len(scalars):
            raise ValueError("msm needs as many scalars as points")
        return pippenger(points, scalars, add, double, Z2)

    def g1_bases(self, points: Sequence[Any], uncompressed: bytes | None = None) -> PointBases:
        return PointBases(points, self.g1_msm)

    def g2_bases(self, points: Sequence[Any], uncompressed: bytes | None = None) -> PointBases:
        return PointBases(points, self.g2_msm)

    def g1_batch_mul_bases(self, base: Any, scalars: Sequence[int]) -> tuple[list, PointBases]:
        points = self.g1_batch_mul(base, scalars)
        return points, PointBases(points, self.g1_msm)

    def g2_batch_mul_bases(self, base: Any, scalars: Sequence[int]) -> tuple[list, PointBases]:
        points = self.g2_batch_mul(base, scalars)
        return points, PointBases(points, self.g2_msm)

    def g1_batch_mul(self, base: Any, scalars: Sequence[int]) -> list:
        if len(scalars) < 64:
            return [multiply(base, k % R) for k in scalars]
        return fixed_base_multiples(base, scalars, add, Z1)

    def g2_batch_mul(self, base: Any, scalars: Sequence[int]) -> list:
        if len(scalars) < 64:
            return [multiply(base, k % R) for k in scalars]
        return fixed_base_multiples(base, scalars, add, Z2)

    def g2_prepare(self, q: Any) -> Any:
        """q itself: py_ecc's Miller loop takes the point."""
        return q

    def pairing_check(self, pairs: Sequence[tuple[Any, Any]]) -> bool:
        return self.pairing_product_equals(pairs, FQ12.one())

    def pairing(self, p: Any, q: Any) -> Any:
        return final_exponentiate(_miller_product([(p, q)]))

    def pairing_product_equals(self, pairs: Sequence[tuple[Any, Any]], target: Any) -> bool:
        return final_exponentiate(_miller_product(pairs)) == target

    def g1_to_affine(self, p: Any) -> tuple[int, int] | None:
        if is_inf(p):
            return None
        z_inv = p[2].inv() if hasattr(p[2], "inv") else 1 / p[2]
        return int(p[0] * z_inv), int(p[1] * z_inv)

    def g2_to_affine(self, p: Any) -> tuple[Fp2, Fp2] | None:
        if is_inf(p):
            return None
        z_inv = p[2].inv()
        x, y = p[0] * z_inv, p[1] * z_inv
        return (int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1]))

    def g1_from_affine(self, x: int, y: int, subgroup_check: bool = True) -> Any:
        if not (0 <= x < P and 0 <= y < P):
            raise MalformedPointError("G1 point: coordinate is not below the field modulus")
        if (y * y - x * x * x - 4) % P:
            raise MalformedPointError("G1 point: not on the curve")
        point = (FQ(x), FQ(y), FQ(1))
        if subgroup_check and not g1_in_subgroup(point):
            raise MalformedPointError("G1 point: not in the prime-order subgroup")
        return point

    def g2_from_affine(self, x: Fp2, y: Fp2, subgroup_check: bool = True) -> Any:
        if not all(0 <= c < P for c in (*x, *y)):
            raise MalformedPointError("G2 point: coordinate is not below the field modulus")
        if fp2_mul(y, y) != g2_rhs(x):
            raise MalformedPointError("G2 point: not on the curve")
        point = (FQ2(list(x)), FQ2(list(y)), FQ2([1, 0]))
        if subgroup_check and not g2_in_subgroup(point):
            raise MalformedPointError("G2 point: not in the prime-order subgroup")
        return point

    def g1_to_bytes(self, p: Any, compressed: bool = True) -> bytes:
        return encode_g1(self.g1_to_affine(p), compressed)

    def g2_to_bytes(self, p: Any, compressed: bool = True) -> bytes:
        return encode_g2(self.g2_to_affine(p), compressed)

    def g1_from_bytes(self, data: bytes, subgroup_check: bool = True) -> Any:
        affine = decode_g1_affine(data)
        return Z1 if affine is None else self.g1_from_affine(*affine, subgroup_check=subgroup_check)

    def g2_from_bytes(self, data: bytes, subgroup_check: bool = True) -> Any:
        affine = decode_g2_affine(data)
        return Z2 if affine is None else self.g2_from_affine(*affine, subgroup_check=subgroup_check)


# Subgroup membership by endomorphism, as zkmargin/native/_msm.c checks it (the papers are cited there): an
# endomorphism acts on the prime-order subgroup as a known scalar, so the test multiplies by the 64-bit |x|
# (twice in G1, once in G2) instead of by the 255-bit r.
_X_ABS = 0xD201000000010000
"""|x| for BLS12-381's parameter x = -0xd201000000010000."""
_BETA = FQ(0x5F19672FDF76CE51BA69C6076A0F77EADDB3A93BE6F89688DE17D813620A00022E01FFFFFFFEFFFE)
"""The cube root of unity for which sigma(x, y) = (beta x, y) acts as -x^2 on G1 (the other acts as x^2 - 1)."""
_PSI_X = FQ2([0, 0x1A0111EA397FE699EC02408663D4DE85AA0D857D89759AD4897D29650FB85F9B409427EB4F49FFFD8BFD00000000AAAD])
_PSI_Y = FQ2(
    [
        0x135203E60180A68EE2E9C448D77A2CD91C3DEDD930B1CF60EF396489F61EB45E304466CF3E67FA0AF1EE7B04121BDEA2,
        0x06AF0E0437FF400B6831E36D6BD17FFE48395DABC2D3435E77F76E17009241C5EE67992F72EC05F4C81084FBEDE3CC09,
    ]
)
"""psi(x, y) = (conj(x) / (1 + u)^((p - 1) / 3), conj(y) / (1 + u)^((p - 1) / 2)), untwist-Frobenius-twist."""


def g1_in_subgroup(point: Any) -> bool:
    """A point on the curve is in G1 iff sigma(P) == -[x^2] P (Scott, ePrint 2021/1130, section 6)."""
    if is_inf(point):
        return True
    x, y, z = point
    # x^2 = |x|^2, so the test reads -sigma(P) == [|x|]([|x|] P).
    return point_eq((_BETA * x, -y, z), multiply(multiply(point, _X_ABS), _X_ABS))


def g2_in_subgroup(point: Any) -> bool:
    """A point on the twist is in G2 iff psi(P) == [x] P (Scott, ePrint 2021/1130, section 4)."""
    if is_inf(point):
        return True
    x, y, z = point
    # x < 0, so the test reads -psi(P) == [|x|] P. In homogeneous coordinates the Frobenius conjugates Z
    # too, and psi's constants scale only X and Y.
    minus_psi = (_conj(x) * _PSI_X, -(_conj(y) * _PSI_Y), _conj(z))
    return point_eq(minus_psi, multiply(point, _X_ABS))


def _conj(a: Any) -> Any:
    return FQ2([a.coeffs[0], -a.coeffs[1]])
