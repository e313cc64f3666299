"""Poseidon Merkle trees in and out of circuit."""

from __future__ import annotations

import pytest

from zkmargin.errors import CircuitError, EncodingError
from zkmargin.field import R
from zkmargin.gadgets.merkle import (
    merkle_membership_gadget,
    merkle_path,
    merkle_root,
    verify_merkle_path,
)
from zkmargin.r1cs import ConstraintSystem

LEAVES = [11, 22, 33, 44, 55]  # padded to 8


def membership(leaf: int, index: int, siblings: list[int], root: int) -> str | None:
    cs = ConstraintSystem("check")
    bits = [cs.private_input(f"bit{i}", (index >> i) & 1) for i in range(len(siblings))]
    merkle_membership_gadget(
        cs, cs.private_input("leaf", leaf), bits,
        [cs.private_input(f"sib{i}", s) for i, s in enumerate(siblings)], cs.public_input("root", root))
    return cs.which_is_unsatisfied()


@pytest.mark.parametrize("index", range(len(LEAVES)))
def test_every_leaf_is_a_member(index):
    root = merkle_root(LEAVES)
    path = merkle_path(LEAVES, index)
    assert len(path) == 3 and verify_merkle_path(LEAVES[index], index, path, root)
    assert membership(LEAVES[index], index, path, root) is None


def test_wrong_leaf_index_or_sibling_fails():
    root = merkle_root(LEAVES)
    path = merkle_path(LEAVES, 2)
    assert membership(34, 2, path, root) == "merkle/root"
    assert membership(33, 3, path, root) == "merkle/root"
    assert membership(33, 2, [path[0] + 1, *path[1:]], root) == "merkle/root"
    assert not verify_merkle_path(33, 2, path, (root + 1) % R)


def test_non_boolean_index_bit_is_caught():
    root = merkle_root(LEAVES)
    path = merkle_path(LEAVES, 0)
    cs = ConstraintSystem("check")
    bits = [cs.private_input("b0", 2), cs.private_input("b1", 0), cs.private_input("b2", 0)]
    merkle_membership_gadget(cs, cs.private_input("leaf", 11), bits,
                             [cs.private_input(f"s{i}", s) for i, s in enumerate(path)], cs.public_input("root", root))
    assert cs.which_is_unsatisfied() == "merkle/level0/index_bool"


def test_bad_inputs():
    with pytest.raises(EncodingError):
        merkle_root([])
    with pytest.raises(EncodingError):
        merkle_path(LEAVES, 5)
    with pytest.raises(EncodingError):
        merkle_root([R])
    cs = ConstraintSystem("setup")
    with pytest.raises(CircuitError):
        merkle_membership_gadget(cs, cs.private_input("leaf"), [], [], cs.public_input("root"))
