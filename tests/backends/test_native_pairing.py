"""zkmargin.native._pairing, our own pairing product: bilinearity, non-degeneracy, the identity, prepared lines equal
to fresh ones, and the same accept/reject decision as the curve library on valid and broken equations."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest

from zkmargin.backends import get_backend
from zkmargin.field import R

if TYPE_CHECKING:  # the curve library is imported with importorskip below
    from py_arkworks_bls12381 import G1Point, G2Point
    from py_arkworks_bls12381 import Scalar as ScalarElement

native = pytest.importorskip("zkmargin.native._pairing", reason="the native pairing is built on x86-64 with BMI2/ADX only")
arkworks = pytest.importorskip("py_arkworks_bls12381")

G1, G2, GT, Scalar = arkworks.G1Point, arkworks.G2Point, arkworks.GT, arkworks.Scalar
ONE = bytes(47) + b"\x01" + bytes(576 - 48)
RNG = random.Random(17)


def _k(value: int) -> ScalarElement:
    return Scalar.from_le_bytes((value % R).to_bytes(32, "little"))


def _xy(point: G1Point | G2Point) -> bytes:
    return point.to_xy_bytes_be()


def _pair(a: int, b: int) -> tuple[bytes, bytes]:
    return _xy(G1() * _k(a)), _xy(G2() * _k(b))


def test_bilinear_and_not_degenerate() -> None:
    a, b = RNG.randrange(1, R), RNG.randrange(1, R)
    value = native.pairing([_pair(a, b)])
    assert value != ONE
    assert value == native.pairing([_pair(a * b, 1)]) == native.pairing([_pair(1, a * b)]) == native.pairing([_pair(b, a)])
    assert native.pairing([_pair(a, b), _pair(R - a, b)]) == ONE
    assert native.pairing([_pair(a, b), _pair(a, b)]) == native.pairing([_pair(2 * a, b)])
    # A wrong exponent anywhere breaks it.
    assert native.pairing([_pair(a, b), _pair(R - a, b + 1)]) != ONE


def test_identity_points_contribute_one() -> None:
    a, b = RNG.randrange(1, R), RNG.randrange(1, R)
    g1, g2 = _pair(a, b)
    assert native.pairing([]) == ONE
    assert native.pairing([(bytes(96), g2)]) == ONE
    assert native.pairing([(g1, bytes(192))]) == ONE
    assert native.g2_lines(bytes(192)) == b""
    assert native.pairing([(g1, g2), (g1, native.g2_lines(bytes(192)))]) == native.pairing([(g1, g2)])


def test_prepared_lines_give_the_same_value() -> None:
    pairs = [_pair(RNG.randrange(1, R), RNG.randrange(1, R)) for _ in range(3)]
    prepared = [(g1, native.g2_lines(g2)) for g1, g2 in pairs]
    assert native.pairing(prepared) == native.pairing(pairs)
    assert native.pairing([pairs[0], prepared[1], pairs[2]]) == native.pairing(pairs)


UNIT_LINES_BYTES = 68 * 2 * 96
"""g2_fixed_lines: 68 lines, each two Fp2 coefficients (the constant term divided out)."""


@pytest.mark.parametrize("q_exp", [1, 2, R - 1, R - 2, 5, RNG.randrange(1, R)])
def test_fixed_lines_give_the_value_of_the_point_and_its_plain_lines(q_exp: int) -> None:
    q = _xy(G2() * _k(q_exp))
    fixed, plain = native.g2_fixed_lines(q), native.g2_lines(q)
    assert len(fixed) == UNIT_LINES_BYTES and fixed != plain[:UNIT_LINES_BYTES]
    for p_exp in (1, R - 1, RNG.randrange(1, R)):
        p = _xy(G1() * _k(p_exp))
        other = _pair(RNG.randrange(1, R), RNG.randrange(1, R))
        # Byte-identical values alone, beside a fresh pair, and next to their own inverse (equal / opposite points).
        assert native.pairing([(p, fixed)]) == native.pairing([(p, q)]) == native.pairing([(p, plain)])
        assert native.pairing([(p, fixed), other]) == native.pairing([(p, q), other])
        neg_p = _xy(-(G1() * _k(p_exp)))
        assert native.pairing([(p, fixed), (neg_p, fixed)]) == ONE
        assert native.pairing([(p, fixed), (p, fixed)]) == native.pairing([(_xy(G1() * _k(2 * p_exp)), q)])
    assert native.g2_fixed_lines(bytes(192)) == b""
    with pytest.raises(ValueError, match="not below p"):
        native.g2_fixed_lines(b"\xff" * 192)
    with pytest.raises(ValueError, match="192 bytes"):
        native.g2_fixed_lines(q[:100])
    with pytest.raises(ValueError, match="G2 operand"):
        native.pairing([(_xy(G1()), fixed[:-1])])


def test_groth16_equations_over_fixed_lines_decide_as_the_library_does() -> None:
    # The verifier's shape: e(A, B) e(-acc, gamma) e(-C, delta) == e(alpha, beta), gamma and delta as fixed lines.
    for _ in range(4):
        alpha, beta, gamma, delta, acc, c, b = (RNG.randrange(1, R) for _ in range(7))
        a = (alpha * beta + acc * gamma + c * delta) * pow(b, -1, R) % R
        target = native.pairing([_pair(alpha, beta)])
        gamma_lines = native.g2_fixed_lines(_xy(G2() * _k(gamma)))
        delta_lines = native.g2_fixed_lines(_xy(G2() * _k(delta)))
        for broken in (None, 0, 1, 2):
            exps = [a + (broken == 0), R - acc + (broken == 1), R - c + (broken == 2)]
            ours = native.pairing([_pair(exps[0], b), (_xy(G1() * _k(exps[1])), gamma_lines),
                                   (_xy(G1() * _k(exps[2])), delta_lines)]) == target
            theirs = GT.pairing_check([G1() * _k(x) for x in (*exps, R - alpha)],
                                      [G2() * _k(y) for y in (b, gamma, delta, beta)])
            assert ours == bool(theirs) == (broken is None)


def test_groth16_shaped_equations_decide_as_the_library_does() -> None:
    # e(A, B) = e(alpha, beta) e(acc, gamma) e(C, delta) with random exponents, then each term perturbed.
    for _ in range(6):
        alpha, beta, gamma, delta, acc, c, b = (RNG.randrange(1, R) for _ in range(7))
        a = (alpha * beta + acc * gamma + c * delta) * pow(b, -1, R) % R
        terms = [(a, b), (R - alpha, beta), (R - acc, gamma), (R - c, delta)]
        for broken in (None, 0, 1, 2, 3):
            exps = [(x + (i == broken), y) for i, (x, y) in enumerate(terms)]
            ours = native.pairing([_pair(x, y) for x, y in exps]) == ONE
            theirs = GT.pairing_check([G1() * _k(x) for x, _ in exps], [G2() * _k(y) for _, y in exps])
            assert ours == bool(theirs) == (broken is None)


def test_bad_inputs_are_errors_not_crashes() -> None:
    g1, g2 = _pair(3, 5)
    with pytest.raises(ValueError, match="96-byte G1"):
        native.pairing([(g1[:-1], g2)])
    with pytest.raises(ValueError, match="96-byte G1"):
        native.pairing([(g1, g2 + b"\x00")])
    with pytest.raises(ValueError, match="not below p"):
        native.pairing([(b"\xff" * 96, g2)])
    with pytest.raises(ValueError, match="not below p"):
        native.g2_lines(b"\xff" * 192)
    with pytest.raises(ValueError, match="192 bytes"):
        native.g2_lines(g2[:100])
    with pytest.raises(TypeError):
        native.pairing([(g1, g2, g2)])
    with pytest.raises(TypeError):
        native.pairing([("not bytes", g2)])
    with pytest.raises(TypeError):
        native.pairing(5)


def test_backend_decisions_match_with_and_without_the_native_pairing(monkeypatch) -> None:
    import zkmargin.backends.arkworks as arkworks_backend

    backend = get_backend("arkworks")
    p, q = G1() * _k(7), G2() * _k(11)
    other_q = G2() * _k(13)
    cases = {
        "balanced": [(p, q), (-p, q)],
        "unbalanced": [(p, q), (-p, other_q)],
        # The same G2 objects again: from their second use the backend serves cached lines; the cache must
        # never hand one point's lines to another.
        "balanced again": [(p, q), (-p, q)],
        "unbalanced again": [(p, q), (-p, other_q)],
        "swapped": [(p, other_q), (-p, q)],
    }
    decisions = {}
    for native_on in (True, False):
        if not native_on:
            monkeypatch.setattr(arkworks_backend, "native_pairing", None)
        target = backend.pairing(p, q)
        decisions[native_on] = {name: backend.pairing_check(pairs) for name, pairs in cases.items()} | {
            "target": backend.pairing_product_equals([(G1() * _k(77), G2())], target),
            "target wrong": backend.pairing_product_equals([(G1() * _k(78), G2())], target),
        }
    assert decisions[True] == decisions[False] == {
        "balanced": True, "unbalanced": False, "balanced again": True, "unbalanced again": False, "swapped": False,
        "target": True, "target wrong": False,
    }


def test_a_stream_of_one_off_points_keeps_the_key_points_lines() -> None:
    # Every proof brings a new B: seen once, it must not evict the lines of gamma and delta, which recur.
    from zkmargin.backends.arkworks import ArkworksBackend

    backend = ArkworksBackend()
    p, gamma = G1() * _k(3), G2() * _k(5)
    for _ in range(2):
        assert not backend.pairing_check([(p, gamma)])
    assert id(gamma) in backend._g2_lines.built
    for i in range(100):
        b = G2() * _k(1000 + i)
        assert backend.pairing_check([(p, b), (-p, b), (p, gamma), (-p, gamma)])
    assert backend._g2_lines.built[id(gamma)][0] is gamma


def test_a_native_value_is_never_compared_with_the_library_pairing(monkeypatch) -> None:
    import zkmargin.backends.arkworks as arkworks_backend

    backend = get_backend("arkworks")
    target = backend.pairing(G1(), G2())
    monkeypatch.setattr(arkworks_backend, "native_pairing", None)
    with pytest.raises(ValueError, match="cube"):
        backend.pairing_product_equals([(G1(), G2())], target)
