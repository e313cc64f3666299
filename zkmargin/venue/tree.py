"""Off-circuit Poseidon Merkle tree over account leaves (commitment bound to identity): a venue's membership root.

The hashes, their domain tags and why an internal node, an empty slot or another depth
cannot pass for a leaf are defined once, next to the gadget, in zkmargin.gadgets.merkle.

The tree is sparse: only the occupied prefix of each level is stored, and every empty
subtree of height h is the precomputed default empty_nodes(depth)[h]. Building hashes
about n internal nodes for n leaves with a numba kernel on Montgomery limbs
(zkmargin.native._fr_numba), so depth 20 with a full 2^20 leaves takes seconds, not the
~7 minutes of the pure-Python permutation; merkle_node is the pure-Python reference
the kernel is tested against.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from zkmargin.errors import EncodingError
from zkmargin.field import check_scalar
from zkmargin.gadgets.merkle import EMPTY_LEAF, MAX_DEPTH, check_identity, member_leaf, merkle_node, node_tag
from zkmargin.gadgets.poseidon import poseidon_params
from zkmargin.groth16.serialization import parse_decimal
from zkmargin.native._fr_numba import (
    LIMBS,
    MODULUS_LIMBS,
    N0_INV,
    _add_mod,
    _mont_limbs,
    _mont_mul,
    ints_to_limbs,
    limbs_to_ints,
)


def check_depth(depth: int) -> int:
    """depth if it is an int in 1..MAX_DEPTH, else EncodingError."""
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= MAX_DEPTH:
        raise EncodingError(f"Merkle depth must be an integer in 1..{MAX_DEPTH}, got {depth!r}")
    return depth


@functools.cache
def empty_nodes(depth: int) -> tuple[int, ...]:
    """Roots of empty subtrees of height 0..depth (index 0 is EMPTY_LEAF)."""
    nodes = [EMPTY_LEAF]
    for level in range(1, check_depth(depth) + 1):
        nodes.append(merkle_node(nodes[-1], nodes[-1], level))
    return tuple(nodes)


def verify_merkle_path(leaf: int, index: int, siblings: Sequence[int], root: int, depth: int) -> bool:
    """Off-circuit check that a nonzero leaf sits at index under root; malformed input raises EncodingError."""
    check_depth(depth)
    check_scalar(leaf, "leaf")
    check_scalar(root, "root")
    if len(siblings) != depth:
        raise EncodingError(f"a path at depth {depth} has {depth} siblings, got {len(siblings)}")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 2**depth:
        raise EncodingError(f"leaf index must be in [0, 2^{depth}), got {index!r}")
    if leaf == EMPTY_LEAF:
        return False
    node = leaf
    for level, sibling in enumerate(siblings, start=1):
        check_scalar(sibling, f"sibling {level - 1}")
        node = merkle_node(sibling, node, level) if (index >> (level - 1)) & 1 else merkle_node(node, sibling, level)
    return node == root


class MerkleTree:
    """A sparse Poseidon Merkle tree of fixed depth over leaves 0..n-1 (the rest empty)."""

    def __init__(self, leaves: Sequence[int], depth: int) -> None:
        check_depth(depth)
        if not leaves:
            raise EncodingError("a Merkle tree needs at least one leaf")
        if len(leaves) > 2**depth:
            raise EncodingError(f"{len(leaves)} leaves do not fit a tree of depth {depth} ({2**depth} slots)")
        for i, leaf in enumerate(leaves):
            check_scalar(leaf, f"leaf {i}")
            if leaf == EMPTY_LEAF:
                raise EncodingError(f"leaf {i} is 0, the empty-slot value; a commitment is never 0")
        self.depth = depth
        self.size = len(leaves)
        self._empty = empty_nodes(depth)
        # levels[h]: Montgomery limbs of the occupied prefix of level h (h = 0 leaves).
        self._levels: list[np.ndarray] = _fold_levels(ints_to_limbs(list(leaves)), 0, depth)
        self._plain: list[list[int]] | None = None
        self.root = limbs_to_ints(self._levels[depth])[0]

    def _node(self, level: int, index: int) -> int:
        stored = self._levels[level]
        if index >= stored.shape[0]:
            return self._empty[level]
        if self._plain is None:
            # Paths are read for every account: convert each level once, not each node.
            self._plain = [limbs_to_ints(stored_level) for stored_level in self._levels]
        return self._plain[level][index]

    def node(self, level: int, index: int) -> int:
        """The node at level 0..depth and index (an empty subtree's root beyond the occupied prefix)."""
        if not isinstance(level, int) or not 0 <= level <= self.depth:
            raise EncodingError(f"level must lie in 0..{self.depth}, got {level!r}")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 2 ** (self.depth - level):
            raise EncodingError(f"index at level {level} must lie in [0, 2^{self.depth - level}), got {index!r}")
        return self._node(level, index)

    def leaf(self, index: int) -> int:
        """The leaf at index (EMPTY_LEAF beyond the occupied prefix)."""
        self._check_index(index)
        return self._node(0, index)

    def path(self, index: int) -> list[int]:
        """Siblings of the leaf at index, from level 0 up to (not including) the root."""
        self._check_index(index)
        return [self._node(level, (index >> level) ^ 1) for level in range(self.depth)]

    def _check_index(self, index: int) -> None:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 2**self.depth:
            raise EncodingError(f"leaf index must be in [0, 2^{self.depth}), got {index!r}")


def _fold_levels(nodes: np.ndarray, level: int, depth: int) -> list[np.ndarray]:
    """The occupied prefix of every level from level (nodes, Montgomery limbs) up to depth, empty nodes beyond."""
    empty = empty_nodes(depth)
    levels = [nodes]
    params = _kernel_params()
    for above in range(level + 1, depth + 1):
        below = levels[-1]
        if below.shape[0] % 2:
            below = np.concatenate([below, ints_to_limbs([empty[above - 1]])])
        out = np.zeros((below.shape[0] // 2, LIMBS), dtype=np.uint64)
        _hash_level(below, _mont_limbs(node_tag(above)), params, out)
        levels.append(out)
    return levels


def subtree_root(nodes: Sequence[int], level: int, depth: int) -> int:
    """The node at depth over nodes at level, left-aligned, the rest of that level empty subtrees.

    subtree_root(leaves, 0, depth) is merkle_root(leaves, depth) but takes EMPTY_LEAF among the leaves
    (a book batch's padding slots); subtree_root(batch_nodes, b, depth) folds level-b nodes to the root.
    """
    check_depth(depth)
    if not isinstance(level, int) or not 0 <= level <= depth:
        raise EncodingError(f"a subtree's level must lie in 0..{depth}, got {level!r}")
    if not nodes or len(nodes) > 1 << (depth - level):
        raise EncodingError(f"1 .. 2^{depth - level} nodes of level {level} fit a tree of depth {depth}, "
                            f"got {len(nodes)}")
    for i, node in enumerate(nodes):
        check_scalar(node, f"node {i}")
    return limbs_to_ints(_fold_levels(ints_to_limbs(list(nodes)), level, depth)[-1])[0]


@functools.cache
def _kernel_params() -> tuple:
    """Round constants and MDS of Poseidon width 3 as Montgomery limbs, plus the round schedule."""
    params = poseidon_params(3)
    constants = ints_to_limbs(list(params.round_constants))
    mds = ints_to_limbs([m for row in params.mds for m in row])
    half = params.full_rounds // 2
    return constants, mds, half, params.partial_rounds, params.full_rounds + params.partial_rounds, MODULUS_LIMBS, N0_INV


PARALLEL_MIN_NODES = 4096
"""Levels at least this wide are split across threads (the kernel releases the GIL)."""


def _hash_level(children: np.ndarray, tag: np.ndarray, params: tuple, out: np.ndarray) -> None:
    n = out.shape[0]
    workers = min(os.cpu_count() or 1, max(1, n // PARALLEL_MIN_NODES))
    bounds = [n * w // workers for w in range(workers + 1)]

    def run(a: int, b: int) -> None:
        _hash_pairs(children[2 * a : 2 * b], tag, *params, out[a:b])  # type: ignore[call-arg]

    if workers == 1:
        run(0, n)
        return
    with ThreadPoolExecutor(workers) as pool:
        for job in [pool.submit(run, a, b) for a, b in zip(bounds, bounds[1:])]:
            job.result()


@njit(cache=True, nogil=True)
def _hash_pairs(children: np.ndarray, tag: np.ndarray, constants: np.ndarray, mds: np.ndarray, half: int, partial: int,
                rounds: int, p: np.ndarray, n0inv: np.uint64, out: np.ndarray) -> None:
    """out[k] = P([tag, children[2k], children[2k + 1]])[1], all in Montgomery form."""
    t = np.zeros(LIMBS + 2, dtype=np.uint64)
    s = np.zeros(LIMBS, dtype=np.uint64)
    words = np.zeros((3, LIMBS), dtype=np.uint64)
    mixed = np.zeros((3, LIMBS), dtype=np.uint64)
    x2 = np.zeros(LIMBS, dtype=np.uint64)
    x4 = np.zeros(LIMBS, dtype=np.uint64)
    prod = np.zeros(LIMBS, dtype=np.uint64)
    for k in range(out.shape[0]):
        for q in range(LIMBS):
            words[0, q] = tag[q]
            words[1, q] = children[2 * k, q]
            words[2, q] = children[2 * k + 1, q]
        for r in range(rounds):
            for i in range(3):
                _add_mod(words[i], constants[3 * r + i], words[i], p, s)
            partial_round = half <= r < half + partial
            for i in range(1 if partial_round else 3):
                _mont_mul(words[i], words[i], x2, p, n0inv, t)
                _mont_mul(x2, x2, x4, p, n0inv, t)
                _mont_mul(x4, words[i], words[i], p, n0inv, t)
            for i in range(3):
                for q in range(LIMBS):
                    mixed[i, q] = 0
                for j in range(3):
                    _mont_mul(mds[3 * i + j], words[j], prod, p, n0inv, t)
                    _add_mod(mixed[i], prod, mixed[i], p, s)
            for i in range(3):
                for q in range(LIMBS):
                    words[i, q] = mixed[i, q]
        for q in range(LIMBS):
            out[k, q] = words[1, q]


def member_leaves(accounts: Sequence[tuple[str, int, int]]) -> list[int]:
    """The tree leaf of each (where, commitment, identity); EncodingError naming the place of an identity that is
    0 or secret 0's (check_identity), and both places when an identity repeats."""
    seen: dict[int, str] = {}
    leaves = []
    for where, commitment, identity in accounts:
        try:
            check_identity(identity)
        except EncodingError as exc:
            raise EncodingError(f"{where}: {exc}") from None
        if identity in seen:
            # One identity in two leaves would give its owner two nullifiers in every scope.
            raise EncodingError(f"{where}: identity {identity} is already another account's (at {seen[identity]}); "
                                "each account needs its own")
        seen[identity] = where
        leaves.append(member_leaf(commitment, identity))
    return leaves


def merkle_root(leaves: Sequence[int], depth: int) -> int:
    """Root of the depth-level tree over leaves (the rest empty)."""
    return MerkleTree(leaves, depth).root



MERKLE_PATH_FORMAT = "zkmargin-merkle-path/1"


@dataclass(frozen=True)
class MerklePath:
    """An account's place in a venue's tree: what its owner needs to prove membership privately."""

    account_id: str
    leaf: int
    index: int
    siblings: tuple[int, ...]
    root: int
    depth: int

    def verify(self) -> bool:
        """True when the leaf hashes up to root through the siblings."""
        return verify_merkle_path(self.leaf, self.index, self.siblings, self.root, self.depth)


def merkle_path_to_json(path: MerklePath) -> dict:
    """The path document (decimal field elements)."""
    return {
        "format": MERKLE_PATH_FORMAT,
        "account_id": path.account_id,
        "depth": path.depth,
        "index": path.index,
        "leaf": str(path.leaf),
        "siblings": [str(s) for s in path.siblings],
        "root": str(path.root),
    }


def parse_merkle_path(obj: Any) -> MerklePath:
    """A path document; raises EncodingError naming the field (length = depth, index < 2^depth, values < r)."""
    if not isinstance(obj, dict) or obj.get("format") != MERKLE_PATH_FORMAT:
        raise EncodingError(f"not a Merkle path document (format {MERKLE_PATH_FORMAT})")
    fields = {"format", "account_id", "depth", "index", "leaf", "siblings", "root"}
    if set(obj) != fields:
        raise EncodingError(f"Merkle path: fields must be exactly {sorted(fields)}")
    depth = obj["depth"]
    if isinstance(depth, bool) or not isinstance(depth, int):
        raise EncodingError("Merkle path: depth must be an integer")
    check_depth(depth)
    index = obj["index"]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 2**depth:
        raise EncodingError(f"Merkle path: index must be an integer in [0, 2^{depth})")
    siblings = obj["siblings"]
    if not isinstance(siblings, list) or len(siblings) != depth:
        raise EncodingError(f"Merkle path: siblings must be a list of exactly {depth} (the depth) values")
    if not isinstance(obj["account_id"], str) or not obj["account_id"]:
        raise EncodingError("Merkle path: account_id must be a non-empty string")
    return MerklePath(
        obj["account_id"],
        _element(obj["leaf"], "leaf"),
        index,
        tuple(_element(s, f"siblings[{i}]") for i, s in enumerate(siblings)),
        _element(obj["root"], "root"),
        depth,
    )


def _element(value: Any, field: str) -> int:
    return check_scalar(parse_decimal(value, f"Merkle path: {field}"), f"Merkle path: {field}")
