"""Poseidon Merkle trees: a venue can publish one root over its accounts' commitments, and a
proof can show its commitment is a leaf without revealing which.

node = Poseidon_3([MERKLE_TAG, left, right])[1]; the tag (a capacity element distinct from
every commitment sponge tag, whose top word is the statement version >= 1 shifted by 64 bits
plus a capacity) keeps tree nodes and account commitments apart. Trees are padded with zero
leaves to a power of two. In-circuit membership costs depth * (1 + 243) constraints plus a
boolean check per index bit.
"""

from __future__ import annotations

from collections.abc import Sequence

from zkmargin.errors import CircuitError, EncodingError
from zkmargin.field import R
from zkmargin.gadgets.poseidon import poseidon_permutation
from zkmargin.gadgets.poseidon_gadget import poseidon_permutation_gadget
from zkmargin.r1cs import ConstraintSystem, LinearCombination

MERKLE_TAG = 0x6D65726B6C65  # "merkle": below 2^64, so it never equals a commitment domain tag
MAX_DEPTH = 32


def merkle_node(left: int, right: int) -> int:
    """The parent of two nodes."""
    return poseidon_permutation([MERKLE_TAG, left, right], 3)[1]


def _levels(leaves: Sequence[int]) -> list[list[int]]:
    if not leaves:
        raise EncodingError("a Merkle tree needs at least one leaf")
    if any(not isinstance(v, int) or not 0 <= v < R for v in leaves):
        raise EncodingError("Merkle leaves must be field elements")
    size = 1
    while size < len(leaves):
        size *= 2
    if size > 2**MAX_DEPTH:
        raise EncodingError(f"at most 2^{MAX_DEPTH} leaves")
    level = list(leaves) + [0] * (size - len(leaves))
    levels = [level]
    while len(level) > 1:
        level = [merkle_node(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        levels.append(level)
    return levels


def merkle_root(leaves: Sequence[int]) -> int:
    """Root of the zero-padded tree."""
    return _levels(leaves)[-1][0]


def merkle_path(leaves: Sequence[int], index: int) -> list[int]:
    """Siblings from the leaf up to (not including) the root."""
    levels = _levels(leaves)
    if not 0 <= index < len(leaves):
        raise EncodingError(f"leaf index {index} is outside the tree")
    path = []
    for level in levels[:-1]:
        path.append(level[index ^ 1])
        index //= 2
    return path


def verify_merkle_path(leaf: int, index: int, siblings: Sequence[int], root: int) -> bool:
    """Out-of-circuit check of a path."""
    node = leaf
    for sibling in siblings:
        node = merkle_node(sibling, node) if index & 1 else merkle_node(node, sibling)
        index //= 2
    return node == root and index == 0


def merkle_membership_gadget(
    cs: ConstraintSystem,
    leaf: LinearCombination,
    index_bits: Sequence[LinearCombination],
    siblings: Sequence[LinearCombination],
    root: LinearCombination,
    label: str = "merkle",
) -> None:
    """Enforce that leaf sits at the (private) index under root; index_bits are little-endian and checked boolean."""
    if len(index_bits) != len(siblings) or not 1 <= len(siblings) <= MAX_DEPTH:
        raise CircuitError(f"{label}: one index bit per sibling, depth 1..{MAX_DEPTH}")
    node = leaf
    with cs.namespace(label):
        for depth, (bit, sibling) in enumerate(zip(index_bits, siblings)):
            cs.assert_bool(bit, f"level{depth}/index_bool")
            # bit = 1: the node is the right child, so left = sibling.
            left = node + cs.mul(bit, sibling - node, f"level{depth}/order")
            right = node + sibling - left
            node = poseidon_permutation_gadget(cs, [cs.constant(MERKLE_TAG), left, right], 3, f"level{depth}")[1]
        cs.assert_equal(node, root, "root")
