"""The off-circuit sparse tree: the numba kernel against the pure-Python reference, paths, strict inputs."""

from __future__ import annotations

import random

import pytest

from zkmargin.errors import EncodingError
from zkmargin.field import R
from zkmargin.gadgets.merkle import EMPTY_LEAF, merkle_node
from zkmargin.venue.tree import MerkleTree, empty_nodes, merkle_root, subtree_root, verify_merkle_path


def reference_root(leaves: list[int], depth: int) -> int:
    """Dense tree in plain Python: every slot hashed, no defaults."""
    level = list(leaves) + [EMPTY_LEAF] * (2**depth - len(leaves))
    for height in range(1, depth + 1):
        level = [merkle_node(level[i], level[i + 1], height) for i in range(0, len(level), 2)]
    return level[0]


@pytest.mark.parametrize("n_leaves, depth", [(1, 1), (2, 1), (1, 4), (5, 3), (8, 3), (7, 4), (16, 4)])
def test_kernel_matches_the_reference(n_leaves, depth):
    rng = random.Random(n_leaves * 100 + depth)
    leaves = [rng.randrange(1, R) for _ in range(n_leaves)]
    tree = MerkleTree(leaves, depth)
    assert tree.root == reference_root(leaves, depth)
    for index in range(2**depth):
        leaf = leaves[index] if index < n_leaves else EMPTY_LEAF
        assert tree.leaf(index) == leaf
        path = tree.path(index)
        assert len(path) == depth
        # Occupied slots verify; empty ones never do, even with their honest path.
        assert verify_merkle_path(leaf, index, path, tree.root, depth) is (index < n_leaves)


def test_field_boundaries_survive_the_limb_encoding():
    leaves = [1, R - 1, 2**255 % R, 2**64, 2**128 + 1]
    assert MerkleTree(leaves, 3).root == reference_root(leaves, 3)


def test_sparse_depth_24_uses_empty_defaults():
    tree = MerkleTree([5, 6, 7], 24)
    assert tree.path(2)[5:] == list(empty_nodes(24)[5:24])
    assert verify_merkle_path(7, 2, tree.path(2), tree.root, 24)
    assert tree.root != MerkleTree([5, 6, 7], 23).root  # each depth its own root


def test_empty_defaults_are_the_reference_hashes():
    nodes = empty_nodes(4)
    assert nodes[0] == EMPTY_LEAF and nodes[4] == reference_root([], 4)


def test_wrong_leaf_index_sibling_or_root_is_not_verified():
    tree = MerkleTree([11, 22, 33], 2)
    path = tree.path(1)
    assert verify_merkle_path(22, 1, path, tree.root, 2)
    assert not verify_merkle_path(23, 1, path, tree.root, 2)
    assert not verify_merkle_path(22, 0, path, tree.root, 2)
    assert not verify_merkle_path(22, 1, [path[0], path[1] + 1], tree.root, 2)
    assert not verify_merkle_path(22, 1, path, (tree.root + 1) % R, 2)


@pytest.mark.parametrize("leaves, depth, match", [
    ([R], 2, r"\[0, r\)"),
    ([-1], 2, r"\[0, r\)"),
    ([3, 0], 2, "empty-slot"),
    ([1, 2, 3, 4, 5], 2, "do not fit"),
    ([], 2, "at least one"),
    ([1], 0, "depth"),
    ([1], 33, "depth"),
    (["1"], 2, "integer"),
])
def test_bad_trees_are_refused(leaves, depth, match):
    with pytest.raises(EncodingError, match=match):
        MerkleTree(leaves, depth)


def test_bad_paths_raise_instead_of_verifying():
    tree = MerkleTree([11, 22, 33], 2)
    path = tree.path(0)
    with pytest.raises(EncodingError, match="siblings"):
        verify_merkle_path(11, 0, path[:1], tree.root, 2)
    with pytest.raises(EncodingError, match="siblings"):
        verify_merkle_path(11, 0, [*path, 0], tree.root, 2)
    with pytest.raises(EncodingError):
        verify_merkle_path(11, 0, [path[0] + R, path[1]], tree.root, 2)
    with pytest.raises(EncodingError):
        verify_merkle_path(11 + R, 0, path, tree.root, 2)
    with pytest.raises(EncodingError, match="index"):
        verify_merkle_path(11, 4, path, tree.root, 2)
    with pytest.raises(EncodingError, match="index"):
        tree.path(4)
    with pytest.raises(EncodingError, match="index"):
        tree.path(-1)


def test_merkle_root_is_the_tree_root():
    assert merkle_root([9, 8, 7], 3) == MerkleTree([9, 8, 7], 3).root


def test_path_documents_round_trip_and_parse_strictly():
    from zkmargin.venue.tree import MerklePath, merkle_path_to_json, parse_merkle_path

    tree = MerkleTree([11, 22, 33], 3)
    path = MerklePath("alice", 22, 1, tuple(tree.path(1)), tree.root, 3)
    doc = merkle_path_to_json(path)
    assert parse_merkle_path(doc) == path and path.verify()
    for change in ({"siblings": doc["siblings"][:2]}, {"siblings": [*doc["siblings"], "0"]}, {"index": 8},
                   {"index": -1}, {"index": True}, {"depth": 0}, {"leaf": str(R)}, {"root": str(R + 5)},
                   {"siblings": [str(R), *doc["siblings"][1:]]}, {"leaf": "0x16"}, {"extra": 1},
                   {"format": "other"}, {"account_id": ""}):
        with pytest.raises(EncodingError):
            parse_merkle_path({**doc, **change})
    assert not parse_merkle_path({**doc, "leaf": "23"}).verify()


def test_levels_split_across_threads_hash_the_same(monkeypatch):
    import zkmargin.venue.tree as merkle_tree

    rng = random.Random(7)
    leaves = [rng.randrange(1, R) for _ in range(37)]
    monkeypatch.setattr(merkle_tree, "PARALLEL_MIN_NODES", 2)
    monkeypatch.setattr(merkle_tree.os, "cpu_count", lambda: 3)
    assert MerkleTree(leaves, 6).root == reference_root(leaves, 6)


@pytest.mark.parametrize(("n_leaves", "level"), [(5, 0), (5, 1), (5, 2), (7, 3), (1, 2)])
def test_inner_nodes_and_subtree_roots_agree_with_the_reference(n_leaves, level):
    """tree.node(level, i) is the reference root of leaf slice i (EMPTY_LEAF padded); subtree_root folds level nodes
    to the same root, and takes EMPTY_LEAF among its nodes (a book batch's padding slots)."""
    rng = random.Random(n_leaves * 10 + level)
    depth = 4
    leaves = [rng.randrange(1, R) for _ in range(n_leaves)]
    tree = MerkleTree(leaves, depth)
    width = 1 << level
    nodes = []
    for i in range(1 << (depth - level)):
        part = leaves[i * width:(i + 1) * width]
        expected = reference_root(part + [EMPTY_LEAF] * (width - len(part)), level) if level else (
            leaves[i] if i < n_leaves else EMPTY_LEAF)
        assert tree.node(level, i) == expected
        nodes.append(expected)
    occupied = nodes[:max(1, -(-n_leaves // width))]
    assert subtree_root(occupied, level, depth) == subtree_root(nodes, level, depth) == tree.root
    assert subtree_root([*leaves[:1], EMPTY_LEAF, *leaves[1:]], 0, depth) == reference_root(
        [*leaves[:1], EMPTY_LEAF, *leaves[1:]] + [EMPTY_LEAF] * (15 - n_leaves), depth)
    with pytest.raises(EncodingError):
        tree.node(level, 1 << (depth - level))
    with pytest.raises(EncodingError):
        tree.node(depth + 1, 0)
    with pytest.raises(EncodingError):
        subtree_root(nodes + [1], level, depth)
