"""Fr, the scalar field of BLS12-381, and radix-2 NTTs over its 2^32 subgroup."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zkmargin.errors import EncodingError

if TYPE_CHECKING:  # galois loads in a second: imported where the reference field is built, not here
    import galois

R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
"""Order of the BLS12-381 prime-order subgroup; every scalar lives in [0, R)."""

TWO_ADICITY = 32
"""R - 1 = 2^32 * odd, so power-of-two evaluation domains up to 2^32 exist."""

MULTIPLICATIVE_GENERATOR = 7
"""7 generates Fr^*; its odd part gives the 2^32-th root of unity."""

ROOT_OF_UNITY_2_32 = pow(MULTIPLICATIVE_GENERATOR, (R - 1) >> TWO_ADICITY, R)


def check_scalar(value: int, what: str = "scalar") -> int:
    """Return value if it is an int in [0, R), else raise EncodingError."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise EncodingError(f"{what} must be an integer, got {type(value).__name__}")
    if not 0 <= value < R:
        raise EncodingError(f"{what} must be in [0, r), got {value}")
    return value


def inv(value: int) -> int:
    """Multiplicative inverse modulo R; raises on zero."""
    if value % R == 0:
        raise ZeroDivisionError("0 has no inverse in Fr")
    return pow(value, R - 2, R)


def root_of_unity(log_size: int) -> int:
    """A primitive 2^log_size-th root of unity in Fr."""
    if not 0 <= log_size <= TWO_ADICITY:
        raise ValueError(f"domain 2^{log_size} exceeds Fr's 2-adicity {TWO_ADICITY}")
    return pow(ROOT_OF_UNITY_2_32, 1 << (TWO_ADICITY - log_size), R)


def _bit_reverse(values: list[int]) -> None:
    n = len(values)
    j = 0
    for i in range(1, n):
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            values[i], values[j] = values[j], values[i]


def ntt(coefficients: list[int], omega: int | None = None) -> list[int]:
    """Evaluate a polynomial (coefficients, length 2^k) on the powers of omega."""
    n = len(coefficients)
    if n & (n - 1) or n == 0:
        raise ValueError(f"NTT length must be a power of two, got {n}")
    log_n = n.bit_length() - 1
    if omega is None:
        omega = root_of_unity(log_n)
    values = [c % R for c in coefficients]
    _bit_reverse(values)
    # Precomputed twiddles for the largest stage; smaller stages stride through them.
    half = n >> 1
    twiddles = [1] * max(half, 1)
    for i in range(1, half):
        twiddles[i] = twiddles[i - 1] * omega % R
    size = 2
    while size <= n:
        half_size = size >> 1
        stride = n // size
        for start in range(0, n, size):
            for k in range(half_size):
                w = twiddles[k * stride]
                u = values[start + k]
                v = values[start + k + half_size] * w % R
                values[start + k] = (u + v) % R
                values[start + k + half_size] = (u - v) % R
        size <<= 1
    return values


def intt(evaluations: list[int]) -> list[int]:
    """Interpolate: inverse of ntt over the standard domain of the same size."""
    n = len(evaluations)
    if n & (n - 1) or n == 0:
        raise ValueError(f"NTT length must be a power of two, got {n}")
    omega_inv = inv(root_of_unity(n.bit_length() - 1))
    n_inv = inv(n)
    return [v * n_inv % R for v in ntt(evaluations, omega_inv)]


def galois_field() -> type[galois.FieldArray]:
    """Fr as a galois field (built lazily: verify=False skips factoring r - 1, which takes a minute).

    The library's hot paths use Python ints and a C kernel; galois is the independent
    reference the tests check them against.
    """
    import galois

    global _GALOIS_FIELD
    if _GALOIS_FIELD is None:
        _GALOIS_FIELD = galois.GF(R, primitive_element=MULTIPLICATIVE_GENERATOR, verify=False)
    return _GALOIS_FIELD


_GALOIS_FIELD: type[galois.FieldArray] | None = None
