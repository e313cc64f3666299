"""Fast backend: py_arkworks_bls12381 (Rust arkworks; MIT/Apache-2.0)."""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar

from zkmargin.backends.base import (
    FP_BYTES,
    Fp2,
    PointBases,
    _split_flags,
    encode_g1,
    encode_g2,
    fixed_base_multiples,
    fixed_base_table,
    table_multiple,
)
from zkmargin.errors import MalformedPointError
from zkmargin.field import R

Point = TypeVar("Point", G1Point, G2Point)
"""A point of either group: a function over it is checked once for G1 and once for G2."""

try:
    # Our own batched-affine MSM (zkmargin/native/_msm.c), ~1.7x the curve library's; absent without a C compiler
    # at install time or on a CPU without BMI2/ADX, and then the library's MSM does the work.
    from zkmargin.native import _msm as native_msm
except ImportError:
    native_msm = None  # type: ignore[assignment]  # (as zkmargin.ntt: typed by the stub, None where not built)
try:
    # Our own pairing product (zkmargin/native/_pairing.c) with the lines of recurring G2 points (a key's beta,
    # gamma, delta) computed once; absent in the same cases, and then the library's pairing does the work.
    from zkmargin.native import _pairing as native_pairing
except ImportError:
    native_pairing = None  # type: ignore[assignment]

try:
    # Threaded batch decoding and weighted check (zkmargin/native/_batch.c); absent in the same cases.
    from zkmargin.native import _batch as native_batch
except ImportError:
    native_batch = None  # type: ignore[assignment]

_NATIVE_ONE = bytes(47) + b"\x01" + bytes(576 - 48)
"""The identity of GT as zkmargin.native._pairing writes it."""

_SCALAR_CACHE = {0: Scalar.from_le_bytes(bytes(32)), 1: Scalar.from_le_bytes((1).to_bytes(32, "little"))}


def to_scalar(k: int) -> Scalar:
    """An arkworks scalar; from_le_bytes is ~20x faster than Scalar(int) for big values."""
    cached = _SCALAR_CACHE.get(k)
    if cached is not None:
        return cached
    return Scalar.from_le_bytes((k % R).to_bytes(32, "little"))


def _chunks(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + FP_BYTES], "big") for i in range(0, len(data), FP_BYTES)]


class ArkworksBackend:
    """CurveBackend on py_arkworks_bls12381."""

    name = "arkworks"

    def __init__(self) -> None:
        self._g1, self._g2 = G1Point(), G2Point()
        self._g1_zero, self._g2_zero = G1Point.identity(), G2Point.identity()
        # Work kept for objects that recur (a key's points, proof after proof): window tables for g1_mul_fixed,
        # Miller-loop lines of G2 points, native bases of G1 point lists.
        self._fixed_tables = SecondUse()
        self._g2_lines = SecondUse()
        self._recurring = SecondUse()

    def g1_generator(self) -> G1Point:
        return self._g1

    def g2_generator(self) -> G2Point:
        return self._g2

    def g1_identity(self) -> G1Point:
        return self._g1_zero

    def g2_identity(self) -> G2Point:
        return self._g2_zero

    def g1_add(self, p: G1Point, q: G1Point) -> G1Point:
        return p + q

    def g2_add(self, p: G2Point, q: G2Point) -> G2Point:
        return p + q

    def g1_neg(self, p: G1Point) -> G1Point:
        return -p

    def g2_neg(self, p: G2Point) -> G2Point:
        return -p

    def g1_mul(self, p: G1Point, k: int) -> G1Point:
        return p * to_scalar(k % R)

    def g2_mul(self, p: G2Point, k: int) -> G2Point:
        return p * to_scalar(k % R)

    def g1_mul_fixed(self, p: G1Point, k: int) -> G1Point:
        """k * p for a point multiplied again and again (a key's per-proof input points).

        From the point's second use on, a window table (~8 ms to build) makes a product 32 additions,
        about a quarter of a full scalar multiplication; one-off verifications never build it.
        """
        table = self._fixed_tables.get(id(p), p, lambda point: fixed_base_table(point, operator.add, self._g1_zero))
        if table is None:
            return self.g1_mul(p, k)
        return table_multiple(table, k, operator.add, self._g1_zero)

    def g1_eq(self, p: G1Point, q: G1Point) -> bool:
        return p == q

    def g2_eq(self, p: G2Point, q: G2Point) -> bool:
        return p == q

    def g1_is_identity(self, p: G1Point) -> bool:
        return p == self._g1_zero

    def g2_is_identity(self, p: G2Point) -> bool:
        return p == self._g2_zero

    def g1_msm(self, points: Sequence[G1Point], scalars: Sequence[int]) -> G1Point:
        if len(points) != len(scalars):
            raise ValueError("msm needs as many scalars as points")
        if not points:
            return self._g1_zero
        if native_msm is not None and len(points) >= _RECURRING_MIN:
            bases = self._recurring_bases(points)
            if bases is not None:
                return bases.msm(b"".join((k % R).to_bytes(32, "little") for k in scalars))
        return G1Point.multiexp_unchecked(list(points), [to_scalar(k) for k in scalars])

    def _recurring_bases(self, points: Sequence[G1Point]) -> NativeBases[G1Point] | None:
        """Native bases for a list of point objects from its second use on (a verifying key's input points
        recur with every proof; preparing costs an inversion a point, once), else None."""
        return self._recurring.get(tuple(map(id, points)), list(points), self.g1_bases)

    def g2_msm(self, points: Sequence[G2Point], scalars: Sequence[int]) -> G2Point:
        if len(points) != len(scalars):
            raise ValueError("msm needs as many scalars as points")
        if not points:
            return self._g2_zero
        return G2Point.multiexp_unchecked(list(points), [to_scalar(k) for k in scalars])

    def g1_bases(self, points: Sequence[G1Point], uncompressed: bytes | None = None) -> PointBases | NativeBases:
        return self._bases(points, uncompressed, "g1", self.g1_msm, G1Point)

    def g2_bases(self, points: Sequence[G2Point], uncompressed: bytes | None = None) -> PointBases | NativeBases:
        return self._bases(points, uncompressed, "g2", self.g2_msm, G2Point)

    @staticmethod
    def _bases(points: Sequence[Point], uncompressed: bytes | None, group_name: str,
               library_msm: Callable[[Sequence[Point], Sequence[int]], Point],
               group: type[Point]) -> PointBases | NativeBases[Point]:
        """Native bases from the ZCash encoding when given (no re-encoding), else from the points; or the list."""
        if native_msm is None:
            return PointBases(points, library_msm)
        prepare, msm = getattr(native_msm, f"{group_name}_points"), getattr(native_msm, f"{group_name}_msm")
        if uncompressed is not None:
            return NativeBases(prepare(uncompressed, True), msm, group)
        # to_xy_bytes_be normalises each point (one inversion): this runs once per key, not per proof.
        return NativeBases(prepare(b"".join(p.to_xy_bytes_be() for p in points)), msm, group)

    def g1_batch_mul(self, base: G1Point, scalars: Sequence[int]) -> list[G1Point]:
        return self.g1_batch_mul_bases(base, scalars)[0]

    def g2_batch_mul(self, base: G2Point, scalars: Sequence[int]) -> list[G2Point]:
        return self.g2_batch_mul_bases(base, scalars)[0]

    def g1_batch_mul_bases(self, base: G1Point, scalars: Sequence[int]) -> tuple[list[G1Point], PointBases | NativeBases]:
        return self._batch_mul_bases(base, scalars, "g1", G1Point, self._g1_zero, self.g1_msm)

    def g2_batch_mul_bases(self, base: G2Point, scalars: Sequence[int]) -> tuple[list[G2Point], PointBases | NativeBases]:
        return self._batch_mul_bases(base, scalars, "g2", G2Point, self._g2_zero, self.g2_msm)

    def _batch_mul_bases(self, base: Point, scalars: Sequence[int], group_name: str, group: type[Point], zero: Point,
                         library_msm: Callable[[Sequence[Point], Sequence[int]], Point],
                         ) -> tuple[list[Point], PointBases | NativeBases[Point]]:
        """k_i * base for a setup's many scalars, and those points as MSM bases (natively: no re-encoding)."""
        if native_msm is None or len(scalars) < _NATIVE_BATCH_MIN:
            points = _batch(base, scalars, zero)
            return points, self._bases(points, None, group_name, library_msm, group)
        prepare, batch_mul, msm = (getattr(native_msm, f"{group_name}_{name}") for name in ("points", "batch_mul", "msm"))
        prepared, xy = batch_mul(prepare(base.to_xy_bytes_be()), b"".join((k % R).to_bytes(32, "little") for k in scalars))
        size = len(xy) // len(scalars)
        # The native points are exact multiples of a subgroup point: decoding them unchecked is safe.
        points = [group.from_xy_bytes_unchecked_be(xy[i : i + size]) for i in range(0, len(xy), size)]
        return points, NativeBases(prepared, msm, group)

    def pairing_check(self, pairs: Sequence[tuple[G1Point, G2Point]]) -> bool:
        if native_pairing is not None:
            return self._native_pairing(pairs) == _NATIVE_ONE
        return bool(GT.pairing_check([p for p, _ in pairs], [_point(q) for _, q in pairs]))

    def pairing(self, p: G1Point, q: G2Point) -> GT | NativeGT:
        if native_pairing is not None:
            return NativeGT(self._native_pairing([(p, q)]))
        return GT.pairing(p, _point(q))

    def pairing_product_equals(self, pairs: Sequence[tuple[G1Point, G2Point]], target: GT | NativeGT) -> bool:
        # One Miller loop fewer than pairing_check with e(-P, Q) appended: the verifier's e(alpha, beta) is fixed.
        if isinstance(target, NativeGT):
            if native_pairing is None:
                raise ValueError("a native pairing value compares only with the native pairing (it is a cube)")
            return self._native_pairing(pairs) == target.cubed
        return bool(GT.multi_pairing([p for p, _ in pairs], [_point(q) for _, q in pairs]) == target)

    def g2_prepare(self, q: G2Point) -> G2Point | PreparedG2:
        """q with its Miller-loop lines made now, to pass instead of q to the pairing functions (a key's points)."""
        if native_pairing is None:
            return q
        return PreparedG2(q, native_pairing.g2_fixed_lines(q.to_xy_bytes_be()))

    def _native_pairing(self, pairs: Sequence[tuple[G1Point, G2Point | PreparedG2]]) -> bytes:
        return native_pairing.pairing([(p.to_xy_bytes_be(), self._g2_operand(q)) for p, q in pairs])

    def _g2_operand(self, q: G2Point | PreparedG2) -> bytes:
        """q's Miller-loop lines when prepared or from its second use on (points that recur), else q's coordinates."""
        if isinstance(q, PreparedG2):
            return q.lines
        lines = self._g2_lines.get(id(q), q, lambda point: native_pairing.g2_fixed_lines(point.to_xy_bytes_be()))
        return lines if lines is not None else q.to_xy_bytes_be()

    def decode_proof_points(
        self, encoded: Sequence[bytes], workers: int | None = None
    ) -> list[tuple[G1Point, G2Point, G1Point] | None] | None:
        """(A, B, C) of 192-byte compressed proofs, decoded with every check on `workers` threads (default: the
        CPU count); None for an item refused (the caller decodes it alone for the reason), None without the
        native module."""
        if native_batch is None:
            return None
        xy, status = native_batch.decode_proofs(b"".join(encoded), workers or os.cpu_count() or 1)
        out: list[tuple[G1Point, G2Point, G1Point] | None] = []
        for i, refused in enumerate(status):
            at = 384 * i
            # Checked in C: on the curve and in the subgroup, so the unchecked constructors are safe.
            out.append(None if refused else (G1Point.from_xy_bytes_unchecked_be(xy[at : at + 96]),
                                             G2Point.from_xy_bytes_unchecked_be(xy[at + 96 : at + 288]),
                                             G1Point.from_xy_bytes_unchecked_be(xy[at + 288 : at + 384])))
        return out

    def weighted_pairing_check(
        self,
        proofs: Sequence[tuple[G1Point, G2Point, G1Point]],
        weights: Sequence[int] | Sequence[tuple[int, int]],
        pairs: Sequence[tuple[G1Point, G2Point | PreparedG2]],
        delta: G2Point | PreparedG2,
        workers: int | None = None,
    ) -> bool | None:
        """prod_i e(w_i A_i, B_i) * prod_j e(P_j, Q_j) * e(-sum_i w_i C_i, delta) == 1 on `workers` threads
        (default: the CPU count), or None without the native module (the caller then builds the pairs itself).

        A weight is an int, or GLV halves (a, b) below 2^64 standing for a + b * (-z^2) mod r (A_i, C_i in G1).
        """
        if native_batch is None or len(proofs) != len(weights):
            return None
        if weights and isinstance(weights[0], tuple):
            if any(not 0 <= half < 2**64 for pair in weights for half in pair):  # type: ignore[union-attr]
                raise ValueError("GLV weight halves must lie in [0, 2^64)")
            encoded = b"".join(a.to_bytes(8, "little") + b.to_bytes(8, "little") for a, b in weights)  # type: ignore[misc]
        else:
            encoded = b"".join((w % R).to_bytes(32, "little") for w in weights)  # type: ignore[operator]
        return native_batch.weighted_check(
            b"".join(a.to_xy_bytes_be() for a, _, _ in proofs),
            b"".join(b.to_xy_bytes_be() for _, b, _ in proofs),
            b"".join(c.to_xy_bytes_be() for _, _, c in proofs),
            encoded,
            [(p.to_xy_bytes_be(), self._g2_operand(q)) for p, q in pairs],
            self._g2_operand(delta),
            workers or os.cpu_count() or 1,
        )

    def g1_to_affine(self, p: G1Point) -> tuple[int, int] | None:
        if p == self._g1_zero:
            return None
        x, y = _chunks(bytes(p.to_xy_bytes_be()))
        return x, y

    def g2_to_affine(self, p: G2Point) -> tuple[Fp2, Fp2] | None:
        if p == self._g2_zero:
            return None
        x0, x1, y0, y1 = _chunks(bytes(p.to_xy_bytes_be()))
        return (x0, x1), (y0, y1)

    def g1_from_affine(self, x: int, y: int, subgroup_check: bool = True) -> G1Point:
        if not (0 <= x < _P and 0 <= y < _P):
            raise MalformedPointError("G1 point: coordinate is not below the field modulus")
        return _g1_from_xy(x.to_bytes(FP_BYTES, "big") + y.to_bytes(FP_BYTES, "big"), subgroup_check)

    def g2_from_affine(self, x: Fp2, y: Fp2, subgroup_check: bool = True) -> G2Point:
        coords = (*x, *y)
        if not all(0 <= c < _P for c in coords):
            raise MalformedPointError("G2 point: coordinate is not below the field modulus")
        return _g2_from_xy(b"".join(c.to_bytes(FP_BYTES, "big") for c in coords), subgroup_check)

    def g1_to_bytes(self, p: G1Point, compressed: bool = True) -> bytes:
        if compressed:
            return bytes(p.to_compressed_bytes())
        return encode_g1(self.g1_to_affine(p), compressed=False)

    def g2_to_bytes(self, p: G2Point, compressed: bool = True) -> bytes:
        if compressed:
            return bytes(p.to_compressed_bytes())
        return encode_g2(self.g2_to_affine(p), compressed=False)

    def g1_from_bytes(self, data: bytes, subgroup_check: bool = True) -> G1Point:
        compressed, infinity, sign, body = _split_flags(data, (FP_BYTES, 2 * FP_BYTES), "G1 point")
        if infinity:
            return self._g1_zero
        if compressed:
            return _decompress(G1Point, bytes(data), body, sign, subgroup_check, "G1")
        x, y = _chunks(body)
        return self.g1_from_affine(x, y, subgroup_check)

    def g2_from_bytes(self, data: bytes, subgroup_check: bool = True) -> G2Point:
        compressed, infinity, sign, body = _split_flags(data, (2 * FP_BYTES, 4 * FP_BYTES), "G2 point")
        if infinity:
            return self._g2_zero
        if compressed:
            return _decompress(G2Point, bytes(data), body, sign, subgroup_check, "G2")
        x1, x0, y1, y0 = _chunks(body)
        return self.g2_from_affine((x0, x1), (y0, y1), subgroup_check)


_FIXED_TABLES = 32
_NATIVE_BATCH_MIN = 64
"""Fewer multiples of one point are computed one by one (the native table costs ~8,000 additions to build)."""
_RECURRING_MIN = 16
"""Shorter MSMs stay with the curve library (its fixed costs are lower)."""
"""Points with a cached table (each ~8,000 points, ~1 MB); the cache is emptied when full."""

_P = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB


class SecondUse:
    """Values built for objects from their second use on, keyed by the objects' ids.

    An entry holds its objects, so their ids cannot be reused while it exists. Objects seen once (a proof's
    own points) are recorded apart and bounded on their own: a stream of them never evicts built values.
    """

    def __init__(self, limit: int = _FIXED_TABLES) -> None:
        self.seen: dict = {}
        self.built: dict = {}
        self._limit = limit

    def get(self, key: Hashable, holder: Any, build: Callable[[Any], Any]) -> Any:
        """build(holder), made once, from the second use of key on; None on the first."""
        entry = self.built.get(key)
        if entry is not None:
            return entry[1]
        if key not in self.seen:
            _put_bounded(self.seen, key, holder, self._limit)
            return None
        value = build(holder)
        _put_bounded(self.built, key, (holder, value), self._limit)
        return value


def _put_bounded(table: dict, key: Hashable, value: Any, limit: int) -> None:
    if len(table) >= limit:
        table.clear()
    table[key] = value


@dataclass(frozen=True)
class PreparedG2:
    """A G2 point with its Miller-loop lines (zkmargin.native._pairing.g2_fixed_lines), made once for a key's point."""

    point: G2Point
    lines: bytes


@dataclass(frozen=True)
class NativeGT:
    """A pairing value from zkmargin.native._pairing, which yields its cube: compare it only with another NativeGT."""

    cubed: bytes


class NativeBases(Generic[Point]):
    """Points prepared for zkmargin.native._msm (Montgomery-form affine coordinates), converted once; optionally with a
    fixed-base table (each point's multiples 2^(c j) P) that makes every MSM over them cheaper."""

    def __init__(self, prepared: bytes, msm: Callable[[bytes, bytes], bytes], group: type[Point],
                 table: bytes | None = None, window: int = 0) -> None:
        self.prepared = prepared
        self._msm = msm
        self._group: type[Point] = group
        self.table = table
        self.window = window

    @property
    def point_bytes(self) -> int:
        """Bytes a prepared point takes (and each of its table entries)."""
        return 96 if self._group is G1Point else 192

    def __len__(self) -> int:
        return len(self.prepared) // self.point_bytes

    def table_bytes(self, window: int) -> int:
        """Memory a fixed-base table of this window width takes."""
        return len(self) * (256 // window + 1) * self.point_bytes

    def with_table(self, window: int) -> NativeBases[Point]:
        """These bases with a fixed-base table of the given window width (built now)."""
        name = "g1" if self._group is G1Point else "g2"
        return NativeBases(self.prepared, self._msm, self._group, getattr(native_msm, f"{name}_table")(self.prepared, window),
                           window)

    def without_table(self) -> NativeBases[Point]:
        """These bases without their table (its memory goes when no other holder keeps it)."""
        return NativeBases(self.prepared, self._msm, self._group)

    def msm(self, scalars: bytes) -> Point:
        """sum_i k_i * points[i] for the 32-byte little-endian k_i; zero scalars cost nothing."""
        if self.table is not None:
            name = "g1" if self._group is G1Point else "g2"
            xy = getattr(native_msm, f"{name}_msm_table")(self.table, self.window, scalars)
        else:
            xy = self._msm(self.prepared, scalars)
        # The sum of subgroup points is one; from_xy_bytes maps all-zero bytes to the identity.
        return self._group.from_xy_bytes_unchecked_be(xy)


def _point(q: G2Point | PreparedG2) -> G2Point:
    return q.point if isinstance(q, PreparedG2) else q


def _call(decoder: Callable[[bytes], Point], data: bytes, group: str) -> Point:
    try:
        return decoder(data)
    except (ValueError, Exception) as exc:  # the binding raises plain Exceptions with Rust messages
        raise MalformedPointError(f"{group} point: {exc}") from None


def _g1_from_xy(raw: bytes, subgroup_check: bool) -> G1Point:
    # from_xy_bytes_be maps all-zero bytes to the identity; the codec never
    # produces them for a real point, so refuse them here.
    if not any(raw):
        raise MalformedPointError("G1 point: (0, 0) is not on the curve")
    if subgroup_check and native_msm is not None:
        _native_check(native_msm.g1_check, raw, "G1")
        return G1Point.from_xy_bytes_unchecked_be(raw)
    decoder = G1Point.from_xy_bytes_be if subgroup_check else G1Point.from_xy_bytes_unchecked_be
    return _call(decoder, raw, "G1")


def _g2_from_xy(raw: bytes, subgroup_check: bool) -> G2Point:
    if not any(raw):
        raise MalformedPointError("G2 point: (0, 0) is not on the curve")
    if subgroup_check and native_msm is not None:
        _native_check(native_msm.g2_check, raw, "G2")
        return G2Point.from_xy_bytes_unchecked_be(raw)
    decoder = G2Point.from_xy_bytes_be if subgroup_check else G2Point.from_xy_bytes_unchecked_be
    return _call(decoder, raw, "G2")


def _decompress(
    group: type[Point], data: bytes, body: bytes, sign: bool, subgroup_check: bool, name: str
) -> Point:
    """A compressed point (body: its x with the flag bits cleared): decompressed and subgroup-checked by
    endomorphism in zkmargin/native/_msm.c when it is there (the library's checked decoder costs 1.2x (G1) to 1.5x (G2)
    as much), else by the curve library."""
    if native_msm is None:
        return _call(
            group.from_compressed_bytes if subgroup_check else group.from_compressed_bytes_unchecked, data, name
        )
    decompress = native_msm.g1_decompress if group is G1Point else native_msm.g2_decompress
    xy = decompress(body, sign, subgroup_check)
    if isinstance(xy, int):
        raise MalformedPointError(f"{name} point: {_DECOMPRESS_FAILURES.get(xy) or _CHECK_FAILURES[xy]}")
    return group.from_xy_bytes_unchecked_be(xy)


_DECOMPRESS_FAILURES = {2: "x is not on the curve"}
"""Reasons worded for a compressed point (its y was never sent), as zkmargin.backends.base words them."""
_CHECK_FAILURES = {
    1: "coordinate is not below the field modulus",
    2: "not on the curve",
    3: "not in the prime-order subgroup",
}
"""zkmargin.native._msm's g1_check / g2_check reasons."""


def _native_check(check: Callable[[bytes], tuple[int, int] | None], raw: bytes, name: str) -> None:
    failure = check(raw)
    if failure is not None:
        raise MalformedPointError(f"{name} point: {_CHECK_FAILURES[failure[1]]}")


def _batch(base: Point, scalars: Sequence[int], zero: Point) -> list[Point]:
    """Many multiples of one point: plain muls for a few, a windowed table for many."""
    if len(scalars) < 64:
        return [base * to_scalar(k % R) if k % R else zero for k in scalars]
    return fixed_base_multiples(base, scalars, operator.add, zero)
