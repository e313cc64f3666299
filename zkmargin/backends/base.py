"""The curve seam: what Groth16 needs from BLS12-381, and the ZCash point encoding both backends share.

Encodings (ZCash BLS12-381 format, as arkworks, blst and zkcrypto write them):
G1 48 bytes compressed / 96 uncompressed, G2 96 / 192 with x = x.c1 || x.c0.
The top three bits of the first byte are flags: compression (0x80), infinity
(0x40) and, when compressed, the sign of y (0x20: y is the larger root).
Decoders reject wrong lengths, inconsistent flags, coordinates >= p, points
off the curve and points outside the prime-order subgroup; they accept the
identity, because only the caller knows whether the identity is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from zkmargin.errors import MalformedPointError

P = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB
"""Base field modulus of BLS12-381."""
FP_BYTES = 48
G1_UNCOMPRESSED, G2_UNCOMPRESSED = 2 * FP_BYTES, 4 * FP_BYTES
"""Bytes of an uncompressed point (ZCash encoding)."""
FLAG_COMPRESSED, FLAG_INFINITY, FLAG_Y_SIGN = 0x80, 0x40, 0x20

G1 = Any
G2 = Any
GT = Any
Fp2 = tuple[int, int]


class Bases(Protocol):
    """Points fixed across many MSMs (a proving key's queries), prepared once for the backend."""

    def msm(self, scalars: bytes) -> Any:
        """sum_i k_i * points[i] for k_i the i-th 32-byte little-endian integer of scalars (one per point)."""
        ...


class PointBases:
    """Bases kept as a point list: each MSM drops the zero scalars (most witness bits) and calls msm."""

    def __init__(self, points: Sequence[Any], msm: Callable[[Sequence[Any], Sequence[int]], Any]) -> None:
        self.points = points
        self._msm = msm

    def msm(self, scalars: bytes) -> Any:
        """sum_i k_i * points[i] over the nonzero 32-byte little-endian k_i."""
        if len(scalars) != 32 * len(self.points):
            raise ValueError("msm needs one 32-byte scalar per point")
        values = [int.from_bytes(scalars[i : i + 32], "little") for i in range(0, len(scalars), 32)]
        kept = [i for i, k in enumerate(values) if k]
        return self._msm([self.points[i] for i in kept], [values[i] for i in kept])


class CurveBackend(Protocol):
    """G1/G2 arithmetic, multi-scalar multiplication, pairing-product check, checked codecs."""

    name: str

    def g1_generator(self) -> G1: ...
    def g2_generator(self) -> G2: ...
    def g1_identity(self) -> G1: ...
    def g2_identity(self) -> G2: ...
    def g1_add(self, p: G1, q: G1) -> G1: ...
    def g2_add(self, p: G2, q: G2) -> G2: ...
    def g1_neg(self, p: G1) -> G1: ...
    def g2_neg(self, p: G2) -> G2: ...
    def g1_mul(self, p: G1, k: int) -> G1: ...
    def g1_mul_fixed(self, p: G1, k: int) -> G1: ...
    def g2_mul(self, p: G2, k: int) -> G2: ...
    def g1_eq(self, p: G1, q: G1) -> bool: ...
    def g2_eq(self, p: G2, q: G2) -> bool: ...
    def g1_is_identity(self, p: G1) -> bool: ...
    def g2_is_identity(self, p: G2) -> bool: ...
    def g1_msm(self, points: Sequence[G1], scalars: Sequence[int]) -> G1: ...
    def g2_msm(self, points: Sequence[G2], scalars: Sequence[int]) -> G2: ...
    def g1_bases(self, points: Sequence[G1], uncompressed: bytes | None = None) -> Bases: ...
    def g2_bases(self, points: Sequence[G2], uncompressed: bytes | None = None) -> Bases: ...
    def g1_batch_mul(self, base: G1, scalars: Sequence[int]) -> list[G1]: ...
    def g2_batch_mul(self, base: G2, scalars: Sequence[int]) -> list[G2]: ...
    def g1_batch_mul_bases(self, base: G1, scalars: Sequence[int]) -> tuple[list[G1], Bases]: ...
    def g2_batch_mul_bases(self, base: G2, scalars: Sequence[int]) -> tuple[list[G2], Bases]: ...
    def g2_prepare(self, q: G2) -> Any: ...
    def pairing_check(self, pairs: Sequence[tuple[G1, G2]]) -> bool: ...
    def pairing(self, p: G1, q: G2) -> GT: ...
    def pairing_product_equals(self, pairs: Sequence[tuple[G1, G2]], target: GT) -> bool: ...
    def g1_to_affine(self, p: G1) -> tuple[int, int] | None: ...
    def g2_to_affine(self, p: G2) -> tuple[Fp2, Fp2] | None: ...
    def g1_from_affine(self, x: int, y: int, subgroup_check: bool = True) -> G1: ...
    def g2_from_affine(self, x: Fp2, y: Fp2, subgroup_check: bool = True) -> G2: ...
    def g1_to_bytes(self, p: G1, compressed: bool = True) -> bytes: ...
    def g2_to_bytes(self, p: G2, compressed: bool = True) -> bytes: ...
    def g1_from_bytes(self, data: bytes, subgroup_check: bool = True) -> G1: ...
    def g2_from_bytes(self, data: bytes, subgroup_check: bool = True) -> G2: ...


# ----- field helpers shared by the codecs ---------------------------------------
def fp2_mul(a: Fp2, b: Fp2) -> Fp2:
    """(a0 + a1 u)(b0 + b1 u) with u^2 = -1."""
    return ((a[0] * b[0] - a[1] * b[1]) % P, (a[0] * b[1] + a[1] * b[0]) % P)


def fp_sqrt(a: int) -> int | None:
    """A square root in Fp (p = 3 mod 4), or None."""
    root = pow(a, (P + 1) // 4, P)
    return root if root * root % P == a % P else None


def fp2_sqrt(a: Fp2) -> Fp2 | None:
    """A square root in Fp2 via the norm (complex method), or None."""
    a0, a1 = a[0] % P, a[1] % P
    if a1 == 0:
        root = fp_sqrt(a0)
        if root is not None:
            return (root, 0)
        root = fp_sqrt(-a0 % P)
        return None if root is None else (0, root)
    norm_root = fp_sqrt((a0 * a0 + a1 * a1) % P)
    if norm_root is None:
        return None
    inv2 = (P + 1) // 2
    for candidate in ((a0 + norm_root) * inv2 % P, (a0 - norm_root) * inv2 % P):
        x0 = fp_sqrt(candidate)
        if x0 is not None and x0 != 0:
            x1 = a1 * pow(2 * x0, P - 2, P) % P
            if fp2_mul((x0, x1), (x0, x1)) == (a0, a1):
                return (x0, x1)
    return None


def _larger_fp(y: int) -> bool:
    return y > (P - 1) // 2


def larger_fp2(y: Fp2) -> bool:
    """ZCash sign rule for Fp2: compare c1, or c0 when c1 is zero."""
    return _larger_fp(y[1]) if y[1] else _larger_fp(y[0])


# ----- generic ZCash codec over affine coordinates --------------------------------
def encode_g1(affine: tuple[int, int] | None, compressed: bool) -> bytes:
    """ZCash encoding of an affine G1 point (None is the identity)."""
    size = FP_BYTES if compressed else 2 * FP_BYTES
    if affine is None:
        out = bytearray(size)
        out[0] = FLAG_INFINITY | (FLAG_COMPRESSED if compressed else 0)
        return bytes(out)
    x, y = affine
    if compressed:
        out = bytearray(x.to_bytes(FP_BYTES, "big"))
        out[0] |= FLAG_COMPRESSED | (FLAG_Y_SIGN if _larger_fp(y) else 0)
        return bytes(out)
    return x.to_bytes(FP_BYTES, "big") + y.to_bytes(FP_BYTES, "big")


def encode_g2(affine: tuple[Fp2, Fp2] | None, compressed: bool) -> bytes:
    """ZCash encoding of an affine G2 point (None is the identity)."""
    size = 2 * FP_BYTES if compressed else 4 * FP_BYTES
    if affine is None:
        out = bytearray(size)
        out[0] = FLAG_INFINITY | (FLAG_COMPRESSED if compressed else 0)
        return bytes(out)
    (x0, x1), (y0, y1) = affine
    head = x1.to_bytes(FP_BYTES, "big") + x0.to_bytes(FP_BYTES, "big")
    if compressed:
        out = bytearray(head)
        out[0] |= FLAG_COMPRESSED | (FLAG_Y_SIGN if larger_fp2((y0, y1)) else 0)
        return bytes(out)
    return head + y1.to_bytes(FP_BYTES, "big") + y0.to_bytes(FP_BYTES, "big")


def _split_flags(data: bytes, sizes: tuple[int, int], what: str) -> tuple[bool, bool, bool, bytes]:
    if not isinstance(data, (bytes, bytearray)):
        raise MalformedPointError(f"{what}: expected bytes")
    if len(data) not in sizes:
        raise MalformedPointError(f"{what}: expected {sizes[0]} or {sizes[1]} bytes, got {len(data)}")
    compressed = bool(data[0] & FLAG_COMPRESSED)
    infinity = bool(data[0] & FLAG_INFINITY)
    sign = bool(data[0] & FLAG_Y_SIGN)
    if compressed != (len(data) == sizes[0]):
        raise MalformedPointError(f"{what}: compression flag does not match the length")
    body = bytes([data[0] & 0x1F]) + bytes(data[1:])
    if infinity:
        if sign or any(body):
            raise MalformedPointError(f"{what}: point at infinity with non-zero bits")
    elif not compressed and sign:
        raise MalformedPointError(f"{what}: sign flag set on an uncompressed point")
    return compressed, infinity, sign, body


def _fp(chunk: bytes, what: str) -> int:
    value = int.from_bytes(chunk, "big")
    if value >= P:
        raise MalformedPointError(f"{what}: coordinate is not below the field modulus")
    return value


def decode_g1_affine(data: bytes) -> tuple[int, int] | None:
    """Affine coordinates from ZCash bytes, checked on the curve y^2 = x^3 + 4 (not the subgroup)."""
    compressed, infinity, sign, body = _split_flags(data, (FP_BYTES, 2 * FP_BYTES), "G1 point")
    if infinity:
        return None
    x = _fp(body[:FP_BYTES], "G1 point")
    rhs = (x * x * x + 4) % P
    if compressed:
        y = fp_sqrt(rhs)
        if y is None:
            raise MalformedPointError("G1 point: x is not on the curve")
        if _larger_fp(y) != sign:
            y = (P - y) % P
    else:
        y = _fp(body[FP_BYTES:], "G1 point")
        if y * y % P != rhs:
            raise MalformedPointError("G1 point: not on the curve")
    return x, y


B2 = (4, 4)
"""The twist's b = 4(1 + u)."""


def g2_rhs(x: Fp2) -> Fp2:
    """x^3 + 4(1 + u)."""
    x3 = fp2_mul(fp2_mul(x, x), x)
    return ((x3[0] + B2[0]) % P, (x3[1] + B2[1]) % P)


def decode_g2_affine(data: bytes) -> tuple[Fp2, Fp2] | None:
    """Affine coordinates from ZCash bytes, checked on the twist (not the subgroup)."""
    compressed, infinity, sign, body = _split_flags(data, (2 * FP_BYTES, 4 * FP_BYTES), "G2 point")
    if infinity:
        return None
    x = (_fp(body[FP_BYTES : 2 * FP_BYTES], "G2 point"), _fp(body[:FP_BYTES], "G2 point"))
    rhs = g2_rhs(x)
    if compressed:
        y = fp2_sqrt(rhs)
        if y is None:
            raise MalformedPointError("G2 point: x is not on the curve")
        if larger_fp2(y) != sign:
            y = ((P - y[0]) % P, (P - y[1]) % P)
    else:
        y = (_fp(body[3 * FP_BYTES :], "G2 point"), _fp(body[2 * FP_BYTES : 3 * FP_BYTES], "G2 point"))
        if fp2_mul(y, y) != rhs:
            raise MalformedPointError("G2 point: not on the curve")
    return x, y


# ----- group algorithms over an abstract add, for backends without native ones ----
AddFn = Callable[[Any, Any], Any]
"""A group's addition (p, q) -> p + q, on whatever point type the backend uses."""


def fixed_base_multiples(base: Any, scalars: Sequence[int], add: AddFn, zero: Any, window: int = 8) -> list:
    """k_i * base for many k_i with one table of base * d * 2^(window*j): ~32 additions per scalar."""
    table = fixed_base_table(base, add, zero, window)
    return [table_multiple(table, k, add, zero, window) for k in scalars]


def fixed_base_table(base: Any, add: AddFn, zero: Any, window: int = 8) -> list[list[Any]]:
    """table[j][d] = d * 2^(window*j) * base for d < 2^window, enough rows for any scalar below r."""
    from zkmargin.field import R

    windows = (R.bit_length() + window - 1) // window
    table = []
    row_base = base
    for _ in range(windows):
        row = [zero, row_base]
        for _ in range(2, 1 << window):
            row.append(add(row[-1], row_base))
        table.append(row)
        row_base = add(row[-1], row_base)
    return table


def table_multiple(table: list[list[Any]], k: int, add: AddFn, zero: Any, window: int = 8) -> Any:
    """k * base from fixed_base_table(base, ..., window): one addition per non-zero window of k mod r."""
    from zkmargin.field import R

    k %= R
    mask = (1 << window) - 1
    acc = zero
    i = 0
    while k:
        digit = k & mask
        if digit:
            acc = add(acc, table[i][digit])
        k >>= window
        i += 1
    return acc


def pippenger(points: Sequence[Any], scalars: Sequence[int], add: AddFn, double: Callable[[Any], Any], zero: Any) -> Any:
    """sum k_i P_i by the bucket method; zero scalars are skipped, small scalars use few windows."""
    from zkmargin.field import R

    pairs = [(p, k % R) for p, k in zip(points, scalars) if k % R]
    if not pairs:
        return zero
    window = max(1, min(12, len(pairs).bit_length() - 2))
    top_bits = max(k for _, k in pairs).bit_length()
    mask = (1 << window) - 1
    acc = zero
    for shift in range(((top_bits - 1) // window) * window, -1, -window):
        for _ in range(window):
            acc = double(acc)
        buckets: list[Any] = [None] * (1 << window)
        for point, k in pairs:
            digit = (k >> shift) & mask
            if digit:
                bucket = buckets[digit]
                buckets[digit] = point if bucket is None else add(bucket, point)
        running, window_sum = zero, zero
        for digit in range(mask, 0, -1):
            if buckets[digit] is not None:
                running = add(running, buckets[digit])
            window_sum = add(window_sum, running)
        acc = add(acc, window_sum)
    return acc
