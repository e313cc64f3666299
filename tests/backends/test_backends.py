"""Curve backends: group laws, ZCash encodings, strict decoding, MSM, pairing checks, parity."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from zkmargin.backends import get_backend
from zkmargin.backends.base import P, fp2_mul, fp2_sqrt, g2_rhs
from zkmargin.errors import MalformedPointError, ZkMarginError
from zkmargin.field import R

G1_GENERATOR_COMPRESSED = bytes.fromhex(
    "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
)
G2_GENERATOR_COMPRESSED = bytes.fromhex(
    "93e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e"
    "024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8"
)


def non_subgroup_g1() -> tuple[int, int]:
    """A point on y^2 = x^3 + 4 outside the order-r subgroup (the cofactor is not 1)."""
    for x in range(1, 100):
        rhs = (x**3 + 4) % P
        y = pow(rhs, (P + 1) // 4, P)
        if y * y % P == rhs:
            return x, y
    raise AssertionError("no point found")


def non_subgroup_g2():
    """A point on the twist outside the subgroup (almost every twist point is)."""
    for x0 in range(1, 100):
        x = (x0, 1)
        y = fp2_sqrt(g2_rhs(x))
        if y is not None:
            return x, y
    raise AssertionError("no point found")


def test_generators_have_the_zcash_encoding(backend):
    assert backend.g1_to_bytes(backend.g1_generator()) == G1_GENERATOR_COMPRESSED
    assert backend.g2_to_bytes(backend.g2_generator()) == G2_GENERATOR_COMPRESSED


def test_group_laws(backend):
    g = backend.g1_generator()
    assert backend.g1_eq(backend.g1_add(g, g), backend.g1_mul(g, 2))
    assert backend.g1_is_identity(backend.g1_add(g, backend.g1_neg(g)))
    assert backend.g1_is_identity(backend.g1_mul(g, R))
    assert backend.g1_eq(backend.g1_mul(g, R + 5), backend.g1_mul(g, 5))
    h = backend.g2_generator()
    assert backend.g2_eq(backend.g2_add(h, h), backend.g2_mul(h, 2))
    assert backend.g2_is_identity(backend.g2_mul(h, R))


@pytest.mark.parametrize("k", [0, 1, 2, 2**64 - 1, R - 1])
def test_round_trips(backend, k):
    p1 = backend.g1_mul(backend.g1_generator(), k)
    p2 = backend.g2_mul(backend.g2_generator(), k)
    for compressed in (True, False):
        assert backend.g1_eq(backend.g1_from_bytes(backend.g1_to_bytes(p1, compressed)), p1)
        assert backend.g2_eq(backend.g2_from_bytes(backend.g2_to_bytes(p2, compressed)), p2)
    affine = backend.g1_to_affine(p1)
    if k == 0:
        assert affine is None and backend.g1_to_bytes(p1) == b"\xc0" + bytes(47)
        assert backend.g1_to_bytes(p1, compressed=False) == b"\x40" + bytes(95)
    else:
        assert backend.g1_eq(backend.g1_from_affine(*affine), p1)
        assert backend.g2_eq(backend.g2_from_affine(*backend.g2_to_affine(p2)), p2)


def _g1_bad_encodings():
    gen = bytearray(G1_GENERATOR_COMPRESSED)
    x, y = non_subgroup_g1()
    not_subgroup = bytearray(x.to_bytes(48, "big"))
    not_subgroup[0] |= 0x80 | (0x20 if y > (P - 1) // 2 else 0)
    uncompressed_not_subgroup = x.to_bytes(48, "big") + y.to_bytes(48, "big")
    cases = {
        "empty": b"",
        "short": bytes(gen[:47]),
        "long": bytes(gen) + b"\x00",
        "no compression flag": bytes([gen[0] & 0x7F]) + bytes(gen[1:]),
        "infinity with bits": b"\xc0" + bytes(46) + b"\x01",
        "infinity with sign": b"\xe0" + bytes(47),
        "x >= p": bytes([0x80 | (P >> 376)]) + (P % 2**376).to_bytes(47, "big"),
        "not in subgroup": bytes(not_subgroup),
        "uncompressed not in subgroup": uncompressed_not_subgroup,
        "uncompressed off curve": (1).to_bytes(48, "big") + (1).to_bytes(48, "big"),
        "uncompressed with sign flag": bytes([0x20]) + bytes(95),
    }
    # An x with no square root: x^3 + 4 is a non-residue.
    for x_bad in range(1, 100):
        if pow((x_bad**3 + 4) % P, (P - 1) // 2, P) != 1:
            enc = bytearray(x_bad.to_bytes(48, "big"))
            enc[0] |= 0x80
            cases["x off curve"] = bytes(enc)
            break
    return cases


@pytest.mark.parametrize("case", sorted(_g1_bad_encodings()))
def test_bad_g1_encodings_are_rejected(backend, case):
    with pytest.raises(MalformedPointError):
        backend.g1_from_bytes(_g1_bad_encodings()[case])


def test_bad_g2_encodings_are_rejected(backend):
    x, y = non_subgroup_g2()
    with pytest.raises(MalformedPointError, match="subgroup"):
        backend.g2_from_affine(x, y)
    raw = x[1].to_bytes(48, "big") + x[0].to_bytes(48, "big") + y[1].to_bytes(48, "big") + y[0].to_bytes(48, "big")
    with pytest.raises(MalformedPointError):
        backend.g2_from_bytes(raw)
    with pytest.raises(MalformedPointError):
        backend.g2_from_bytes(G2_GENERATOR_COMPRESSED[:95])
    with pytest.raises(MalformedPointError):
        backend.g2_from_affine((1, 1), (1, 1))
    assert fp2_mul(y, y) == g2_rhs(x)  # the rejected point really is on the curve


def test_non_subgroup_g1_point_is_on_the_curve_but_rejected(backend):
    x, y = non_subgroup_g1()
    with pytest.raises(MalformedPointError, match="subgroup"):
        backend.g1_from_affine(x, y)


def test_msm_equals_sum_of_multiples(backend):
    rng = random.Random(3)
    g = backend.g1_generator()
    points = [backend.g1_mul(g, rng.randrange(R)) for _ in range(5)]
    for scalars in ([0] * 5, [1, 2, 3, 4, R - 1], [rng.randrange(R) for _ in range(5)]):
        expected = backend.g1_identity()
        for p, k in zip(points, scalars):
            expected = backend.g1_add(expected, backend.g1_mul(p, k))
        assert backend.g1_eq(backend.g1_msm(points, scalars), expected)
    assert backend.g1_is_identity(backend.g1_msm([], []))
    h = backend.g2_generator()
    assert backend.g2_eq(backend.g2_msm([h, h], [3, R - 1]), backend.g2_mul(h, 2))


def test_batch_mul_matches_mul(backend):
    rng = random.Random(4)
    scalars = [0, 1, R - 1] + [rng.randrange(R) for _ in range(67)]  # over the table threshold
    g = backend.g1_generator()
    got = backend.g1_batch_mul(g, scalars)
    for k, p in zip(scalars[:8], got[:8]):
        assert backend.g1_eq(p, backend.g1_mul(g, k))


def test_pairing_check_bilinearity(backend):
    a, b = 1234567, 7654321
    g1, g2 = backend.g1_generator(), backend.g2_generator()
    lhs = (backend.g1_mul(g1, a), backend.g2_mul(g2, b))
    rhs = (backend.g1_neg(backend.g1_mul(g1, a * b)), g2)
    assert backend.pairing_check([lhs, rhs])
    assert not backend.pairing_check([lhs, (backend.g1_neg(backend.g1_mul(g1, a * b + 1)), g2)])


def test_pairing_product_equals_a_fixed_target(backend):
    a, b = 1234567, 7654321
    g1, g2 = backend.g1_generator(), backend.g2_generator()
    target = backend.pairing(backend.g1_mul(g1, a * b), g2)
    assert backend.pairing_product_equals([(backend.g1_mul(g1, a), backend.g2_mul(g2, b))], target)
    # e(aP, bQ) * e(P, -Q) = e(P, Q)^(ab - 1): one more factor breaks the equality.
    assert not backend.pairing_product_equals(
        [(backend.g1_mul(g1, a), backend.g2_mul(g2, b)), (g1, backend.g2_neg(g2))], target)
    # Identity points contribute 1, as in pairing_check.
    assert backend.pairing_product_equals(
        [(backend.g1_identity(), g2), (backend.g1_mul(g1, a * b), g2), (g1, backend.g2_identity())], target)


@pytest.mark.parametrize("k", [0, 1, 255, 256, 2**64 - 1, R - 1, R, R + 5])
def test_mul_fixed_matches_mul_on_every_use(backend, k):
    point = backend.g1_mul(backend.g1_generator(), 987654321 + k % 1000)
    # The first use multiplies plainly; later uses (arkworks) go through the cached window table.
    for _ in range(3):
        assert backend.g1_eq(backend.g1_mul_fixed(point, k), backend.g1_mul(point, k))


def test_mul_fixed_never_serves_another_points_table():
    ark = get_backend("arkworks")
    rng = random.Random(12)
    for _ in range(40):  # more points than the cache holds, each a fresh object
        point = ark.g1_mul(ark.g1_generator(), rng.randrange(1, R))
        k = rng.randrange(R)
        ark.g1_mul_fixed(point, k)
        assert ark.g1_eq(ark.g1_mul_fixed(point, k), ark.g1_mul(point, k))


def test_backends_agree_bytewise():
    ark, ref = get_backend("arkworks"), get_backend("py_ecc")
    rng = random.Random(9)
    for _ in range(3):
        k = rng.randrange(R)
        for compressed in (True, False):
            assert ark.g1_to_bytes(ark.g1_mul(ark.g1_generator(), k), compressed) == ref.g1_to_bytes(
                ref.g1_mul(ref.g1_generator(), k), compressed)
            assert ark.g2_to_bytes(ark.g2_mul(ark.g2_generator(), k), compressed) == ref.g2_to_bytes(
                ref.g2_mul(ref.g2_generator(), k), compressed)


def test_unknown_backend_is_a_clear_error(monkeypatch):
    with pytest.raises(ZkMarginError, match="unknown curve backend"):
        get_backend("blst")
    monkeypatch.setenv("ZKMARGIN_BACKEND", "py_ecc")
    assert get_backend().name == "py_ecc"


def test_loading_py_ecc_keeps_the_recursion_limit_so_deep_json_is_an_error_not_a_crash():
    """py_ecc sets the limit to 100,000 on import; a 100,000-deep JSON body would then overflow the C stack."""
    script = (
        "import json, sys\n"
        "limit = sys.getrecursionlimit()\n"
        "from zkmargin.backends import get_backend\n"
        "get_backend('py_ecc')\n"
        "assert sys.getrecursionlimit() == limit, (limit, sys.getrecursionlimit())\n"
        "try:\n"
        "    json.loads('[' * 100_000 + ']' * 100_000)\n"
        "except RecursionError:\n"
        "    print('refused')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.strip() == "refused"


def test_the_native_msm_and_pairing_are_built_where_they_can_be():
    # Without them the prover and the verifier silently fall back to the curve library (slower): a missing
    # compiler or a broken build at install time must not go unnoticed on the CPUs they are written for.
    import platform
    from pathlib import Path

    cpuinfo = Path("/proc/cpuinfo")
    flags = cpuinfo.read_text().split() if cpuinfo.exists() else []
    if platform.machine() not in ("x86_64", "AMD64") or "bmi2" not in flags or "adx" not in flags:
        pytest.skip("the native MSM and pairing are written for x86-64 with BMI2 and ADX")
    from zkmargin.backends import arkworks

    assert arkworks.native_msm is not None
    assert arkworks.native_pairing is not None
