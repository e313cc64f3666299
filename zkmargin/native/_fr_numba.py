"""Fr arithmetic compiled with numba (8 x 32-bit limbs, Montgomery form, R = 2^256) for the Merkle tree builder.

A venue hashes millions of tree nodes (zkmargin.venue.tree); this keeps them in limb arrays and
releases the GIL. The prover's NTTs no longer use it: they run in the C kernel compiled at install
(zkmargin.ntt), so a trader's first proof pays no JIT. Limbs are 32-bit values held in uint64 so that
a 32 x 32-bit product plus two carries fits without overflow: (2^32 - 1)^2 + 2 (2^32 - 1) = 2^64 - 1.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from zkmargin.field import R

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
def _reduce_once(x: np.ndarray, overflow: bool, out: np.ndarray, p: np.ndarray) -> None:
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
def _mont_mul(a: np.ndarray, b: np.ndarray, out: np.ndarray, p: np.ndarray, n0inv: np.uint64, t: np.ndarray) -> None:
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
def _add_mod(a: np.ndarray, b: np.ndarray, out: np.ndarray, p: np.ndarray, s: np.ndarray) -> None:
    carry = np.uint64(0)
    mask = np.uint64(0xFFFFFFFF)
    shift = np.uint64(32)
    for j in range(LIMBS):
        tmp = a[j] + b[j] + carry
        s[j] = tmp & mask
        carry = tmp >> shift
    _reduce_once(s, carry != 0, out, p)




@njit(cache=True, nogil=True)
def _mul_scalar_inplace(values: np.ndarray, scalar: np.ndarray) -> None:
    out = np.zeros(LIMBS, dtype=np.uint64)
    t = np.zeros(LIMBS + 2, dtype=np.uint64)
    p = MODULUS_LIMBS
    for i in range(values.shape[0]):
        _mont_mul(values[i], scalar, out, p, N0_INV, t)
        for q in range(LIMBS):
            values[i, q] = out[q]

