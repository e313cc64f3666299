"""zkmargin.native._batch, the batch verifier's threaded decoding and weighted check: the same verdicts as the curve
library's pairing and as the discrete-log arithmetic they stand for, and the same decoded points and error
messages as the one-proof decoder and py_ecc, on edge scalars (0, 1, r - 1, r, r + 1, 2^256 - 1), points at
infinity, equal and opposite points, chunk and group boundaries and every worker count."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.groth16.circuits import compiled_cube, cube_witness
from zkmargin.backends import arkworks as arkworks_module
from zkmargin.backends import get_backend
from zkmargin.backends.base import CurveBackend, P, encode_g1, encode_g2, fp2_sqrt, fp_sqrt, g2_rhs
from zkmargin.errors import MalformedProofError
from zkmargin.field import R, inv
from zkmargin.groth16 import Proof, prove, setup
from zkmargin.groth16.batch import GLV_LAMBDA, BatchItem, random_weight, verify_batch, weight_value
from zkmargin.groth16.serialization import decode_proofs, proof_from_bytes, proof_to_bytes

native = pytest.importorskip("zkmargin.native._batch", reason="the native batch is built on x86-64 with BMI2/ADX only")
ark = pytest.importorskip("py_arkworks_bls12381")

RNG = random.Random(2028)
BACKEND = get_backend("arkworks")
G1, G2 = BACKEND.g1_generator(), BACKEND.g2_generator()
EDGE_WEIGHTS = [0, 1, R - 1, R, R + 1, 2**256 - 1]


def _le(k: int) -> bytes:
    return k.to_bytes(32, "little")


def _g1(k: int) -> Any:
    return BACKEND.g1_mul(G1, k)


def _g2(k: int) -> Any:
    return BACKEND.g2_mul(G2, k)


def _statement(logs: list, weights: list[int], d: int, p: int) -> Any:
    """Points for discrete logs (a_i, b_i, c_i), the fixed pair (p G1, G2) and delta = d G2, and the exponent of
    prod e(w_i A_i, B_i) e(P, Q) e(-sum w_i C_i, delta) in e(G1, G2): the product is 1 iff it is 0 mod r."""
    exponent = (sum(w * a * b for w, (a, b, _) in zip(weights, logs)) + p - d * sum(w * c for w, (_, _, c) in zip(weights, logs))) % R
    proofs = [(_g1(a), _g2(b), _g1(c)) for a, b, c in logs]
    return proofs, [(_g1(p), G2)], _g2(d), exponent


def _library_verdict(proofs: list, weights: list[int], pairs: list, delta: Any) -> bool:
    """The same equation as explicit pairs for the curve library's pairing check."""
    c_sum = BACKEND.g1_msm([c for _, _, c in proofs], [w % R for w in weights])
    g1s = [BACKEND.g1_mul(a, w) for (a, _, _), w in zip(proofs, weights)] + [p for p, _ in pairs] + [-c_sum]
    g2s = [b for _, b, _ in proofs] + [q for _, q in pairs] + [delta]
    return bool(ark.GT.pairing_check(g1s, g2s))


def _raw_check(proofs: list, weights: list[int], pairs: list, delta: Any, workers: int) -> bool:
    """zkmargin.native._batch.weighted_check with the weights unreduced (the backend reduces them mod r first)."""
    return native.weighted_check(
        b"".join(a.to_xy_bytes_be() for a, _, _ in proofs), b"".join(b.to_xy_bytes_be() for _, b, _ in proofs),
        b"".join(c.to_xy_bytes_be() for _, _, c in proofs), b"".join(map(_le, weights)),
        [(p.to_xy_bytes_be(), q.to_xy_bytes_be()) for p, q in pairs], delta.to_xy_bytes_be(), workers)


def _logs(count: int) -> list[tuple[int, int, int]]:
    return [(RNG.randrange(1, R), RNG.randrange(1, R), RNG.randrange(1, R)) for _ in range(count)]


@pytest.mark.parametrize("count", [1, 2, 33, 129])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_weighted_check_equals_the_exponent_and_the_curve_library(count: int, workers: int) -> None:
    logs = _logs(count)
    weights = [RNG.randrange(1, 2**128) for _ in logs]
    d = RNG.randrange(1, R)
    proofs, _, delta, exponent = _statement(logs, weights, d, 0)
    for shift in (0, 1, R - 1):
        # p = -exponent balances the equation; a shift of 1 or -1 breaks it.
        proofs, pairs, delta, total = _statement(logs, weights, d, (shift - exponent) % R)
        assert total == shift % R
        expected = total == 0
        assert BACKEND.weighted_pairing_check(proofs, weights, pairs, delta, workers) is expected
        assert _raw_check(proofs, weights, pairs, delta, workers) is expected
        if count <= 33:
            assert _library_verdict(proofs, weights, pairs, delta) is expected


@pytest.mark.parametrize("weight", EDGE_WEIGHTS)
def test_edge_weights_act_as_their_value_mod_r(weight: int) -> None:
    logs = _logs(3)
    weights = [weight, RNG.randrange(1, 2**128), weight]
    d = RNG.randrange(1, R)
    exponent = _statement(logs, weights, d, 0)[3]
    for shift in (0, 1):
        proofs, pairs, delta, _ = _statement(logs, weights, d, (shift - exponent) % R)
        assert _raw_check(proofs, weights, pairs, delta, 2) is (shift == 0)
        assert BACKEND.weighted_pairing_check(proofs, weights, pairs, delta, 2) is (shift == 0)
        assert _library_verdict(proofs, weights, pairs, delta) is (shift == 0)


GLV_EDGES = [(0, 1), (1, 0), (1, 1), (2**64 - 1, 0), (0, 2**64 - 1), (2**64 - 1, 2**64 - 1)]


def _glv_check(proofs: list, halves: list[tuple[int, int]], pairs: list, delta: Any, workers: int) -> bool:
    """weighted_check with the weights as 16-byte GLV halves a || b."""
    return native.weighted_check(
        b"".join(a.to_xy_bytes_be() for a, _, _ in proofs), b"".join(b.to_xy_bytes_be() for _, b, _ in proofs),
        b"".join(c.to_xy_bytes_be() for _, _, c in proofs),
        b"".join(a.to_bytes(8, "little") + b.to_bytes(8, "little") for a, b in halves),
        [(p.to_xy_bytes_be(), q.to_xy_bytes_be()) for p, q in pairs], delta.to_xy_bytes_be(), workers)


@pytest.mark.parametrize("count, workers", [(1, 1), (6, 2), (33, 2), (129, 3)])
def test_glv_weights_act_as_a_plus_b_lambda(count: int, workers: int) -> None:
    # Edge halves and random ones, across the 32-pair groups and 128-proof chunks: the verdict of the weight
    # a + b lambda mod r, in the native form, the full-width form and the exponent arithmetic.
    logs = _logs(count)
    halves = [GLV_EDGES[i] if i < len(GLV_EDGES) and count > 1 else (RNG.getrandbits(64), RNG.getrandbits(64))
              for i in range(count)]
    weights = [weight_value(h) for h in halves]
    d = RNG.randrange(1, R)
    exponent = _statement(logs, weights, d, 0)[3]
    for shift in (0, 1, R - 1):
        proofs, pairs, delta, _ = _statement(logs, weights, d, (shift - exponent) % R)
        assert _glv_check(proofs, halves, pairs, delta, workers) is (shift == 0)
        assert BACKEND.weighted_pairing_check(proofs, halves, pairs, delta, workers) is (shift == 0)
        assert _raw_check(proofs, weights, pairs, delta, workers) is (shift == 0)
        if count <= 6:
            assert _library_verdict(proofs, weights, pairs, delta) is (shift == 0)


def test_glv_form_with_points_at_infinity_and_a_zero_weight() -> None:
    a, b, c = RNG.randrange(1, R), RNG.randrange(1, R), RNG.randrange(1, R)
    logs = [(0, b, c), (a, 0, c), (a, b, 0), (a, b, c), (a, R - b, R - c)]
    halves = [(5, 3), (7, 0), (0, 11), (13, 2), (13, 2)]
    weights = [weight_value(h) for h in halves]
    d = RNG.randrange(1, R)
    exponent = _statement(logs, weights, d, 0)[3]
    for shift in (0, 1):
        proofs, pairs, delta, _ = _statement(logs, weights, d, (shift - exponent) % R)
        assert _glv_check(proofs, halves, pairs, delta, 2) is (shift == 0)
    # The zero weight (0, 0) drops a proof from the check, broken or not: random_weight never draws it.
    zero_first = [(0, 0)] + halves[1:]
    proofs, pairs, delta, _ = _statement(logs, [0] + weights[1:], d, (-_statement(logs, [0] + weights[1:], d, 0)[3]) % R)
    broken = [(proofs[3][0], proofs[3][1], BACKEND.g1_add(proofs[3][2], G1))] + proofs[1:]
    assert _glv_check(proofs, zero_first, pairs, delta, 2) is True
    assert _glv_check(broken, zero_first, pairs, delta, 2) is True
    assert _glv_check(broken, [(1, 0)] + halves[1:], pairs, delta, 2) is False


def test_random_weights_are_never_zero_and_halves_stay_below_2_64() -> None:
    class Zeros(random.Random):
        """getrandbits gives 0, 0 first (a zero weight), then 3."""

        def __init__(self) -> None:
            super().__init__(0)
            self.values = [0, 0, 3, 0]

        def getrandbits(self, k: int) -> int:
            return self.values.pop(0) if self.values else super().getrandbits(k)

    assert random_weight(Zeros()) == (3, 0)
    drawn = {random_weight() for _ in range(200)}
    assert len(drawn) == 200 and all(0 <= x < 2**64 for pair in drawn for x in pair)
    assert weight_value((1, 0)) == 1 and weight_value((0, 1)) == GLV_LAMBDA
    assert (GLV_LAMBDA**2 + GLV_LAMBDA + 1) % R == 0  # a cube root of unity mod r: sigma's eigenvalue
    proofs, pairs, delta, _ = _statement(_logs(1), [1], 1, 0)
    with pytest.raises(ValueError, match="2\\^64"):
        BACKEND.weighted_pairing_check(proofs, [(2**64, 0)], pairs, delta, 1)


def test_points_at_infinity_and_equal_and_opposite_points() -> None:
    a, b, c = RNG.randrange(1, R), RNG.randrange(1, R), RNG.randrange(1, R)
    # A at infinity, B at infinity, C at infinity, then A twice with B and -B, C and -C: all cancel but the last.
    logs = [(0, b, c), (a, 0, c), (a, b, 0), (a, b, c), (a, R - b, R - c), (a, b, c)]
    weights = [5, 7, 11, 13, 13, 17]
    d = RNG.randrange(1, R)
    exponent = _statement(logs, weights, d, 0)[3]
    for shift in (0, 1):
        proofs, pairs, delta, _ = _statement(logs, weights, d, (shift - exponent) % R)
        assert _raw_check(proofs, weights, pairs, delta, 2) is (shift == 0)
        assert _library_verdict(proofs, weights, pairs, delta) is (shift == 0)
    # The C points sum to the identity (delta's pair drops out), delta itself or a fixed pair's side at infinity.
    logs = [(a, b, c), (a, b, R - c)]
    for weights, d, p_zero in (([9, 9], RNG.randrange(1, R), False), ([9, 4], 0, False), ([9, 4], 5, True)):
        exponent = _statement(logs, weights, d, 0)[3]
        proofs, pairs, delta, _ = _statement(logs, weights, d, (-exponent) % R)
        if p_zero:
            pairs = [(pairs[0][0], BACKEND.g2_identity())]
            assert _raw_check(proofs, weights, pairs, delta, 2) is (exponent == 0)
            continue
        assert _raw_check(proofs, weights, pairs, delta, 2) is True
        assert _library_verdict(proofs, weights, pairs, delta) is True
    assert native.weighted_check(b"", b"", b"", b"", [], b"", 2) is True


def test_bad_arguments_are_value_errors_not_crashes() -> None:
    a = _g1(3).to_xy_bytes_be()
    b = _g2(4).to_xy_bytes_be()
    with pytest.raises(ValueError, match="n x 96"):
        native.weighted_check(a, b, a, _le(1) * 2, [], b"", 1)
    with pytest.raises(ValueError, match="not below p"):
        native.weighted_check(b"\xff" * 96, b, a, _le(1), [], b"", 1)
    with pytest.raises(ValueError, match="G2 operand"):
        native.weighted_check(a, b, a, _le(1), [], b"\x01" * 5, 1)
    with pytest.raises(TypeError):
        native.weighted_check(a, b, a, _le(1), [a], b"", 1)
    with pytest.raises(ValueError, match="multiple of 192"):
        native.decode_proofs(b"\x00" * 191, 1)


def _off_subgroup_g1() -> bytes:
    while True:
        x = RNG.randrange(P)
        y = fp_sqrt((x**3 + 4) % P)
        if y is not None:
            return encode_g1((x, y), compressed=True)


def _off_subgroup_g2() -> bytes:
    while True:
        x = (RNG.randrange(P), RNG.randrange(P))
        y = fp2_sqrt(g2_rhs(x))
        if y is not None:
            return encode_g2((x, y), compressed=True)


def _x_off_curve() -> bytes:
    while True:
        x = RNG.randrange(P)
        if fp_sqrt((x**3 + 4) % P) is None:
            data = bytearray(x.to_bytes(48, "big"))
            data[0] |= 0x80
            return bytes(data)


def _encoded_cases() -> list[bytes]:
    """Valid proofs and proofs broken in each of their points every way the decoder must refuse."""
    a, b, c = (BACKEND.g1_to_bytes(_g1(RNG.randrange(1, R))), BACKEND.g2_to_bytes(_g2(RNG.randrange(1, R))),
               BACKEND.g1_to_bytes(_g1(RNG.randrange(1, R))))
    above_p = bytearray(P.to_bytes(48, "big"))
    above_p[0] |= 0x80
    infinity_g1, infinity_g2 = b"\xc0" + bytes(47), b"\xc0" + bytes(95)
    uncompressed_flag = bytes([a[0] & 0x7F]) + a[1:]
    flipped = bytes([a[0] ^ 0x20]) + a[1:]  # -A: still a point of the subgroup
    return [
        a + b + c, flipped + b + c, a + b + flipped, a + b + a,
        infinity_g1 + b + c, a + infinity_g2 + c, a + b + infinity_g1,
        bytes(above_p) + b + c, a + bytes(above_p) + bytes(48) + c, a + b + bytes(above_p),
        _x_off_curve() + b + c, a + b + _x_off_curve(),
        _off_subgroup_g1() + b + c, a + _off_subgroup_g2() + c, a + b + _off_subgroup_g1(),
        uncompressed_flag + b + c, bytes([a[0] | 0x20 | 0x40]) + a[1:] + b + c,
    ]


def _outcome(decoded: Any, backend: CurveBackend) -> tuple:
    if isinstance(decoded, MalformedProofError):
        return ("refused", str(decoded))
    return ("decoded", backend.g1_to_bytes(decoded.a, False), backend.g2_to_bytes(decoded.b, False),
            backend.g1_to_bytes(decoded.c, False))


def _alone(data: bytes, backend: CurveBackend) -> tuple:
    try:
        return _outcome(proof_from_bytes(data, backend), backend)
    except MalformedProofError as exc:
        return _outcome(MalformedProofError(str(exc)), backend)


@pytest.mark.parametrize("workers", [1, 2, 5])
def test_threaded_decoding_equals_the_one_proof_decoder_and_py_ecc(workers: int, monkeypatch) -> None:
    cases = _encoded_cases() * 3
    status = native.decode_proofs(b"".join(cases), workers)[1]
    assert list(status[:4]) == [0, 0, 0, 0] and all(status[4:17])
    expected = [_alone(data, BACKEND) for data in cases]
    assert [_outcome(d, BACKEND) for d in decode_proofs(cases, BACKEND, workers=workers)] == expected
    # Without the native module the worker processes decode them, with the same results.
    monkeypatch.setattr(arkworks_module, "native_batch", None)
    assert [_outcome(d, BACKEND) for d in decode_proofs(cases, BACKEND, workers=1)] == expected
    reference = get_backend("py_ecc")
    assert [_alone(data, reference)[0] for data in cases[:17]] == [e[0] for e in expected[:17]]
    assert [_alone(data, reference) for data in cases[:4]] == expected[:4]


@pytest.fixture(scope="module")
def material() -> Any:
    compiled = compiled_cube()
    pk = setup(compiled, random.Random(41), BACKEND)
    z, public = cube_witness(3)
    return pk, public, prove(pk, compiled, z, random.Random(42), BACKEND)


def test_batch_verdicts_are_the_same_with_and_without_the_native_check(material, monkeypatch) -> None:
    pk, public, proof = material
    rng = random.Random(5)
    items = []
    for _ in range(300):
        t = rng.randrange(1, R)
        items.append(BatchItem(public, Proof(BACKEND.g1_mul(proof.a, inv(t)), BACKEND.g2_mul(proof.b, t), proof.c)))
    items[7] = BatchItem(public, Proof(items[7].proof.a, items[7].proof.b, BACKEND.g1_add(proof.c, G1)))
    items[250] = BatchItem([public[0] + 1, public[1]], items[250].proof)
    # Decoded from bytes by the threaded decoder, as the CLI and the service receive them.
    decoded = decode_proofs([proof_to_bytes(item.proof, BACKEND) for item in items], BACKEND, workers=2)
    items = [BatchItem(item.public_inputs, p) for item, p in zip(items, decoded)]
    calls = []
    check = BACKEND.weighted_pairing_check
    monkeypatch.setattr(BACKEND, "weighted_pairing_check", lambda *args: calls.append(1) or check(*args))
    native_result = verify_batch(pk.vk, items, BACKEND, workers=2)
    assert calls and native_result.invalid_indices == [7, 250]
    monkeypatch.setattr(BACKEND, "weighted_pairing_check", lambda *args: None)
    python_result = verify_batch(pk.vk, items, BACKEND)
    assert python_result.invalid_indices == [7, 250]
    assert [(r.index, r.valid, r.error) for r in native_result.items] == [
        (r.index, r.valid, r.error) for r in python_result.items]
