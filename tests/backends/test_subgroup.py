"""Subgroup checks by endomorphism (zkmargin.native._msm's g1_check / g2_check, the py_ecc backend's g1_in_subgroup /
g2_in_subgroup) against the definition, multiplication by r, on the points an attacker can send.

Torsion points are built, not hoped for: E(Fp) and the twist E'(Fp2) are the prime-order group times a
cofactor group, so [#E / q^v] P for a random curve point P lands in the q-part of the cofactor group for each
prime q | h (v its multiplicity). Where that part has two dimensions an endomorphism could act on one line of
it as the checked scalar, so each eigenline (the image of (phi - mu') for the eigenvalues mu, mu' of phi
mod q) is tested as well. Sums of torsion and subgroup points, points off the curve, coordinates above p and
the identity complete the set; every point goes through both backends' decoders, uncompressed and compressed.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from zkmargin.backends import get_backend
from zkmargin.backends.base import P, encode_g1, encode_g2, fp2_sqrt, fp_sqrt, g2_rhs
from zkmargin.backends.py_ecc_backend import g1_in_subgroup, g2_in_subgroup
from zkmargin.errors import MalformedPointError
from zkmargin.field import R

ONLY_X86 = "the native curve code is built on x86-64 with BMI2/ADX only"
pytest.importorskip("py_arkworks_bls12381")
from py_ecc.fields import optimized_bls12_381_FQ as FQ  # noqa: E402
from py_ecc.fields import optimized_bls12_381_FQ2 as FQ2  # noqa: E402
from py_ecc.optimized_bls12_381 import G1, G2, add, is_inf, multiply, neg, normalize  # noqa: E402

X = -0xD201000000010000
H1 = 0x396C8C005555E1568C00AAAB0000AAAB
H2 = 0x5D543A95414E7F1091D50792876A202CD91DE4547085ABAA68A205B2E5A7DDFA628F1CB4D9E82EF21537E293A6691AE1616EC6E786F0C70CF1C38E31C7238E5
BETA = 0x5F19672FDF76CE51BA69C6076A0F77EADDB3A93BE6F89688DE17D813620A00022E01FFFFFFFEFFFE
RNG = random.Random(28)

G1Jacobian = tuple[FQ, FQ, FQ]
"""A py_ecc G1 point (x, y, z), z = 0 at infinity."""
G2Jacobian = tuple[FQ2, FQ2, FQ2]
Jacobian = G1Jacobian | G2Jacobian


H1_FACTORS = {3: 1, 11: 2, 10177: 2, 859267: 2, 52437899: 2}
H2_FACTORS = {13: 2, 23: 2, 2713: 1, 11953: 1, 262069: 1, H2 // (13**2 * 23**2 * 2713 * 11953 * 262069): 1}


def _factor(n: int) -> dict[int, int]:
    """The cofactors' factorisations, checked: their product and each factor's (probable) primality."""
    factors = {H1: H1_FACTORS, H2: H2_FACTORS}[n]
    product = 1
    for q, v in factors.items():
        assert all(pow(a, q - 1, q) == 1 for a in (2, 3, 5, 7) if a < q) or q in (2, 3, 5, 7)
        product *= q**v
    assert product == n
    return factors


def _random_g1_curve_point() -> G1Jacobian:
    while True:
        x = RNG.randrange(P)
        y = fp_sqrt((x**3 + 4) % P)
        if y is not None:
            return (FQ(x), FQ(y), FQ(1))


def _random_g2_curve_point() -> G2Jacobian:
    while True:
        x = (RNG.randrange(P), RNG.randrange(P))
        y = fp2_sqrt(g2_rhs(x))
        if y is not None:
            return (FQ2(list(x)), FQ2(list(y)), FQ2([1, 0]))


def _sigma(point: G1Jacobian) -> G1Jacobian:
    x, y, z = point
    return (x * FQ(BETA), y, z)


def _psi(point: G2Jacobian) -> G2Jacobian:
    from zkmargin.backends.py_ecc_backend import _PSI_X, _PSI_Y, _conj

    x, y, z = point
    return (_conj(x) * _PSI_X, _conj(y) * _PSI_Y, _conj(z))


def _roots(b: int, c: int, q: int) -> list[int]:
    """Roots of m^2 + b m + c modulo an odd prime q below 2^32 (the eigenvalues of an endomorphism mod q)."""
    if q < 10**4:
        return [m for m in range(q) if (m * m + b * m + c) % q == 0]
    disc = (b * b - 4 * c) % q
    if disc and pow(disc, (q - 1) // 2, q) != 1:
        return []
    s = _sqrt_mod(disc, q)
    half = pow(2, -1, q)
    return sorted({(-b + s) * half % q, (-b - s) * half % q})


def _sqrt_mod(a: int, q: int) -> int:
    """Tonelli-Shanks: a square root of the square a modulo the odd prime q."""
    if a == 0:
        return 0
    s, e = q - 1, 0
    while s % 2 == 0:
        s, e = s // 2, e + 1
    z = next(z for z in range(2, q) if pow(z, (q - 1) // 2, q) == q - 1)
    m, c, t, root = e, pow(z, s, q), pow(a, s, q), pow(a, (s + 1) // 2, q)
    while t != 1:
        i, t2 = 0, t
        while t2 != 1:
            t2, i = t2 * t2 % q, i + 1
        b = pow(c, 1 << (m - i - 1), q)
        m, c, t, root = i, b * b % q, t * b * b % q, root * b % q
    assert root * root % q == a % q
    return root


def _torsion_points(random_point: Callable[[], Jacobian], cofactor: int, phi: Callable[[Jacobian], Jacobian],
                    coefficients: tuple[int, int], per_prime: int) -> list[tuple[str, Jacobian]]:
    """Points of every prime order q | cofactor (and each eigenline of phi on the q-torsion), labelled;
    phi satisfies phi^2 + b phi + c = 0 for (b, c) = coefficients."""
    order = cofactor * R
    out = []
    for q, v in _factor(cofactor).items():
        roots = _roots(*coefficients, q) if v > 1 else []
        for _ in range(per_prime):
            t = multiply(random_point(), order // q**v)
            # Bring the q-part down to order q: the q-Sylow subgroup may be cyclic of order q^v.
            while not is_inf(multiply(t, q)):
                t = multiply(t, q)
            if is_inf(t):
                continue
            out.append((f"order {q}", t))
            for mu in roots:
                line = add(phi(t), neg(multiply(t, mu)))  # (phi - mu) t lies on the other eigenline
                if not is_inf(line):
                    out.append((f"order {q}, eigenline of {phi.__name__} for its other root than {mu}", line))
    return out


def _g1_cases() -> list[tuple[str, G1Jacobian, bool]]:
    """(label, point, in the subgroup by multiplication by r)."""
    points = [("generator", G1), ("random subgroup point", multiply(G1, RNG.randrange(1, R)))]
    torsion = _torsion_points(_random_g1_curve_point, H1, _sigma, (1, 1), per_prime=2)
    points += torsion
    points += [(f"{label} + subgroup point", add(t, multiply(G1, RNG.randrange(1, R)))) for label, t in torsion]
    points += [("random curve point", _random_g1_curve_point()) for _ in range(3)]
    return [(label, point, is_inf(multiply(point, R))) for label, point in points]


def _g2_cases() -> list[tuple[str, G2Jacobian, bool]]:
    points = [("generator", G2), ("random subgroup point", multiply(G2, RNG.randrange(1, R)))]
    trace = X + 1
    torsion = _torsion_points(_random_g2_curve_point, H2, _psi, (-trace, P), per_prime=1)
    points += torsion
    points += [(f"{label} + subgroup point", add(t, multiply(G2, RNG.randrange(1, R)))) for label, t in torsion[:4]]
    points += [("random twist point", _random_g2_curve_point()) for _ in range(2)]
    return [(label, point, is_inf(multiply(point, R))) for label, point in points]


@pytest.fixture(scope="module")
def g1_cases() -> list[tuple[str, G1Jacobian, bool]]:
    return _g1_cases()


@pytest.fixture(scope="module")
def g2_cases() -> list[tuple[str, G2Jacobian, bool]]:
    return _g2_cases()


def _g1_xy(point: G1Jacobian) -> tuple[int, int]:
    x, y = normalize(point)
    return int(x), int(y)


def _g2_xy(point: G2Jacobian) -> tuple[tuple[int, ...], tuple[int, ...]]:
    x, y = normalize(point)
    return tuple(int(c) for c in x.coeffs), tuple(int(c) for c in y.coeffs)


def _be(*values: int) -> bytes:
    return b"".join(v.to_bytes(48, "big") for v in values)


def test_the_cases_cover_torsion_of_every_prime_order_and_subgroup_points(g1_cases, g2_cases) -> None:
    for cases, cofactor in ((g1_cases, H1), (g2_cases, H2)):
        labels = " ".join(label for label, _, _ in cases)
        assert all(f"order {q}" in labels for q in _factor(cofactor)), labels
        assert any(inside for _, _, inside in cases)
        assert sum(not inside for _, _, inside in cases) >= len(_factor(cofactor))
    assert any("eigenline" in label for label, _, _ in g1_cases)


def test_py_ecc_endomorphism_checks_equal_multiplication_by_r(g1_cases, g2_cases) -> None:
    for label, point, inside in g1_cases:
        assert g1_in_subgroup(point) is inside, label
    for label, point, inside in g2_cases:
        assert g2_in_subgroup(point) is inside, label


def test_native_endomorphism_checks_equal_multiplication_by_r(g1_cases, g2_cases) -> None:
    native_msm = pytest.importorskip("zkmargin.native._msm", reason=ONLY_X86)
    for label, point, inside in g1_cases:
        assert (native_msm.g1_check(_be(*_g1_xy(point))) is None) is inside, label
        if not inside:
            assert native_msm.g1_check(_be(*_g1_xy(point))) == (0, 3), label
    for label, point, inside in g2_cases:
        (x0, x1), (y0, y1) = _g2_xy(point)
        assert (native_msm.g2_check(_be(x0, x1, y0, y1)) is None) is inside, label


def test_native_check_names_the_first_bad_point_of_a_batch(g1_cases) -> None:
    native_msm = pytest.importorskip("zkmargin.native._msm", reason=ONLY_X86)
    good = [_be(*_g1_xy(point)) for _, point, inside in g1_cases if inside]
    bad = next(_be(*_g1_xy(point)) for _, point, inside in g1_cases if not inside)
    x, y = _g1_xy(G1)
    assert native_msm.g1_check(b"".join(good) + bytes(96)) is None  # zeros: the identity
    assert native_msm.g1_check(b"".join(good) + bad + b"".join(good)) == (len(good), 3)
    assert native_msm.g1_check(_be(x, (y + 1) % P)) == (0, 2)
    assert native_msm.g1_check(_be(x, y + P)) == (0, 1)
    assert native_msm.g1_check(_be(x, P - y)) is None  # -G1
    with pytest.raises(ValueError):
        native_msm.g1_check(bytes(95))
    (x0, x1), (y0, y1) = _g2_xy(G2)
    assert native_msm.g2_check(_be(x0, x1, y0, y1) + bytes(192)) is None
    assert native_msm.g2_check(_be(x0, x1, y0, (y1 + 1) % P)) == (0, 2)
    assert native_msm.g2_check(_be(x0, x1 + P, y0, y1)) == (0, 1)


@pytest.mark.parametrize("name", ["arkworks", "arkworks without zkmargin.native._msm", "py_ecc"])
def test_decoders_refuse_exactly_the_points_outside_the_subgroup(name, g1_cases, g2_cases, monkeypatch) -> None:
    if name == "arkworks without zkmargin.native._msm":  # where the native module is not built: the library checks
        import zkmargin.backends.arkworks as arkworks_module

        monkeypatch.setattr(arkworks_module, "native_msm", None)
    backend = get_backend(name.split()[0])
    # The library's compressed decoder words every refusal alike; ours name the subgroup.
    reason = None if "without" in name else "prime-order subgroup"
    for label, point, inside in g1_cases:
        affine = _g1_xy(point)
        for data in (encode_g1(affine, compressed=False), encode_g1(affine, compressed=True)):
            if inside:
                assert backend.g1_to_affine(backend.g1_from_bytes(data)) == affine, label
            else:
                with pytest.raises(MalformedPointError, match=reason):
                    backend.g1_from_bytes(data)
                # Unchecked decoding (bulk key sections, checked another way) still takes the point.
                assert backend.g1_to_affine(backend.g1_from_bytes(data, subgroup_check=False)) == affine, label
    for label, point, inside in g2_cases:
        affine = _g2_xy(point)
        for data in (encode_g2(affine, compressed=False), encode_g2(affine, compressed=True)):
            if inside:
                assert backend.g2_to_affine(backend.g2_from_bytes(data)) == affine, label
            else:
                with pytest.raises(MalformedPointError, match=reason):
                    backend.g2_from_bytes(data)


@pytest.mark.parametrize("name", ["arkworks", "py_ecc"])
def test_decoders_take_the_identity_and_refuse_points_off_the_curve(name) -> None:
    backend = get_backend(name)
    assert backend.g1_is_identity(backend.g1_from_bytes(encode_g1(None, compressed=True)))
    assert backend.g2_is_identity(backend.g2_from_bytes(encode_g2(None, compressed=False)))
    x, y = _g1_xy(G1)
    with pytest.raises(MalformedPointError, match="not on the curve"):
        backend.g1_from_affine(x, (y + 1) % P)
    with pytest.raises(MalformedPointError, match="not below the field modulus"):
        backend.g1_from_affine(x, y + P)
    (x0, x1), (y0, y1) = _g2_xy(G2)
    with pytest.raises(MalformedPointError, match="not on the curve"):
        backend.g2_from_affine((x0, x1), (y0, (y1 + 1) % P))


def test_native_decompression_equals_the_curve_library_and_py_ecc() -> None:
    pytest.importorskip("zkmargin.native._msm", reason=ONLY_X86)
    from py_arkworks_bls12381 import G1Point, G2Point

    ark, ref = get_backend("arkworks"), get_backend("py_ecc")
    for _ in range(40):
        k = RNG.randrange(1, R)
        for mul, to_bytes, decode, library in (
            (ark.g1_mul, ark.g1_to_bytes, ark.g1_from_bytes, G1Point.from_compressed_bytes),
            (ark.g2_mul, ark.g2_to_bytes, ark.g2_from_bytes, G2Point.from_compressed_bytes),
        ):
            generator = ark.g1_generator() if mul == ark.g1_mul else ark.g2_generator()
            for point in (mul(generator, k), -mul(generator, k)):  # both signs of y
                data = to_bytes(point)
                assert to_bytes(decode(data), compressed=False) == to_bytes(library(data), compressed=False)
                ref_point = (ref.g1_from_bytes if mul == ark.g1_mul else ref.g2_from_bytes)(data)
                ref_bytes = (ref.g1_to_bytes if mul == ark.g1_mul else ref.g2_to_bytes)(ref_point, compressed=False)
                assert to_bytes(decode(data), compressed=False) == ref_bytes


@pytest.mark.parametrize("name", ["arkworks", "py_ecc"])
def test_compressed_x_off_the_curve_or_above_p_is_refused(name) -> None:
    backend = get_backend(name)
    while True:
        x = RNG.randrange(P)
        if fp_sqrt((x**3 + 4) % P) is None:
            break
    data = bytearray(x.to_bytes(48, "big"))
    data[0] |= 0x80
    with pytest.raises(MalformedPointError, match="not on the curve"):
        backend.g1_from_bytes(bytes(data))
    with pytest.raises(MalformedPointError, match="not on the curve"):
        backend.g1_from_bytes(bytes(data), subgroup_check=False)
    above = bytearray((P + 1).to_bytes(48, "big"))
    above[0] |= 0x80
    with pytest.raises(MalformedPointError, match="not below the field modulus"):
        backend.g1_from_bytes(bytes(above))
    while True:
        x2 = (RNG.randrange(P), RNG.randrange(P))
        if fp2_sqrt(g2_rhs(x2)) is None:
            break
    data2 = bytearray(x2[1].to_bytes(48, "big") + x2[0].to_bytes(48, "big"))
    data2[0] |= 0xA0
    with pytest.raises(MalformedPointError, match="not on the curve"):
        backend.g2_from_bytes(bytes(data2))
    above2 = bytearray(x2[1].to_bytes(48, "big") + (P + x2[0]).to_bytes(48, "big"))
    above2[0] |= 0x80
    with pytest.raises(MalformedPointError, match="not below the field modulus"):
        backend.g2_from_bytes(bytes(above2))


@pytest.mark.parametrize("name", ["arkworks", "py_ecc"])
def test_the_points_of_order_3_are_refused(name) -> None:
    # x = 0 on y^2 = x^3 + 4: (0, +-2), the curve's only points of order 3 (and a native (0, 0) is the identity).
    backend = get_backend(name)
    for y in (2, P - 2):
        assert is_inf(multiply((FQ(0), FQ(y), FQ(1)), 3))
        for data in (encode_g1((0, y), compressed=False), encode_g1((0, y), compressed=True)):
            with pytest.raises(MalformedPointError, match="prime-order subgroup"):
                backend.g1_from_bytes(data)
            assert backend.g1_to_affine(backend.g1_from_bytes(data, subgroup_check=False)) == (0, y)


def test_native_unchecked_decompression_equals_the_curve_library_on_random_x() -> None:
    # Random x: about half have no point; the others give twist/curve points mostly outside the subgroup.
    native_msm = pytest.importorskip("zkmargin.native._msm", reason=ONLY_X86)
    from py_arkworks_bls12381 import G1Point, G2Point

    on_curve = 0
    for _ in range(300):
        sign = RNG.random() < 0.5
        for group, decompress, size in (
            (G1Point, native_msm.g1_decompress, 48),
            (G2Point, native_msm.g2_decompress, 96),
        ):
            body = b"".join(RNG.randrange(P).to_bytes(48, "big") for _ in range(size // 48))
            data = bytearray(body)
            data[0] |= 0x80 | (0x20 if sign else 0)
            try:
                library = bytes(group.from_compressed_bytes_unchecked(bytes(data)).to_xy_bytes_be())
            except Exception:  # noqa: BLE001 (the binding raises plain Exceptions)
                library = None
            ours = decompress(body, sign, False)
            assert (None if ours == 2 else ours) == library
            on_curve += library is not None
    assert 150 < on_curve < 450
