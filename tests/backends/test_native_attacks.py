"""Adversarial review of the native curve code (zkmargin.native._pairing, zkmargin.native._msm) against the curve library.

What the existing native tests do not pin down: the pairing's exact value (not only accept/reject) on random
multi-pairings and on points outside the prime-order subgroup, which the zkey checks still pair unchecked;
the MSM's batched affine rounds (hundreds of points in a few buckets) where sums cancel or double mid-tree;
the backend's id-keyed caches (G2 lines, recurring G1 point lists) under threads, cache clears and lists
changed in place; a verifier with one key over many proofs (the lines cache is emptied every ~30 proofs)
refusing tampered ones; keys read from two files proving with their own bases.
"""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING

import pytest

from zkmargin.backends import get_backend
from zkmargin.backends.base import fp2_sqrt, fp_sqrt
from zkmargin.field import R

if TYPE_CHECKING:  # the curve library is imported with importorskip below
    from py_arkworks_bls12381 import GT as GTElement
    from py_arkworks_bls12381 import G1Point, G2Point
    from py_arkworks_bls12381 import Scalar as ScalarElement

ONLY_X86 = "the native curve code is built on x86-64 with BMI2/ADX only"
native_pairing = pytest.importorskip("zkmargin.native._pairing", reason=ONLY_X86)
native_msm = pytest.importorskip("zkmargin.native._msm", reason=ONLY_X86)
arkworks = pytest.importorskip("py_arkworks_bls12381")

G1, G2, GT, Scalar = arkworks.G1Point, arkworks.G2Point, arkworks.GT, arkworks.Scalar
P = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB
RNG = random.Random(2026)


def _k(value: int) -> ScalarElement:
    return Scalar.from_le_bytes((value % R).to_bytes(32, "little"))


def _be(value: int) -> bytes:
    return value.to_bytes(48, "big")


def _library_gt(value: GTElement) -> bytes:
    """A library GT value in zkmargin.native._pairing's layout (w^0 .. w^5, each c0 || c1, big-endian).

    The binding prints the element as hex of arkworks' serialisation: twelve little-endian Fp values in the
    tower order c0.c0, c0.c1, c0.c2, c1.c0, c1.c1, c1.c2 (each Fp2 as c0, c1); w^k is c(k % 2).c(k // 2).
    """
    raw = bytes.fromhex(str(value))
    assert len(raw) == 576
    fps = [raw[48 * i : 48 * i + 48][::-1] for i in range(12)]
    out = b""
    for k in range(6):
        at = 2 * (3 * (k % 2) + k // 2)
        out += fps[at] + fps[at + 1]
    return out


def _g1_off_subgroup() -> G1Point:
    while True:
        x = RNG.randrange(P)
        y = fp_sqrt((x**3 + 4) % P)
        if y is not None:
            point = G1.from_xy_bytes_unchecked_be(_be(x) + _be(y))
            if not point.is_in_subgroup():
                return point


def _g2_off_subgroup() -> G2Point:
    while True:
        x0, x1 = RNG.randrange(P), RNG.randrange(P)
        # x^3 + 4 (1 + u) over Fp2 = Fp[u] / (u^2 + 1)
        s0, s1 = (x0 * x0 - x1 * x1) % P, 2 * x0 * x1 % P
        c0, c1 = (s0 * x0 - s1 * x1 + 4) % P, (s0 * x1 + s1 * x0 + 4) % P
        y = fp2_sqrt((c0, c1))
        if y is not None:
            point = G2.from_xy_bytes_unchecked_be(_be(x0) + _be(x1) + _be(y[0]) + _be(y[1]))
            if not point.is_in_subgroup():
                return point


# ----- pairing ---------------------------------------------------------------------------------------------
def test_the_library_layout_helper_reads_the_identity_of_gt() -> None:
    assert _library_gt(GT.one()) == bytes(47) + b"\x01" + bytes(576 - 48)
    assert native_pairing.pairing([]) == _library_gt(GT.one())


def test_pairing_products_are_byte_identical_to_the_curve_library() -> None:
    # Both compute the cube of the pairing (the same final exponentiation), so the values themselves must
    # agree, not only the accept/reject decision: any wrong line, Frobenius constant or tower product shows.
    def g1() -> G1Point:
        roll = RNG.random()
        if roll < 0.1:
            return G1.identity()
        return G1() * _k(RNG.choice([1, 2, R - 1]) if roll < 0.2 else RNG.randrange(1, R))

    def g2() -> G2Point:
        roll = RNG.random()
        if roll < 0.1:
            return G2.identity()
        return G2() * _k(RNG.choice([1, 2, R - 1]) if roll < 0.2 else RNG.randrange(1, R))

    for count in (1, 1, 2, 3, 3, 4, 6, 9, 16):
        ps = [g1() for _ in range(count)]
        qs = [g2() for _ in range(count)]
        if count > 1:
            qs[-1] = -qs[0] if count % 2 else qs[0]  # the same or the opposite Q twice in one product
        expected = _library_gt(GT.multi_pairing(ps, qs))
        raw = [(p.to_xy_bytes_be(), q.to_xy_bytes_be()) for p, q in zip(ps, qs)]
        mixed = [(p, native_pairing.g2_lines(q) if i % 2 else q) for i, (p, q) in enumerate(raw)]
        assert native_pairing.pairing(raw) == expected, count
        assert native_pairing.pairing(mixed) == expected, count


def test_points_outside_the_subgroup_pair_as_in_the_curve_library() -> None:
    # zkey verification pairs random combinations of sections it did not subgroup-check (_section_same_ratio's
    # initial points): the native pairing must decide there as the library did, so it must compute the same
    # value for any point on the curve, in the subgroup or not (here: random ones and the order-3 (0, 2)).
    order3 = G1.from_xy_bytes_unchecked_be(_be(0) + _be(2))
    assert not order3.is_in_subgroup() and order3 + order3 + order3 == G1.identity()
    g1s = [_g1_off_subgroup(), _g1_off_subgroup(), order3, G1() * _k(RNG.randrange(1, R))]
    g2s = [_g2_off_subgroup(), _g2_off_subgroup(), G2() * _k(RNG.randrange(1, R))]
    for p in g1s:
        for q in g2s:
            expected = _library_gt(GT.pairing(p, q))
            g1, g2 = p.to_xy_bytes_be(), q.to_xy_bytes_be()
            assert native_pairing.pairing([(g1, g2)]) == expected
            assert native_pairing.pairing([(g1, native_pairing.g2_lines(g2))]) == expected
    # The order-3 point pairs to a cube root of unity: its cube (what the native code returns) is one.
    assert native_pairing.pairing([(order3.to_xy_bytes_be(), G2().to_xy_bytes_be())]) == _library_gt(GT.one())


def test_concurrent_pairing_checks_never_use_another_points_lines() -> None:
    # The service and the batch verifier check on threads through one backend, whose G2 lines cache is keyed
    # by object identity and emptied when full. Fresh G2 objects in every call force clears while other
    # threads are mid-lookup; every decision must still be the right one.
    backend = get_backend("arkworks")
    exps = [RNG.randrange(1, R) for _ in range(3)]
    fixed = [G2() * _k(e) for e in exps]
    failures: list[str] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for step in range(25):
            # e(a, B) * prod_j e(-t_j, fixed_j) == 1 with a = sum_j t_j * f_j / b, for B = b * G2 fresh.
            b = rng.randrange(1, R)
            ts = [rng.randrange(1, R) for _ in fixed]
            a = sum(t * f for t, f in zip(ts, exps)) * pow(b, -1, R) % R
            broken = rng.random() < 0.5
            pairs = [(G1() * _k(a + broken), G2() * _k(b))]
            pairs += [(G1() * _k(R - t), q) for t, q in zip(ts, fixed)]
            if backend.pairing_check(pairs) == broken:
                failures.append(f"seed {seed} step {step} broken={broken}")

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    # Every cached entry's lines are its own point's.
    for q, lines in list(backend._g2_lines.built.values()):
        if lines is not None:
            assert lines == native_pairing.g2_fixed_lines(q.to_xy_bytes_be())


# ----- MSM -------------------------------------------------------------------------------------------------
def _native(group: type[G1Point] | type[G2Point], points: list, scalars: list[int]) -> G1Point | G2Point:
    if group is G1:
        prepare, msm = native_msm.g1_points, native_msm.g1_msm
    else:
        prepare, msm = native_msm.g2_points, native_msm.g2_msm
    prepared = prepare(b"".join(p.to_xy_bytes_be() for p in points))
    return group.from_xy_bytes_unchecked_be(msm(prepared, b"".join(k.to_bytes(32, "little") for k in scalars)))


def _library(group: type[G1Point] | type[G2Point], points: list, scalars: list[int]) -> G1Point | G2Point:
    pairs = [(p, k) for p, k in zip(points, scalars) if k % R]
    if not pairs:
        return group.identity()
    return group.multiexp_unchecked([p for p, _ in pairs], [_k(k) for _, k in pairs])


def _shuffled(points: list, scalars: list[int]) -> tuple[list, list[int]]:
    order = list(range(len(points)))
    RNG.shuffle(order)
    return [points[i] for i in order], [scalars[i] for i in order]


@pytest.mark.parametrize("group", [G1, G2], ids=["G1", "G2"])
@pytest.mark.parametrize("count", [255, 256, 257, 520])
def test_batched_windows_where_bucket_sums_cancel_or_double(group: type[G1Point] | type[G2Point], count: int) -> None:
    # Small scalars put hundreds of points into a few buckets, which are summed with rounds of batched affine
    # additions: P + P (doubling), P + (-P) (the identity mid-tree) and the identity plus a point all happen
    # inside one round's shared inversion, and in the Jacobian additions that finish small groups.
    base = [group() * _k(RNG.randrange(1, R)) for _ in range(3)]
    half = count // 2
    points = [base[i % 3] for i in range(half)]
    scalars = [RNG.choice([1, 1, 2, 3]) for _ in range(half)]
    cancel_points, cancel_scalars = _shuffled(points + [-p for p in points], scalars + scalars)
    # Exactly cancelling: the result is the identity.
    assert _native(group, cancel_points, cancel_scalars) == group.identity()
    # One point left over, and the identity mixed in.
    extra_points = cancel_points[: count - 1] + [base[0]] + [group.identity()] * 3
    extra_scalars = cancel_scalars[: count - 1] + [5, 7, 1, 2]
    assert _native(group, extra_points, extra_scalars) == _library(group, extra_points, extra_scalars)
    # Duplicates of one point only: every round doubles.
    assert _native(group, [base[1]] * count, [1] * count) == base[1] * _k(count)


def test_one_wide_scalar_among_thousands_of_bits() -> None:
    # The cost model picks a narrow window for the bits; the one wide scalar alone reaches the top windows
    # (one digit each, Jacobian), while the bottom window holds thousands of digits (batched).
    base = [G1() * _k(RNG.randrange(1, R)) for _ in range(64)]
    points = [base[i % 64] for i in range(3000)]
    scalars = [RNG.randrange(2) for _ in points]
    for wide in (R - 1, 2**255 - 19, 1 << 254):
        scalars[1234] = wide
        assert _native(G1, points, scalars) == _library(G1, points, scalars)


@pytest.mark.parametrize("group", [G1, G2], ids=["G1", "G2"])
def test_all_identity_points_and_huge_scalars(group: type[G1Point] | type[G2Point]) -> None:
    identity = group.identity()
    assert _native(group, [identity] * 300, [RNG.randrange(R) for _ in range(300)]) == identity
    point = group() * _k(RNG.randrange(1, R))
    # Scalars at and above r, up to 2^256 - 1, taken whole: k * P = (k mod r) * P in the subgroup.
    scalars = [R, R + 1, 2**256 - 1, 2**256 - R, 2 * R]
    assert _native(group, [point] * 5, scalars) == point * _k(sum(scalars))



@pytest.mark.parametrize("group", [G1, G2], ids=["G1", "G2"])
def test_msm_over_points_outside_the_subgroup_is_the_group_sum(group: type[G1Point] | type[G2Point]) -> None:
    # A zkey's query points are only curve-checked; prove_zkey refuses proofs whose points leave the
    # subgroup, which is a defence only if the MSM returns the true sum for torsion-carrying points too.
    off = [(_g1_off_subgroup if group is G1 else _g2_off_subgroup)() for _ in range(3)]
    honest = group() * _k(RNG.randrange(1, R))
    for count in (5, 300):
        points = [RNG.choice(off + [honest]) for _ in range(count)]
        points = points[: count // 2] + [-p for p in points[: count // 2]] + points[count // 2 :]
        scalars = [RNG.choice([0, 1, 2, 3, RNG.randrange(2**64), RNG.randrange(R), R - 1]) for _ in points]
        scalars[count // 2 : 2 * (count // 2)] = scalars[: count // 2]  # the negated half cancels
        assert _native(group, points, scalars) == _library(group, points, scalars), count



def test_g1_msm_over_a_recurring_list_follows_its_contents() -> None:
    # A key's input points recur with every proof, so the backend may keep native bases for a list of point
    # objects it has seen before. The answer must follow the list's contents: the same list changed in place,
    # a new list of equal points, and lists enough to empty the cache, on two threads.
    backend = get_backend("arkworks")
    points = [G1() * _k(RNG.randrange(1, R)) for _ in range(40)]
    failures: list[str] = []

    def check(points: list, scalars: list[int], what: str) -> None:
        if backend.g1_msm(points, scalars) != _library(G1, points, scalars):
            failures.append(what)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for step in range(12):
            check(points, [rng.randrange(R) for _ in points], f"recurring list, step {step}")
            fresh = [G1() * _k(rng.randrange(1, R)) for _ in range(17)]
            check(fresh, [rng.randrange(2**64) for _ in fresh], f"one-off list, step {step}")

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    scalars = [RNG.randrange(R) for _ in points]
    check(points, scalars, "before the change")
    points[7] = G1() * _k(RNG.randrange(1, R))
    check(points, scalars, "one point replaced in place")
    points.append(G1.identity())
    check(points, scalars + [5], "identity appended")
    check([G1() + p for p in points[:20]], scalars[:20], "new objects")
    assert failures == []


# ----- end to end --------------------------------------------------------------------------------------------
def test_one_key_over_many_decoded_proofs_refuses_every_tampered_one() -> None:
    # As the service does: every request decodes new point objects, so the lines cache fills with one-off
    # B points and is emptied every ~30 proofs, dropping the key's gamma and delta lines too. Decisions must
    # not depend on where in that cycle a proof falls.
    from tests.groth16.circuits import compiled_cube, cube_witness
    from zkmargin.groth16.data_structures import Proof
    from zkmargin.groth16.generator import setup
    from zkmargin.groth16.prover import prove
    from zkmargin.groth16.serialization import proof_from_bytes, proof_to_bytes
    from zkmargin.groth16.verifier import verify

    backend = get_backend("arkworks")
    compiled = compiled_cube()
    pk = setup(compiled, rng=random.Random(21), backend=backend)
    z, public = cube_witness(3)
    z_other, public_other = cube_witness(4)
    raw = proof_to_bytes(prove(pk, compiled, z, rng=random.Random(22), backend=backend), backend)
    raw_other = proof_to_bytes(prove(pk, compiled, z_other, rng=random.Random(23), backend=backend), backend)
    g1 = backend.g1_generator()
    for _ in range(40):
        proof, other = proof_from_bytes(raw, backend), proof_from_bytes(raw_other, backend)
        assert verify(pk.vk, public, proof, backend)
        assert verify(pk.vk, public_other, other, backend)
        tampered = {
            "A + G": Proof(backend.g1_add(proof.a, g1), proof.b, proof.c),
            "-A": Proof(backend.g1_neg(proof.a), proof.b, proof.c),
            "B of another proof": Proof(proof.a, other.b, proof.c),
            "C of another proof": Proof(proof.a, proof.b, other.c),
            "-C": Proof(proof.a, proof.b, backend.g1_neg(proof.c)),
        }
        for name, bad in tampered.items():
            assert not verify(pk.vk, public, bad, backend), name
        assert not verify(pk.vk, public_other, proof, backend)
        assert not verify(pk.vk, [public[0], public[1] + 1], proof, backend)


def test_keys_read_from_two_files_prove_with_their_own_bases() -> None:
    # pk_from_bytes prepares the MSM bases from the file's own bytes (a second registration path next to
    # query_bases): each loaded key must prove under its own verification key only.
    from tests.groth16.circuits import compiled_cube, cube_witness
    from zkmargin.groth16.generator import setup
    from zkmargin.groth16.prover import prove
    from zkmargin.groth16.serialization import pk_from_bytes, pk_to_bytes
    from zkmargin.groth16.verifier import verify

    backend = get_backend("arkworks")
    compiled = compiled_cube()
    files = [pk_to_bytes(setup(compiled, rng=random.Random(seed), backend=backend), backend) for seed in (31, 32)]
    z, public = cube_witness(5)
    for _ in range(2):  # the second round reloads: new key objects, possibly at the first ones' addresses
        first, second = (pk_from_bytes(data, backend) for data in files)
        for pk, other in ((first, second), (second, first)):
            proof = prove(pk, compiled, z, rng=random.Random(33), backend=backend)
            assert verify(pk.vk, public, proof, backend)
            assert not verify(other.vk, public, proof, backend)
        del first, second, pk, other
