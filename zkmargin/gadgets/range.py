"""Range checks and comparisons on range-checked values.

Every gadget here states its precondition; outside it, the gadget is unsound or
incomplete exactly as described. Costs are in rank-1 constraints.
"""

from __future__ import annotations

from zkmargin.errors import CircuitError
from zkmargin.r1cs import ConstraintSystem, LinearCombination

MAX_BITS = 252
"""Widths up to 252 leave room for the offsets below without reaching r (> 2^254)."""


def _check_width(n_bits: int, label: str) -> None:
    if not 1 <= n_bits <= MAX_BITS:
        raise CircuitError(f"{label}: widths must lie in [1, {MAX_BITS}], got {n_bits}")


def assert_unsigned(cs: ConstraintSystem, x: LinearCombination, n_bits: int, label: str) -> list[LinearCombination]:
    """Enforce x in [0, 2^n_bits); returns the little-endian bits. Cost n_bits + 1.

    Sound for any field element x: a value outside the range has no such bits.
    """
    _check_width(n_bits, label)
    return cs.to_bits(x, n_bits, label)


def assert_signed(cs: ConstraintSystem, x: LinearCombination, n_bits: int, label: str) -> list[LinearCombination]:
    """Enforce x in [-2^(n_bits-1), 2^(n_bits-1)) (negatives as r - |x|); returns bits of x + 2^(n_bits-1).

    The top returned bit is 1 exactly when x >= 0. Cost n_bits + 1.
    """
    _check_width(n_bits, label)
    return cs.to_bits(x + (1 << (n_bits - 1)), n_bits, label)


def assert_less_or_equal(
    cs: ConstraintSystem, a: LinearCombination, b: LinearCombination, n_bits: int, label: str
) -> None:
    """Enforce a <= b by range-checking b - a in [0, 2^n_bits). Cost n_bits + 1.

    The CALLER must already have range-checked a and b to [0, 2^n_bits): like
    circomlib's LessThan, this gadget on raw field elements proves nothing
    (b - a wraps modulo r).
    """
    _check_width(n_bits, label)
    cs.to_bits(b - a, n_bits, label)


def is_less_than(
    cs: ConstraintSystem, a: LinearCombination, b: LinearCombination, n_bits: int, label: str
) -> LinearCombination:
    """Boolean (a < b) for a, b in [0, 2^n_bits) (the CALLER range-checks them). Cost n_bits + 2.

    a - b + 2^n_bits lies in [1, 2^(n_bits+1)); its top bit is 1 exactly when a >= b.
    """
    _check_width(n_bits, label)
    bits = cs.to_bits(a - b + (1 << n_bits), n_bits + 1, label)
    return cs.one - bits[-1]


def abs_value(
    cs: ConstraintSystem, x: LinearCombination, n_bits: int, label: str
) -> tuple[LinearCombination, LinearCombination]:
    """(|x|, sign bit: 1 when x >= 0) for signed x, which this gadget range-checks. Cost n_bits + 2."""
    bits = assert_signed(cs, x, n_bits, label)
    non_negative = bits[-1]
    magnitude = cs.mul(x, non_negative * 2 - 1, f"{label}/abs")
    return magnitude, non_negative
