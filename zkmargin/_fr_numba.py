"""Fr arithmetic and NTTs compiled with numba (8 x 32-bit limbs, Montgomery form, R = 2^256).

The Groth16 prover's quotient h = (A*B - C) / Z costs seven size-n NTTs; in pure
Python that is ~0.5 s at n = 2^14. Here the data stays in limb arrays for all
seven, and the kernels release the GIL so the prover's MSM threads keep running.
Limbs are 32-bit values held in uint64 so that a 32 x 32-bit product plus two
carries fits without overflow: (2^32 - 1)^2 + 2 (2^32 - 1) = 2^64 - 1.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from zkmargin.field import MULTIPLICATIVE_GENERATOR, R, inv, root_of_unity

LIMBS = 8
MASK = np.uint64(0xFFFFFFFF)
SHIFT = np.uint64(32)
MODULUS_LIMBS = np.array([(R >> (32 * i)) & 0xFFFFFFFF for i in range(LIMBS)], dtype=np.uint64)
N0_INV = np.uint64((-pow(R, -1, 2**32)) % 2**32)
R2 = pow(2, 512, R)  # to Montgomery form: mont_mul(a, R^2) = a * 2^256


def ints_to_limbs(values: list[int], montgomery: bool = True) -> np.ndarray:
    """Python ints in [0, r) -> (n, 8) uint64 limb array (in Montgomery form unless told otherwise)."""
    raw = b"".join(v.to_bytes(32, "little") for v in values)
    limbs = np.frombuffer(raw, dtype="<u4").reshape(len(values), LIMBS).astype(np.uint64)
    if montgomery:
        _mul_scalar_inplace(limbs, _limbs_of(R2))
    return limbs


def limbs_to_ints(limbs: np.ndarray) -> list[int]:
    """(n, 8) limb array in Montgomery form -> Python ints."""
    plain = limbs.copy()
    _mul_scalar_inplace(plain, _limbs_of(1))
    raw = plain.astype("<u4").tobytes()
    return [int.from_bytes(raw[i : i + 32], "little") for i in range(0, len(raw), 32)]


def _limbs_of(value: int) -> np.ndarray:
    return np.array([(value >> (32 * i)) & 0xFFFFFFFF for i in range(LIMBS)], dtype=np.uint64)


def _mont_limbs(value: int) -> np.ndarray:
    return _limbs_of(value * 2**256 % R)


@njit(cache=True, nogil=True, inline="always")
def _reduce_once(x, overflow, out, p):  # noqa: ANN001, ANN202
    """out = x - p if x >= p (or the value overflowed the limbs), else x; x < 2p."""
    geq = overflow
    if not geq:
        geq = True
        for j in range(LIMBS - 1, -1, -1):
            if x[j] != p[j]:
                geq = x[j] > p[j]
                break
    if geq:
        borrow = np.uint64(0)
        for j in range(LIMBS):
            sub = p[j] + borrow
            if x[j] >= sub:
                out[j] = x[j] - sub
                borrow = np.uint64(0)
            else:
                out[j] = x[j] + (np.uint64(1) << np.uint64(32)) - sub
                borrow = np.uint64(1)
    else:
        for j in range(LIMBS):
            out[j] = x[j]


@njit(cache=True, nogil=True, inline="always")
def _mont_mul(a, b, out, p, n0inv, t):  # noqa: ANN001, ANN202
    # CIOS Montgomery multiplication on 32-bit limbs; t is LIMBS + 2 words of scratch
    # (allocating it here would cost a heap allocation per multiplication).
    for j in range(LIMBS + 2):
        t[j] = 0
    mask = np.uint64(0xFFFFFFFF)
    shift = np.uint64(32)
    for i in range(LIMBS):
        carry = np.uint64(0)
        bi = b[i]
        for j in range(LIMBS):
            tmp = t[j] + a[j] * bi + carry
            carry = tmp >> shift
            t[j] = tmp & mask
        tmp = t[LIMBS] + carry
        t[LIMBS] = tmp & mask
        t[LIMBS + 1] = tmp >> shift
        m = (t[0] * n0inv) & mask
        tmp = t[0] + m * p[0]
        carry = tmp >> shift
        for j in range(1, LIMBS):
            tmp = t[j] + m * p[j] + carry
            carry = tmp >> shift
            t[j - 1] = tmp & mask
        tmp = t[LIMBS] + carry
        t[LIMBS - 1] = tmp & mask
        t[LIMBS] = t[LIMBS + 1] + (tmp >> shift)
    # t < 2p: subtract p once if t >= p.
    _reduce_once(t, t[LIMBS] != 0, out, p)


@njit(cache=True, nogil=True, inline="always")
def _add_mod(a, b, out, p, s):  # noqa: ANN001, ANN202
    carry = np.uint64(0)
    mask = np.uint64(0xFFFFFFFF)
    shift = np.uint64(32)
    for j in range(LIMBS):
        tmp = a[j] + b[j] + carry
        s[j] = tmp & mask
        carry = tmp >> shift
    _reduce_once(s, carry != 0, out, p)


@njit(cache=True, nogil=True, inline="always")
def _sub_mod(a, b, out, p, s):  # noqa: ANN001, ANN202
    borrow = np.uint64(0)
    shift = np.uint64(32)
    for j in range(LIMBS):
        sub = b[j] + borrow
        if a[j] >= sub:
            s[j] = a[j] - sub
            borrow = np.uint64(0)
        else:
            s[j] = a[j] + (np.uint64(1) << shift) - sub
            borrow = np.uint64(1)
    if borrow:
        carry = np.uint64(0)
        mask = np.uint64(0xFFFFFFFF)
        for j in range(LIMBS):
            tmp = s[j] + p[j] + carry
            out[j] = tmp & mask
            carry = tmp >> shift
    else:
        for j in range(LIMBS):
            out[j] = s[j]


@njit(cache=True, nogil=True)
def _ntt_inplace(values, twiddles, p, n0inv):  # noqa: ANN001, ANN202
    """Radix-2 decimation-in-time NTT; twiddles[k] = omega^k (Montgomery) for k < n/2."""
    n = values.shape[0]
    j = 0
    for i in range(1, n):
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            for k in range(LIMBS):
                tmp = values[i, k]
                values[i, k] = values[j, k]
                values[j, k] = tmp
    v = np.zeros(LIMBS, dtype=np.uint64)
    u = np.zeros(LIMBS, dtype=np.uint64)
    t = np.zeros(LIMBS + 2, dtype=np.uint64)
    s = np.zeros(LIMBS, dtype=np.uint64)
    size = 2
    while size <= n:
        half = size >> 1
        stride = n // size
        for start in range(0, n, size):
            for k in range(half):
                _mont_mul(values[start + k + half], twiddles[k * stride], v, p, n0inv, t)
                for q in range(LIMBS):
                    u[q] = values[start + k, q]
                _add_mod(u, v, values[start + k], p, s)
                _sub_mod(u, v, values[start + k + half], p, s)
        size <<= 1


@njit(cache=True, nogil=True)
def _mul_by_powers(values, base, p, n0inv):  # noqa: ANN001, ANN202
    """values[i] *= base^i (Montgomery)."""
    n = values.shape[0]
    power = np.zeros(LIMBS, dtype=np.uint64)
    nxt = np.zeros(LIMBS, dtype=np.uint64)
    out = np.zeros(LIMBS, dtype=np.uint64)
    t = np.zeros(LIMBS + 2, dtype=np.uint64)
    # power starts at 1 in Montgomery form, passed in base[LIMBS:] to avoid recomputing it here.
    for q in range(LIMBS):
        power[q] = base[LIMBS + q]
    for i in range(n):
        _mont_mul(values[i], power, out, p, n0inv, t)
        for q in range(LIMBS):
            values[i, q] = out[q]
        _mont_mul(power, base[:LIMBS], nxt, p, n0inv, t)
        for q in range(LIMBS):
            power[q] = nxt[q]


@njit(cache=True, nogil=True)
def _mul_scalar_inplace(values, scalar):  # noqa: ANN001, ANN202
    out = np.zeros(LIMBS, dtype=np.uint64)
    t = np.zeros(LIMBS + 2, dtype=np.uint64)
    p = MODULUS_LIMBS
    for i in range(values.shape[0]):
        _mont_mul(values[i], scalar, out, p, N0_INV, t)
        for q in range(LIMBS):
            values[i, q] = out[q]


@njit(cache=True, nogil=True)
def _combine(a, b, c, z_inv, p, n0inv):  # noqa: ANN001, ANN202
    """a[i] = (a[i] * b[i] - c[i]) * z_inv."""
    prod = np.zeros(LIMBS, dtype=np.uint64)
    d = np.zeros(LIMBS, dtype=np.uint64)
    t = np.zeros(LIMBS + 2, dtype=np.uint64)
    s = np.zeros(LIMBS, dtype=np.uint64)
    for i in range(a.shape[0]):
        _mont_mul(a[i], b[i], prod, p, n0inv, t)
        _sub_mod(prod, c[i], d, p, s)
        _mont_mul(d, z_inv, a[i], p, n0inv, t)


def _twiddles(omega: int, n: int) -> np.ndarray:
    half = max(n // 2, 1)
    powers = [1] * half
    for i in range(1, half):
        powers[i] = powers[i - 1] * omega % R
    return ints_to_limbs(powers)


_TWIDDLE_CACHE: dict[tuple[int, bool], np.ndarray] = {}


def _cached_twiddles(log_n: int, inverse: bool) -> np.ndarray:
    key = (log_n, inverse)
    if key not in _TWIDDLE_CACHE:
        omega = root_of_unity(log_n)
        _TWIDDLE_CACHE[key] = _twiddles(inv(omega) if inverse else omega, 1 << log_n)
    return _TWIDDLE_CACHE[key]


def _powers_base(base: int) -> np.ndarray:
    return np.concatenate([_mont_limbs(base), _mont_limbs(1)])


def ntt_limbs(values: np.ndarray, inverse: bool = False, coset: bool = False) -> None:
    """In-place NTT over H (or g*H when coset) of a Montgomery limb array; inverse interpolates."""
    n = values.shape[0]
    log_n = n.bit_length() - 1
    g = MULTIPLICATIVE_GENERATOR
    if not inverse:
        if coset:
            _mul_by_powers(values, _powers_base(g), MODULUS_LIMBS, N0_INV)
        _ntt_inplace(values, _cached_twiddles(log_n, False), MODULUS_LIMBS, N0_INV)
        return
    _ntt_inplace(values, _cached_twiddles(log_n, True), MODULUS_LIMBS, N0_INV)
    _mul_scalar_inplace(values, _mont_limbs(inv(n)))
    if coset:
        _mul_by_powers(values, _powers_base(inv(g)), MODULUS_LIMBS, N0_INV)


def quotient_coefficients(a_evals: list[int], b_evals: list[int], c_evals: list[int]) -> list[int]:
    """Coefficients of (A*B - C) / Z_H from evaluations over H, all seven NTTs in limb arrays."""
    n = len(a_evals)
    arrays = [ints_to_limbs(list(e)) for e in (a_evals, b_evals, c_evals)]
    for array in arrays:
        ntt_limbs(array, inverse=True)
        ntt_limbs(array, coset=True)
    g = MULTIPLICATIVE_GENERATOR
    z_inv = _mont_limbs(inv((pow(g, n, R) - 1) % R))
    _combine(arrays[0], arrays[1], arrays[2], z_inv, MODULUS_LIMBS, N0_INV)
    ntt_limbs(arrays[0], inverse=True, coset=True)
    return limbs_to_ints(arrays[0])
