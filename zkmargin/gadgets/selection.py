"""Private selection of rows from a public table: an index in [0, N), and either a binary multiplexer tree
(N - 1 constraints a selection) or a log-derivative lookup (about 2 constraints a row for all selections together,
its challenge hashed in-circuit).

A sparse statement's held slot names its instrument by a private index and reads
that instrument's row (packed into one element) from the verifier-supplied table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from zkmargin.errors import CircuitError
from zkmargin.field import R
from zkmargin.gadgets.poseidon_gadget import poseidon_hash_gadget
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
    Cost: len(rows) - 1 for a power of two, at most len(rows) - 1 + len(bits) otherwise (a real node
    paired with padding still costs one).
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


LOOKUP_TAG = 0x6C6F6F6B7570  # "lookup"
"""Domain of the lookup challenge's sponge; the tag also carries the table and query counts (fixed shape)."""
BITS_PER_ELEMENT = 253


def lookup_challenge_tag(n_rows: int, n_queries: int) -> int:
    """LOOKUP_TAG * 2^64 + rows * 2^32 + queries: one sponge shape per table and query count."""
    return (LOOKUP_TAG << 64) | (n_rows << 32) | n_queries


def assert_lookups(
    cs: ConstraintSystem,
    table: Sequence[LinearCombination],
    queries: Sequence[tuple[LinearCombination, LinearCombination]],
    bound: Sequence[LinearCombination],
    value_bits: int,
    label: str,
    multiplicity_bits: int = 1,
) -> None:
    """Every used query value is a row of the table: a log-derivative lookup with its challenge made in-circuit.

    queries are (used, value) pairs; used must be boolean and value below 2^value_bits
    (the caller's range checks), and the table's rows must be distinct. bound are the
    public values that fix the table (its digest, computed by the verifier).

    The prover commits to boolean multiplicities m_j (one per row). The challenge is
    alpha = Poseidon(bound, value_s + used_s 2^value_bits for every query, the m_j packed
    253 to an element), computed by constraints from the very variables below, so the
    prover cannot choose it. With inv_j * (alpha - t_j) = m_j and
    inv_s * (alpha - value_s) = used_s (which fix every inverse when alpha is no row or
    query value), sum_s inv_s = sum_j inv_j says F(alpha) = 0 for
      F(X) = sum_s used_s / (X - value_s) - sum_j m_j / (X - t_j).
    Soundness: if some used value is no row, F has a pole there (its residue is the
    number of used queries with that value, between 1 and the query count < r), so F is
    a non-zero rational function whose numerator has degree below rows + queries, and
    F(alpha) = 0 for at most rows + queries - 1 values of alpha. Modelling Poseidon as a
    random oracle, each distinct hash input gives an independent uniform alpha, so a
    prover that grinds Q witnesses (salts, orderings, multiplicities, anything) wins
    with probability at most Q (rows + queries) / r < Q 2^-240: grinding buys nothing.
    Two used queries naming one row need m_j = 2, which a boolean m_j refuses
    (incomplete only; the caller forbids duplicates anyway).
    With multiplicity_bits = w > 1 each m_j is range-checked to w bits instead (many accounts of a
    book batch read one row: m_j counts them, complete while no row is read 2^w times or more), and
    floor(253 / w) of them are packed to an element, so the absorbed packing is still injective and
    fixes every m_j before alpha; the argument above needs nothing else of m_j (a pole's residue
    counts used queries, never multiplicities).
    Cost: 2 per row (m_j boolean, its inverse; w + 1 with w bits), 1 per query, 1 for the sums, and the
    sponge over len(bound) + queries + ceil(rows / 253) elements (75 per element; rows w / 253 with w bits).
    """
    with cs.namespace(label):
        hint = cs.has_values
        used_values = [v.value for u, v in queries if u.value] if hint else []
        counts = Counter(used_values)
        multiplicities = []
        for j, row in enumerate(table):
            if multiplicity_bits == 1:
                m = cs.alloc(f"multiplicity[{j}]", _hint(lambda row: int(row.value in counts), row) if hint else None)
                cs.assert_bool(m, f"multiplicity[{j}]/bool")
            else:
                m = cs.alloc(f"multiplicity[{j}]", _hint(lambda row: counts[row.value], row) if hint else None)
                cs.to_bits(m, multiplicity_bits, f"multiplicity[{j}]/range")
            multiplicities.append(m)
        per_element = BITS_PER_ELEMENT // multiplicity_bits
        packed_m = [
            cs.pack(multiplicities[start : start + BITS_PER_ELEMENT]) if multiplicity_bits == 1
            else _pack_wide(cs, multiplicities[start : start + per_element], multiplicity_bits)
            for start in range(0, len(multiplicities), per_element)
        ]
        absorbed = [*bound, *(value + used * (1 << value_bits) for used, value in queries), *packed_m]
        alpha = poseidon_hash_gadget(cs, absorbed, lookup_challenge_tag(len(table), len(queries)))

        def inverse(numerator: LinearCombination, point: LinearCombination) -> int:
            # Only rows a slot reads (and used slots) have a non-zero term: P inversions, not N.
            if not numerator.value:
                return 0
            denominator = ((alpha.value or 0) - (point.value or 0)) % R
            return (numerator.value or 0) * pow(denominator, -1, R) % R if denominator else 0

        table_sum = cs.constant(0)
        for j, (row, m) in enumerate(zip(table, multiplicities)):
            term = cs.alloc(f"row_term[{j}]", _hint(inverse, m, row) if hint else None)
            cs.enforce(term, alpha - row, m, f"row_term[{j}]")
            table_sum = table_sum + term
        query_sum = cs.constant(0)
        for s, (used, value) in enumerate(queries):
            term = cs.alloc(f"query_term[{s}]", _hint(inverse, used, value) if hint else None)
            cs.enforce(term, alpha - value, used, f"query_term[{s}]")
            query_sum = query_sum + term
        cs.assert_equal(query_sum, table_sum, "sums_agree")


def _pack_wide(cs: ConstraintSystem, values: Sequence[LinearCombination], width: int) -> LinearCombination:
    """sum values[i] 2^(width i): injective for values range-checked to width bits (no constraint)."""
    packed = cs.constant(0)
    for i, value in enumerate(values):
        packed = packed + value * (1 << (width * i))
    return packed


def _hint(fn: Callable[..., int], *args: LinearCombination) -> Callable[[], int]:
    """fn bound to these variables, run only when solving (a loop's lambdas would all see its last variables)."""
    return lambda: fn(*args)
