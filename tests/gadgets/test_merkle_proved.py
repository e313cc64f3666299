"""The membership gadget with a nullifier, proved and verified for real (Groth16, small depth)."""

from __future__ import annotations

import random

import pytest

from zkmargin.backends import get_backend
from zkmargin.errors import UnsatisfiedError
from zkmargin.gadgets.merkle import merkle_membership_gadget, nullifier, nullifier_gadget
from zkmargin.groth16 import prove, setup, verify
from zkmargin.r1cs import ConstraintSystem
from zkmargin.venue.tree import MerkleTree

DEPTH = 3
SECRETS = [101, 202, 303]
LEAVES = [7001, 7002, 7003]  # stand-ins for commitments; a statement opens them with the secret
SCOPE = 424242


def statement(mode: str, leaf: int | None = None, index: int | None = None, siblings: list[int] | None = None,
              root: int | None = None, secret: int | None = None, claimed: int | None = None) -> ConstraintSystem:
    """Public: root, scope, nullifier. Private: leaf, index bits, siblings, secret."""
    cs = ConstraintSystem(mode)  # type: ignore[arg-type]
    has = cs.has_values
    root_in = cs.public_input("root", root if has else None)
    scope_in = cs.public_input("scope", SCOPE if has else None)
    nullifier_in = cs.public_input("nullifier", claimed if has else None)
    bits = [cs.private_input(f"bit{i}", (index >> i) & 1 if has else None) for i in range(DEPTH)]  # type: ignore[operator]
    path = [cs.private_input(f"sibling{i}", siblings[i] if has else None) for i in range(DEPTH)]  # type: ignore[index]
    merkle_membership_gadget(cs, cs.private_input("leaf", leaf), bits, path, root_in, DEPTH)
    out = nullifier_gadget(cs, cs.private_input("secret", secret), scope_in)
    cs.assert_equal(out, nullifier_in, "nullifier/public")
    return cs


@pytest.fixture(scope="module")
def keys():
    backend = get_backend("arkworks")
    compiled = statement("setup").compile()
    return compiled, setup(compiled, random.Random(12), backend), backend


def test_a_member_proves_and_the_proof_binds_root_scope_and_nullifier(keys):
    compiled, pk, backend = keys
    tree = MerkleTree(LEAVES, DEPTH)
    claimed = nullifier(SECRETS[1], SCOPE)
    cs = statement("prove", LEAVES[1], 1, tree.path(1), tree.root, SECRETS[1], claimed)
    proof = prove(pk, compiled, cs.assignment(), random.Random(3), backend)
    assert verify(pk.vk, [tree.root, SCOPE, claimed], proof, backend)
    assert not verify(pk.vk, [(tree.root + 1), SCOPE, claimed], proof, backend)
    assert not verify(pk.vk, [tree.root, SCOPE + 1, claimed], proof, backend)
    assert not verify(pk.vk, [tree.root, SCOPE, claimed + 1], proof, backend)


def test_an_empty_slot_has_no_valid_proof(keys):
    compiled, pk, backend = keys
    tree = MerkleTree(LEAVES, DEPTH)
    claimed = nullifier(999, SCOPE)
    check = statement("check", 0, 5, tree.path(5), tree.root, 999, claimed)
    assert check.which_is_unsatisfied() == "merkle/leaf_nonzero"
    cs = statement("prove", 0, 5, tree.path(5), tree.root, 999, claimed)
    with pytest.raises(UnsatisfiedError, match="leaf_nonzero"):
        prove(pk, compiled, cs.assignment(), random.Random(4), backend)
