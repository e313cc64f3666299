"""NTTs over Fr on the compiled kernel (zkmargin.native._fr_kernels), with the pure-Python reference as fallback.

Values cross into C as one bytes buffer (32 little-endian bytes per element),
so a transform costs two conversions of the list and no per-element calls.
"""

from __future__ import annotations

from collections.abc import Sequence

from zkmargin import field
from zkmargin.field import MULTIPLICATIVE_GENERATOR, R, inv, root_of_unity

try:
    from zkmargin.native import _fr_kernels
except ImportError:  # built at install time; missing only where no C compiler was available
    _fr_kernels = None  # type: ignore[assignment]

kernel = _fr_kernels
"""The compiled module (zkmargin.native._fr_kernels), or None."""
NATIVE = _fr_kernels is not None
"""True when the compiled kernel is installed (the fallback is the pure-Python reference)."""


def to_bytes(values: Sequence[int]) -> bytes:
    """Elements of [0, r) as the kernel's buffer: 32 little-endian bytes each."""
    try:
        return b"".join(v.to_bytes(32, "little") for v in values)
    except OverflowError:
        raise ValueError("NTT inputs must lie in [0, r)") from None


def from_bytes(raw: bytes) -> list[int]:
    """The kernel's buffer back to ints."""
    return [int.from_bytes(raw[i : i + 32], "little") for i in range(0, len(raw), 32)]


def _element(value: int) -> bytes:
    return (value % R).to_bytes(32, "little")


def _check_length(n: int) -> int:
    if n == 0 or n & (n - 1):
        raise ValueError(f"NTT length must be a power of two, got {n}")
    return n.bit_length() - 1


def ntt(coefficients: Sequence[int], shift: int = 1) -> list[int]:
    """Evaluate the polynomial at shift * omega^i for i < n (n = len, a power of two; values in [0, r))."""
    log_n = _check_length(len(coefficients))
    if _fr_kernels is None:
        powers = _powers(shift, len(coefficients))
        return field.ntt([c * p % R for c, p in zip(coefficients, powers)])
    omega = root_of_unity(log_n)
    raw = _fr_kernels.transform(to_bytes(coefficients), _element(omega), _element(shift), _element(1), _element(1))
    return from_bytes(raw)


def intt(values: Sequence[int], shift: int = 1) -> list[int]:
    """Coefficients of the polynomial of degree < n taking values[i] at shift * omega^i."""
    n = len(values)
    log_n = _check_length(n)
    if _fr_kernels is None:
        return [c * p % R for c, p in zip(field.intt(list(values)), _powers(inv(shift), n))]
    omega_inv = inv(root_of_unity(log_n))
    raw = _fr_kernels.transform(to_bytes(values), _element(omega_inv), _element(1), _element(inv(n)), _element(inv(shift)))
    return from_bytes(raw)


def quotient_coefficients(az: Sequence[int], bz: Sequence[int], cz: Sequence[int]) -> list[int]:
    """Coefficients of h = (A*B - C) / Z from A, B, C on the domain (n of them, the top one zero).

    Seven NTTs: interpolate A, B, C, evaluate them on the coset g*H where
    Z = x^n - 1 is the non-zero constant g^n - 1, divide there, interpolate back.
    """
    n = len(az)
    _check_length(n)
    if len(bz) != n or len(cz) != n:
        raise ValueError("A, B and C must be given on the same domain")
    if _fr_kernels is not None:
        return from_bytes(quotient_raw(to_bytes(az), to_bytes(bz), to_bytes(cz)))
    g, z_inv = _coset(n)
    a, b, c = (ntt(intt(evals), g) for evals in (az, bz, cz))
    return intt([(x * y - w) * z_inv % R for x, y, w in zip(a, b, c)], g)


def quotient_raw(az: bytes, bz: bytes, cz: bytes) -> bytes:
    """quotient_coefficients on the kernel's buffers (the prover keeps its vectors as buffers end to end)."""
    if _fr_kernels is None:
        return to_bytes(quotient_coefficients(from_bytes(az), from_bytes(bz), from_bytes(cz)))
    if len(az) % 32 or len(bz) != len(az) or len(cz) != len(az):
        raise ValueError("A, B and C must be given on the same domain")
    n = len(az) // 32
    log_n = _check_length(n)
    omega = root_of_unity(log_n)
    g, z_inv = _coset(n)
    constants = (omega, inv(omega), inv(n), g, inv(g), z_inv)
    return _fr_kernels.quotient(az, bz, cz, *(_element(k) for k in constants))


def _coset(n: int) -> tuple[int, int]:
    """The coset shift g and 1 / Z(g x) = 1 / (g^n - 1), constant on the coset g*H."""
    g = MULTIPLICATIVE_GENERATOR
    return g, inv((pow(g, n, R) - 1) % R)


def _powers(base: int, n: int) -> list[int]:
    out = [1] * n
    for i in range(1, n):
        out[i] = out[i - 1] * base % R
    return out
