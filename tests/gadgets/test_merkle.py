"""The membership gadget: adversarial witnesses first, then the honest table.

Each bad witness is hand-built (no setup) and must name the constraint that breaks;
structural mistakes (a path longer or shorter than the depth) are refused while building.
"""

from __future__ import annotations

import pytest

from zkmargin.errors import CircuitError
from zkmargin.field import R
from zkmargin.gadgets.merkle import (
    EMPTY_LEAF,
    identity_commitment,
    identity_gadget,
    member_leaf,
    member_leaf_gadget,
    merkle_membership_gadget,
    merkle_node,
    new_identity_secret,
    nullifier,
    nullifier_gadget,
)
from zkmargin.r1cs import ConstraintSystem
from zkmargin.venue.tree import MerkleTree

DEPTH = 3
LEAVES = [11, 22, 33, 44, 55]  # slots 5..7 stay empty
TREE = MerkleTree(LEAVES, DEPTH)


def membership(leaf: int, bits: list[int], siblings: list[int], root: int, depth: int = DEPTH) -> str | None:
    """Label of the first broken constraint, or None when the witness satisfies the gadget."""
    cs = ConstraintSystem("check")
    merkle_membership_gadget(
        cs,
        cs.private_input("leaf", leaf),
        [cs.private_input(f"bit{i}", b) for i, b in enumerate(bits)],
        [cs.private_input(f"sib{i}", s) for i, s in enumerate(siblings)],
        cs.public_input("root", root),
        depth,
    )
    return cs.which_is_unsatisfied()


def bits_of(index: int, depth: int = DEPTH) -> list[int]:
    return [(index >> i) & 1 for i in range(depth)]


# ----- adversarial witnesses -----------------------------------------------------------
def test_non_boolean_path_bit_is_refused():
    path = TREE.path(0)
    assert membership(11, [2, 0, 0], path, TREE.root) == "merkle/level0/index_bool"
    # A half bit makes left == right == the average of node and sibling: still refused.
    half = (R + 1) // 2
    assert membership(11, [half, 0, 0], path, TREE.root) == "merkle/level0/index_bool"


def test_internal_node_cannot_be_used_as_a_leaf():
    path = TREE.path(0)
    level1 = merkle_node(11, 22, 1)
    # Same depth: the level-1 node placed as a leaf with the remaining siblings and any last one.
    for last in (0, path[2], TREE.root):
        assert membership(level1, [0, 0, 0], [path[1], path[2], last], TREE.root) == "merkle/root"
    # One level shorter (the classic second-preimage trick): level tags keep the roots apart.
    assert membership(level1, [0, 0], path[1:], TREE.root, depth=2) == "merkle/root"


def test_empty_leaf_cannot_be_proved():
    # Slot 6 is empty: its honest path does hash 0 up to the root, so only the nonzero check stops it.
    path = TREE.path(6)
    assert TREE.leaf(6) == EMPTY_LEAF
    assert membership(EMPTY_LEAF, bits_of(6), path, TREE.root) == "merkle/leaf_nonzero"


def test_empty_leaf_is_accepted_without_the_nonzero_check():
    """Shows the check above is what refuses it: the same path is otherwise consistent."""
    node = EMPTY_LEAF
    for level, sibling in enumerate(TREE.path(6)):
        bit = (6 >> level) & 1
        node = merkle_node(sibling, node, level + 1) if bit else merkle_node(node, sibling, level + 1)
    assert node == TREE.root


@pytest.mark.parametrize("n_siblings, n_bits", [(2, 2), (4, 4), (3, 2), (2, 3)])
def test_path_longer_or_shorter_than_depth_is_refused(n_siblings, n_bits):
    cs = ConstraintSystem("check")
    with pytest.raises(CircuitError, match="depth"):
        merkle_membership_gadget(
            cs, cs.private_input("leaf", 11), [cs.private_input(f"b{i}", 0) for i in range(n_bits)],
            [cs.private_input(f"s{i}", 0) for i in range(n_siblings)], cs.public_input("root", TREE.root), DEPTH)


@pytest.mark.parametrize("depth", [0, 33])
def test_depth_out_of_range_is_refused(depth):
    cs = ConstraintSystem("setup")
    with pytest.raises(CircuitError):
        merkle_membership_gadget(cs, cs.private_input("leaf"), [], [], cs.public_input("root"), depth)


def test_wrong_leaf_index_sibling_or_root_fails():
    path = TREE.path(2)
    assert membership(34, bits_of(2), path, TREE.root) == "merkle/root"
    assert membership(33, bits_of(3), path, TREE.root) == "merkle/root"
    assert membership(33, bits_of(2), [path[0] + 1, *path[1:]], TREE.root) == "merkle/root"
    assert membership(33, bits_of(2), path, (TREE.root + 1) % R) == "merkle/root"


def test_values_at_or_above_r_are_the_same_field_element_in_circuit():
    """The builder reduces witness values mod r, so x + r is x: no second witness exists in-circuit.

    Values >= r are refused at every encoding boundary instead (tests/gadgets/test_merkle_tree.py)."""
    path = TREE.path(1)
    assert membership(22 + R, bits_of(1), [s + R for s in path], TREE.root) is None


def test_tampered_intermediate_variable_is_caught():
    cs = ConstraintSystem("check")
    path = TREE.path(4)
    leaf = cs.private_input("leaf", 55)
    bits = [cs.private_input(f"bit{i}", b) for i, b in enumerate(bits_of(4))]
    merkle_membership_gadget(cs, leaf, bits, [cs.private_input(f"s{i}", s) for i, s in enumerate(path)],
                             cs.public_input("root", TREE.root), DEPTH)
    assert cs.which_is_unsatisfied() is None
    cs.set_value(leaf, 56)
    assert cs.which_is_unsatisfied() is not None


# ----- honest witnesses ----------------------------------------------------------------
@pytest.mark.parametrize("index", range(len(LEAVES)))
def test_every_account_is_a_member(index):
    assert membership(LEAVES[index], bits_of(index), TREE.path(index), TREE.root) is None


def test_constraint_count_is_as_documented():
    for depth in (1, 4):
        cs = ConstraintSystem("setup")
        merkle_membership_gadget(cs, cs.private_input("leaf"), [cs.private_input(f"b{i}") for i in range(depth)],
                                 [cs.private_input(f"s{i}") for i in range(depth)], cs.public_input("root"), depth)
        assert cs.num_constraints == 2 + depth * (1 + 1 + 243)


# ----- nullifier -----------------------------------------------------------------------
def nullifier_check(secret: int, scope: int, claimed: int) -> str | None:
    cs = ConstraintSystem("check")
    out = nullifier_gadget(cs, cs.private_input("secret", secret), cs.public_input("scope", scope))
    cs.assert_equal(out, cs.public_input("nullifier", claimed), "nullifier/public")
    return cs.which_is_unsatisfied()


def test_nullifier_matches_off_circuit_and_binds_secret_and_scope():
    value = nullifier(1234, 77)
    assert nullifier_check(1234, 77, value) is None
    assert nullifier_check(1234, 78, value) == "nullifier/public"
    assert nullifier_check(1235, 77, value) == "nullifier/public"
    assert nullifier(1234, 78) != value and nullifier(77, 1234) != value


def test_nullifier_is_not_a_tree_node():
    # Same permutation as the tree's nodes; its own tag keeps the two apart.
    assert nullifier(11, 22) != merkle_node(11, 22, 1)


def test_identity_and_leaf_gadgets_match_off_circuit_and_are_domain_separated():
    cs = ConstraintSystem("check")
    secret, commitment = cs.private_input("secret", 1234), cs.private_input("commitment", 99)
    identity = identity_gadget(cs, secret)
    leaf = member_leaf_gadget(cs, commitment, identity)
    assert identity.value == identity_commitment(1234) and leaf.value == member_leaf(99, identity_commitment(1234))
    assert cs.which_is_unsatisfied() is None
    values = {identity_commitment(11), member_leaf(11, 0), nullifier(11, 0), merkle_node(11, 0, 1)}
    assert len(values) == 4
    assert member_leaf(99, identity_commitment(1234)) != member_leaf(99, identity_commitment(1235))
    secrets = {new_identity_secret() for _ in range(8)}
    assert len(secrets) == 8 and all(0 < s < R for s in secrets)
