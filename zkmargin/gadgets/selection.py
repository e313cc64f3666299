"""Private selection of one row from a public table: an index in [0, N) and a binary multiplexer tree.

A sparse statement's held slot names its instrument by a private index and reads
that instrument's row (packed into one element) from the verifier-supplied table.
The index is range-checked, the tree is driven by its bits, so the selected value
is exactly table[index]; nothing outside [0, N) can be named.
"""

from __future__ import annotations

from collections.abc import Sequence

from zkmargin.errors import CircuitError
from zkmargin.r1cs import ConstraintSystem, LinearCombination


def index_bits_for(n_rows: int) -> int:
    """Bits of an index into n_rows rows (at least 1)."""
    if n_rows < 1:
        raise CircuitError("a table has at least one row")
    return max(1, (n_rows - 1).bit_length())


def assert_index(cs: ConstraintSystem, index: LinearCombination, n_rows: int, label: str) -> list[LinearCombination]:
    """Enforce index in [0, n_rows); return its little-endian bits (b = index_bits_for(n_rows)).

    Sound for any field element: index + n_rows has no b-bit decomposition below
    n_rows, and index + r is the same field element (values >= r never reach a
    variable unreduced: witness builders refuse them). The bits are boolean and sum
    to index, so a non-boolean bit pattern has no assignment.
    Cost: b + 1, plus b + 1 more when n_rows is not a power of two (n_rows - 1 - index in b bits).
    """
    width = index_bits_for(n_rows)
    bits = cs.to_bits(index, width, f"{label}/bits")
    if n_rows != 1 << width:
        cs.to_bits(cs.constant(n_rows - 1) - index, width, f"{label}/below_rows")
    return bits


def mux_tree(
    cs: ConstraintSystem, bits: Sequence[LinearCombination], rows: Sequence[LinearCombination], label: str
) -> LinearCombination:
    """rows[sum bits[h] 2^h]: a binary tree of 2-to-1 multiplexers, leaves padded with 0 up to 2^len(bits).

    Preconditions: the bits are boolean (assert_index makes them so) and
    len(rows) <= 2^len(bits). Each node is lo + bit * (hi - lo): with a boolean bit
    it is lo or hi exactly. A pair of padding leaves is folded to 0 without a
    constraint (the padding is fixed by the shape, so setup and proving agree).
    Cost: len(rows) - 1 constraints at most.
    """
    if not rows or len(rows) > 1 << len(bits):
        raise CircuitError(f"{label}: {len(rows)} rows do not fit {len(bits)} index bits")
    level: list[LinearCombination | None] = list(rows) + [None] * ((1 << len(bits)) - len(rows))
    for h, bit in enumerate(bits):
        nxt: list[LinearCombination | None] = []
        for pair in range(len(level) // 2):
            lo, hi = level[2 * pair], level[2 * pair + 1]
            if lo is None and hi is None:
                nxt.append(None)
                continue
            lo_lc = cs.constant(0) if lo is None else lo
            hi_lc = cs.constant(0) if hi is None else hi
            nxt.append(lo_lc + cs.mul(bit, hi_lc - lo_lc, f"{label}/level[{h}][{pair}]"))
        level = nxt
    root = level[0]
    return cs.constant(0) if root is None else root
