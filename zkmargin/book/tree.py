"""The book tree: a Poseidon Merkle-sum tree over every account of one snapshot.

Hashes (the width-5 sponge of zkmargin.gadgets.poseidon, in and out of circuit):
  leaf         = H_tag(0)(commitment, sums)   sums = BookSums.as_fields(): K + 5 + 2J figures
  node at h    = H_tag(h)(left, left's sums, right, right's sums), h = 1 .. depth
  tag(h)       = "book" * 2^48 + h * 2^32 + K
A node's sums are the sums of its children's sums. A node hash binds EACH child's sums, not
only their total: with the total alone (Maxwell's summation tree) a venue can show trader A
sibling B with sums B - A and trader B sibling A with zero sums, and both paths lead to a
root that counts only B. Hashing both children's sums (as Summa and the Maxwell+ analyses
do) makes a sibling's sums the ones hashed, and every sum is checked non-negative and
bounded for its height (check_sums), so a path alone shows that the root's totals include
the leaf's figures in full: each total is the leaf's figure plus non-negative siblings'. The commitment is the account's attested
cross commitment (the one its trader proves against). A padding slot is (0, zero sums); an
empty subtree of height h is the node of two empty subtrees of height h - 1 with zero sums,
the same value the batch circuit computes for padding.

Domain separation: the tag differs per level and per asset count, so a node never passes as
a leaf or as a node of another height; it is at least 2^78, above every account commitment
tag (statement * 2^64 + N * 2^32 + K with statement < 2^14).

No sum wraps: every leaf figure is below 2^230 (deposits below 2^64; accounts and below at
most 1) and a tree has at most 2^MAX_BOOK_DEPTH leaves, so every total is below 2^254 < r.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from zkmargin.book.reference import MAX_BOOK_DEPTH, BookSums, zero_sums
from zkmargin.errors import EncodingError
from zkmargin.field import R
from zkmargin.gadgets.poseidon import poseidon_hash

BOOK_TAG = 0x626F6F6B  # "book"
EMPTY_LEAF = 0


def book_tag(level: int, n_assets: int) -> int:
    """Sponge tag of a leaf (level 0) or a node at level 1..MAX_BOOK_DEPTH of a book over n_assets assets."""
    if not 0 <= level <= MAX_BOOK_DEPTH or not 1 <= n_assets < 2**32:
        raise EncodingError(f"book level must be 0..{MAX_BOOK_DEPTH} and assets 1..2^32-1")
    return (BOOK_TAG << 48) | (level << 32) | n_assets


def check_depth(depth: int) -> int:
    """depth if it is an int in 0..MAX_BOOK_DEPTH, else EncodingError."""
    if not isinstance(depth, int) or isinstance(depth, bool) or not 0 <= depth <= MAX_BOOK_DEPTH:
        raise EncodingError(f"book depth must be an integer in 0..{MAX_BOOK_DEPTH}, got {depth!r}")
    return depth


def leaf_hash(commitment: int, sums: BookSums) -> int:
    """The leaf of an account: its attested commitment and its sums."""
    if not 0 <= commitment < R:
        raise EncodingError("commitment must lie in [0, r)")
    return poseidon_hash([commitment, *sums.as_fields()], book_tag(0, sums.n_assets))


@dataclass(frozen=True)
class BookNode:
    """A hash and the sums of the subtree under it (a leaf is a node of level 0)."""

    hash: int
    sums: BookSums


def check_sums(level: int, sums: BookSums) -> BookSums:
    """sums if every figure is an integer in [0, bound * 2^level) for its leaf bound (BookSums.leaf_bits: counts 1,
    deposits 2^64, scale-1e32 figures 2^230) and the census adds up, else EncodingError: a subtree of height level
    holds at most 2^level leaves."""
    values, bits = sums.as_fields(), sums.leaf_bits()
    if len(values) != len(bits):
        raise EncodingError(f"a subtree of height {level} carries {len(values)} figures, not {len(bits)}")
    for value, leaf_bits in zip(values, bits):
        bound = sum_bound(level, leaf_bits)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= bound:
            raise EncodingError(f"a sum of a subtree of height {level} must lie in 0 .. {bound}, got {value!r}")
    if not sums.census_adds_up():
        # Each leaf's census is its below and shortfall in one bucket, so every subtree's adds up too.
        raise EncodingError(f"a subtree of height {level}: the census by size does not add up to its below "
                            "maintenance count and shortfall")
    return sums


def sum_bound(level: int, leaf_bits: int) -> int:
    """The largest sum of a subtree of height level over one figure whose leaf value is at most 2^leaf_bits - 1
    (counts: leaf_bits 0, at most 1): 2^level leaves at their maximum."""
    return (1 << level) * ((1 << leaf_bits) - (leaf_bits > 0))


def sum_bits(level: int, n_assets: int) -> tuple[int, ...]:
    """Per figure of BookSums.as_fields, the bits that hold check_sums's bound (sum_bound) at this height."""
    return tuple(sum_bound(level, b).bit_length() for b in zero_sums(n_assets).leaf_bits())


def parent(level: int, left: BookNode, right: BookNode) -> BookNode:
    """The node at level above two children of level - 1 (EncodingError if a child's sums are out of bounds)."""
    left_sums, right_sums = check_sums(level - 1, left.sums), check_sums(level - 1, right.sums)
    digest = poseidon_hash([left.hash, *left_sums.as_fields(), right.hash, *right_sums.as_fields()],
                           book_tag(level, left_sums.n_assets))
    return BookNode(digest, left_sums + right_sums)


@functools.cache
def empty_node(level: int, n_assets: int) -> BookNode:
    """The root of an empty subtree of height level (level 0: a padding slot)."""
    if level == 0:
        return BookNode(EMPTY_LEAF, zero_sums(n_assets))
    below = empty_node(level - 1, n_assets)
    return parent(level, below, below)


def fold(nodes: Sequence[BookNode], start_level: int, depth: int, n_assets: int) -> list[list[BookNode]]:
    """Every level from start_level to depth over nodes of start_level (padded with empty subtrees)."""
    check_depth(depth)
    if not 0 <= start_level <= depth:
        raise EncodingError(f"start level {start_level} is outside 0..{depth}")
    if len(nodes) > 1 << (depth - start_level):
        raise EncodingError(f"{len(nodes)} nodes do not fit under a root at level {depth}")
    levels = [list(nodes)]
    for level in range(start_level + 1, depth + 1):
        below = levels[-1]
        if len(below) % 2:
            below = [*below, empty_node(level - 1, n_assets)]
        levels.append([parent(level, below[i], below[i + 1]) for i in range(0, len(below), 2)]
                      or [empty_node(level, n_assets)])
    return levels


@dataclass(frozen=True)
class BookPath:
    """A leaf's inclusion path: its sibling at each level (hash and sums), bottom up, and the root it leads to."""

    index: int
    leaf: BookNode
    siblings: tuple[BookNode, ...]
    root: BookNode

    def computed_root(self) -> BookNode:
        """The root these siblings lead to from the leaf."""
        node = self.leaf
        for height, sibling in enumerate(self.siblings):
            bit = (self.index >> height) & 1
            node = parent(height + 1, sibling, node) if bit else parent(height + 1, node, sibling)
        return node

    def verify(self) -> bool:
        """True when the path leads from the leaf to the root, hash and sums, and the index fits the depth."""
        if not 0 <= self.index < 1 << len(self.siblings):
            return False
        try:
            return self.computed_root() == self.root
        except EncodingError:  # a sum out of bounds for its height
            return False


class BookTree:
    """A complete book tree of depth levels over leaves (padded with padding slots)."""

    def __init__(self, leaves: Sequence[BookNode], depth: int, n_assets: int) -> None:
        self.depth = check_depth(depth)
        self.n_assets = n_assets
        self.levels = fold(leaves, 0, depth, n_assets)

    @property
    def root(self) -> BookNode:
        """The root: hash and totals."""
        return self.levels[-1][0]

    def node(self, level: int, index: int) -> BookNode:
        """The node at (level, index); empty subtrees where nothing was placed."""
        row = self.levels[level]
        if not 0 <= index < 1 << (self.depth - level):
            raise EncodingError(f"index {index} is outside level {level}")
        return row[index] if index < len(row) else empty_node(level, self.n_assets)

    def path(self, index: int) -> BookPath:
        """The inclusion path of the leaf at index."""
        siblings = tuple(self.node(h, (index >> h) ^ 1) for h in range(self.depth))
        return BookPath(index, self.node(0, index), siblings, self.root)
