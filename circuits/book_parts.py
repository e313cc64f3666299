"""Parts the book statements share (circuits.book_batch, circuits.book_top): a node of the book tree in-circuit."""

from __future__ import annotations

from collections.abc import Sequence

from zkmargin.book.tree import book_tag
from zkmargin.gadgets.poseidon_gadget import poseidon_hash_gadget
from zkmargin.r1cs import ConstraintSystem, LinearCombination

Node = tuple[LinearCombination, Sequence[LinearCombination]]
"""An in-circuit node: its hash and its sums (in BookSums.as_fields order)."""


def book_parent(cs: ConstraintSystem, level: int, n_assets: int, left: Node, right: Node) -> tuple[
        LinearCombination, list[LinearCombination]]:
    """The node at level over two children (zkmargin.book.tree.parent): H(left, its sums, right, its sums) and the
    sums added. Checks no range: the caller range-checks every sum it adds (each under tree.check_sums's bound)."""
    # Both children's sums are hashed, not only their total (zkmargin.book.tree, Maxwell's flaw).
    digest = poseidon_hash_gadget(cs, [left[0], *left[1], right[0], *right[1]], book_tag(level, n_assets))
    return digest, [a + b for a, b in zip(left[1], right[1])]
