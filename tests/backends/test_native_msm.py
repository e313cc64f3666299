"""zkmargin.native._msm, our own MSM: every case that takes another branch of the batched affine additions
(equal points, opposite points, the identity, one bucket with thousands of entries, digits at window
edges, carries out of the top window) against the curve library's MSM and the py_ecc reference."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest

from zkmargin.backends import get_backend
from zkmargin.backends.base import PointBases
from zkmargin.field import R

if TYPE_CHECKING:  # the curve library is imported with importorskip below
    from py_arkworks_bls12381 import G1Point, G2Point
    from py_arkworks_bls12381 import Scalar as ScalarElement

native = pytest.importorskip("zkmargin.native._msm", reason="the native MSM is built on x86-64 with BMI2/ADX only")
arkworks = pytest.importorskip("py_arkworks_bls12381")

G1, G2, Scalar = arkworks.G1Point, arkworks.G2Point, arkworks.Scalar
RNG = random.Random(7)


def _scalar(k: int) -> ScalarElement:
    return Scalar.from_le_bytes((k % R).to_bytes(32, "little"))


def _points(group: type[G1Point] | type[G2Point], count: int) -> list:
    return [group() * _scalar(RNG.randrange(1, R)) for _ in range(count)]


def _raw(scalars: list[int]) -> bytes:
    return b"".join(k.to_bytes(32, "little") for k in scalars)


def _native_msm(group: type[G1Point] | type[G2Point], points: list, scalars: list[int]) -> G1Point | G2Point:
    prepare, msm = (native.g1_points, native.g1_msm) if group is G1 else (native.g2_points, native.g2_msm)
    prepared = prepare(b"".join(p.to_xy_bytes_be() for p in points))
    return group.from_xy_bytes_unchecked_be(msm(prepared, _raw(scalars)))


def _library_msm(group: type[G1Point] | type[G2Point], points: list, scalars: list[int]) -> G1Point | G2Point:
    pairs = [(p, k) for p, k in zip(points, scalars) if k % R]
    if not pairs:
        return group.identity()
    return group.multiexp_unchecked([p for p, _ in pairs], [_scalar(k) for _, k in pairs])


BASE_G1, BASE_G2 = _points(G1, 300), _points(G2, 120)


def _cases(group: type[G1Point] | type[G2Point]) -> dict[str, tuple[list, list[int]]]:
    pts = BASE_G1 if group is G1 else BASE_G2
    p0, identity = pts[0], group.identity()
    return {
        "no points": ([], []),
        "one point": ([p0], [5]),
        "all scalars zero": (pts[:10], [0] * 10),
        # One bucket receives the same point many times: every round doubles (pair_kind SUM_DOUBLE).
        "one point a hundred times": ([p0] * 100, [1] * 100),
        "one point, random scalars": ([p0] * 50, [RNG.randrange(R) for _ in range(50)]),
        # P + (-P) in one bucket: the sum is the identity (SUM_INF), and later rounds add to it (SUM_LEFT/RIGHT).
        "P and -P": ([p0, p0 * _scalar(R - 1)], [7, 7]),
        "P, -P and P": ([p0, p0 * _scalar(R - 1), p0], [1, 1, 1]),
        "pairs cancelling": (pts[:50] + [p * _scalar(R - 1) for p in pts[:50]], [1] * 100),
        # Hundreds in one bucket, so that the batched rounds (>= ROUND_MIN_PAIRS pairs) meet the equal and the
        # opposite cases too, not only the Jacobian additions that finish small groups.
        "one point 400 times": ([p0] * 400, [1] * 400),
        "P, -P alternating 400 times": ([p0, p0 * _scalar(R - 1)] * 200, [1] * 400),
        "P, -P alternating, then P": ([p0, p0 * _scalar(R - 1)] * 200 + [p0], [1] * 401),
        "identity points": ([identity] * 3 + pts[:3], [3, 4, 5, 6, 7, 8]),
        "only identity points": ([identity] * 4, [1, 2, 3, 4]),
        "2P + P + (-3P)": ([p0, p0, p0 * _scalar(3)], [1, 1, R - 1]),
        "r - 1 everywhere": (pts[:20], [R - 1] * 20),
        "scalars of r and above": (pts[:4], [R, R + 1, 2 * R - 1, 2**256 - 1]),
        "bits": (pts, [RNG.randrange(2) for _ in pts]),
        "ones": (pts, [1] * len(pts)),
        "mixed widths": (pts, [RNG.choice([0, 1, RNG.randrange(2**27), RNG.randrange(2**64), RNG.randrange(R)])
                              for _ in pts]),
        "random": (pts, [RNG.randrange(R) for _ in pts]),
        "powers of two": (pts[: 2 * 40 + 1][:81], [2**i for i in range(0, 256, 3)][:81] or [1]),
        "all ones bits": (pts[:64], [2**j - 1 for j in range(1, 257, 4)]),
    }


@pytest.mark.parametrize("group", [G1, G2], ids=["G1", "G2"])
def test_native_msm_matches_the_curve_library_in_every_branch(group: type[G1Point] | type[G2Point]) -> None:
    for name, (points, scalars) in _cases(group).items():
        scalars = (scalars + [1] * len(points))[: len(points)]
        assert _native_msm(group, points, scalars) == _library_msm(group, points, scalars), name


@pytest.mark.parametrize("group", [G1, G2], ids=["G1", "G2"])
def test_native_msm_matches_the_pure_python_reference(group: type[G1Point] | type[G2Point]) -> None:
    ark, ref = get_backend("arkworks"), get_backend("py_ecc")
    to_ref = ref.g1_from_bytes if group is G1 else ref.g2_from_bytes
    to_bytes = ark.g1_to_bytes if group is G1 else ark.g2_to_bytes
    points = (BASE_G1 if group is G1 else BASE_G2)[:12]
    scalars = [RNG.randrange(R) for _ in points]
    expected = (ref.g1_msm if group is G1 else ref.g2_msm)([to_ref(to_bytes(p)) for p in points], scalars)
    got = _native_msm(group, points, scalars)
    assert to_bytes(got) == (ref.g1_to_bytes if group is G1 else ref.g2_to_bytes)(expected)


def test_window_choice_covers_many_sizes_and_skews() -> None:
    # Sizes across the window widths the cost model picks, with one heavy bucket next to full-width scalars.
    for count in (1, 2, 3, 7, 33, 129, 700):
        points = (BASE_G1 * 3)[:count]
        scalars = [1 if i % 3 else RNG.randrange(R) for i in range(count)]
        assert _native_msm(G1, points, scalars) == _library_msm(G1, points, scalars), count


def test_zcash_encoding_prepares_the_same_points() -> None:
    ark = get_backend("arkworks")
    g1 = BASE_G1[:5] + [G1.identity()]
    g2 = BASE_G2[:5] + [G2.identity()]
    assert native.g1_points(b"".join(ark.g1_to_bytes(p, compressed=False) for p in g1), True) == \
        native.g1_points(b"".join(p.to_xy_bytes_be() for p in g1))
    assert native.g2_points(b"".join(ark.g2_to_bytes(p, compressed=False) for p in g2), True) == \
        native.g2_points(b"".join(p.to_xy_bytes_be() for p in g2))


def test_bad_inputs_are_value_errors_not_crashes() -> None:
    good = BASE_G1[0].to_xy_bytes_be()
    with pytest.raises(ValueError, match="multiple of 96"):
        native.g1_points(good[:-1])
    with pytest.raises(ValueError, match="not below p"):
        native.g1_points(b"\xff" * 96)
    compressed = get_backend("arkworks").g1_to_bytes(BASE_G1[0]) * 2
    with pytest.raises(ValueError, match="compressed"):
        native.g1_points(compressed, True)
    prepared = native.g1_points(good)
    with pytest.raises(ValueError, match="one 32-byte scalar"):
        native.g1_msm(prepared, bytes(31))
    with pytest.raises(ValueError, match="one 32-byte scalar"):
        native.g1_msm(prepared, bytes(64))
    with pytest.raises(TypeError):
        native.g2_msm("not bytes", bytes(32))


def test_backend_bases_agree_with_the_point_list_path() -> None:
    ark = get_backend("arkworks")
    points = BASE_G1[:40]
    scalars = _raw([RNG.choice([0, 1, RNG.randrange(R)]) for _ in points])
    native_bases = ark.g1_bases(points)
    assert not isinstance(native_bases, PointBases)
    assert native_bases.msm(scalars) == PointBases(points, ark.g1_msm).msm(scalars)
    encoded = b"".join(ark.g2_to_bytes(p, compressed=False) for p in BASE_G2[:9])
    assert ark.g2_bases(BASE_G2[:9], encoded).msm(_raw([3] * 9)) == ark.g2_msm(BASE_G2[:9], [3] * 9)


def test_proofs_are_byte_identical_with_and_without_the_native_msm(monkeypatch) -> None:
    import zkmargin.backends.arkworks as arkworks_backend
    from tests.groth16.circuits import compiled_cube, cube_witness
    from zkmargin.groth16.generator import setup
    from zkmargin.groth16.prover import prove
    from zkmargin.groth16.serialization import proof_to_bytes

    backend = get_backend("arkworks")
    compiled = compiled_cube()
    z, _ = cube_witness(5)
    with_native = setup(compiled, rng=random.Random(11), backend=backend)
    proof_native = prove(with_native, compiled, z, rng=random.Random(12), backend=backend)
    monkeypatch.setattr(arkworks_backend, "native_msm", None)
    without = setup(compiled, rng=random.Random(11), backend=backend)  # a new key object: bases prepared anew
    assert isinstance(backend.g1_bases(without.a_query), PointBases)
    proof_library = prove(without, compiled, z, rng=random.Random(12), backend=backend)
    assert proof_to_bytes(proof_native, backend) == proof_to_bytes(proof_library, backend)


def test_recurring_point_lists_use_native_bases_and_stay_exact() -> None:
    # g1_msm prepares native bases for a list of point objects from its second use (a verifying key's input
    # points); every use, and every other list of the same length, must still give the library's sum.
    backend = get_backend("arkworks")
    first, second = BASE_G1[:40], BASE_G1[40:80]
    for round_index in range(4):
        for points in (first, second, list(reversed(first))):
            scalars = [RNG.choice([0, 1, RNG.randrange(2**64), RNG.randrange(R)]) for _ in points]
            assert backend.g1_msm(points, scalars) == _library_msm(G1, points, scalars), round_index
    assert any(bases is not None for _, bases in backend._recurring.built.values())


P_FIELD = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB
FIELD_EDGES = [0, 1, 2, P_FIELD - 1, P_FIELD - 2, (P_FIELD - 1) // 2, (P_FIELD + 1) // 2, 2**64 - 1, 2**64, 2**380,
               P_FIELD - 3, P_FIELD - 2**64, 2**383 % P_FIELD, 2**384 % P_FIELD]


def test_field_edges_survive_montgomery_form_and_back() -> None:
    # A point times 1 comes back through every step of the field product: into Montgomery form (x * R^2), the
    # bucket sums and the final normalisation (products by 1 / Z = 1), out again (x * 1), for coordinates at
    # the edges of Fp. (A product that skipped its final subtraction of p is caught by the comparisons with the
    # curve library above: the sums leave the curve.) g1_points checks only x, y < p, and the MSM checks
    # nothing, so the pairs need not lie on the curve.
    for x in FIELD_EDGES:
        for y in (FIELD_EDGES[3], FIELD_EDGES[1], x or 1):
            xy = x.to_bytes(48, "big") + y.to_bytes(48, "big")
            assert native.g1_msm(native.g1_points(xy), _raw([1])) == xy, (x, y)
            xy2 = xy + y.to_bytes(48, "big") + x.to_bytes(48, "big")
            assert native.g2_msm(native.g2_points(xy2), _raw([1])) == xy2, (x, y)
