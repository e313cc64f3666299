"""Poseidon Merkle membership: a venue publishes one root over its accounts' leaves, and a proof
shows its leaf is in the tree without revealing which; plus a scoped nullifier.

Hashes (one Poseidon width-3 permutation P, output word 1, in and out of circuit):
  identity        = P([ID_TAG, secret, 0])[1]                       ("identity", below 2^64)
  leaf            = P([LEAF_TAG, commitment, identity])[1]          ("leaf", below 2^32)
  node at level h = P([node_tag(h), left, right])[1], h = 1 (pairs of leaves) .. depth (root)
  node_tag(h)     = "merkle" * 2^8 + h                              (below 2^56)
  nullifier       = P([NULLIFIER_TAG, secret, scope])[1]            ("nullify", below 2^56)
The secret is the trader's long-lived identity secret (as in Semaphore): the venue records
only its hash, the identity, once per account, and every snapshot's leaf binds the
account's commitment of that snapshot to it. So the nullifier depends on the secret and
the scope alone: the same account gets the same nullifier in a scope under every
snapshot, root and depth, and nobody without the secret (the venue included, which holds
commitments, salts and identities) can compute it.
Domain separation: account commitments are width-5 sponge outputs under a capacity tag
>= 2^64 (zkmargin.margin.commitment), every tree level has its own tag, and leaves,
identities and nullifiers have theirs. So a node of level h presented as a leaf is re-hashed at level 1 under a tag
it was not made with (finding it a place there is a Poseidon collision), and a root made
at one depth never equals a root at another, which rules out the classic trick of proving
an internal node as a leaf with a shorter path. Empty slots hold EMPTY_LEAF = 0 and the
gadget requires a nonzero leaf, so the (honest, public) path of an empty slot proves
nothing. The tree itself (sparse, fast) is zkmargin.venue.tree.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Sequence

from zkmargin.errors import CircuitError, EncodingError
from zkmargin.field import R, check_scalar, inv
from zkmargin.gadgets.poseidon import poseidon_permutation
from zkmargin.gadgets.poseidon_gadget import poseidon_permutation_gadget
from zkmargin.r1cs import ConstraintSystem, LinearCombination

MAX_DEPTH = 32
"""Deepest tree accepted (the project targets depth 24: 16M accounts)."""
EMPTY_LEAF = 0
MERKLE_TAG = 0x6D65726B6C65  # "merkle"
NULLIFIER_TAG = 0x6E756C6C696679  # "nullify"
ID_TAG = 0x6964656E74697479  # "identity"
LEAF_TAG = 0x6C656166  # "leaf"


def node_tag(level: int) -> int:
    """Capacity word of a node at level 1..MAX_DEPTH (level 1 hashes two leaves)."""
    if not isinstance(level, int) or not 1 <= level <= MAX_DEPTH:
        raise EncodingError(f"Merkle level must be in 1..{MAX_DEPTH}, got {level!r}")
    return (MERKLE_TAG << 8) | level


def merkle_node(left: int, right: int, level: int) -> int:
    """The node at level above children left and right (pure-Python reference)."""
    return poseidon_permutation([node_tag(level), left, right], 3)[1]


def new_identity_secret() -> int:
    """A fresh uniformly random nonzero identity secret from the OS CSPRNG."""
    return 1 + secrets.randbelow(R - 1)


def identity_commitment(secret: int) -> int:
    """Poseidon(ID_TAG, secret, 0): what a trader hands the venue once; the secret stays with the trader."""
    return poseidon_permutation([ID_TAG, check_scalar(secret, "identity secret"), 0], 3)[1]


def check_identity_secret(secret: int) -> int:
    """secret if it is a field element other than 0; EncodingError otherwise.

    Secret 0 (a zeroed buffer, a default value) is public: anyone could compute its identity and every
    nullifier of its account, which would link the account's proofs in every scope.
    """
    if check_scalar(secret, "identity secret") == 0:
        raise EncodingError("identity secret 0 is public (anyone can compute its nullifiers); make one with "
                            "`zkmargin account new-identity`")
    return secret


@functools.cache
def _public_identities() -> frozenset[int]:
    return frozenset({0, poseidon_permutation([ID_TAG, 0, 0], 3)[1]})


def check_identity(identity: int) -> int:
    """identity if a venue may bind it into a leaf; EncodingError for 0 or the identity of secret 0.

    Identity 0 is no trader's (no known secret hashes to it: its leaf could never be proved), and the
    identity of secret 0 has a public secret: both are refused wherever a venue builds leaves.
    """
    if check_scalar(identity, "identity") in _public_identities():
        raise EncodingError(f"identity {identity} is refused: "
                            + ("0 is no trader's identity" if identity == 0 else
                               "it is the identity of secret 0, whose nullifiers anyone can compute")
                            + " (the trader makes one with `zkmargin account new-identity`)")
    return identity


def member_leaf(commitment: int, identity: int) -> int:
    """Poseidon(LEAF_TAG, commitment, identity): the tree leaf binding one snapshot's commitment to its owner."""
    return poseidon_permutation(
        [LEAF_TAG, check_scalar(commitment, "commitment"), check_scalar(identity, "identity")], 3)[1]


def nullifier(secret: int, scope: int) -> int:
    """Poseidon(secret, scope): one value per identity secret and verifier scope, unlinkable across scopes."""
    return poseidon_permutation([NULLIFIER_TAG, check_scalar(secret, "secret"), check_scalar(scope, "scope")], 3)[1]


def merkle_membership_gadget(
    cs: ConstraintSystem,
    leaf: LinearCombination,
    index_bits: Sequence[LinearCombination],
    siblings: Sequence[LinearCombination],
    root: LinearCombination,
    depth: int,
    label: str = "merkle",
) -> None:
    """Enforce that a nonzero leaf sits at the little-endian index_bits under root in a depth-level tree.

    Cost: 2 + depth * 245 constraints (per level: 1 boolean check, 1 ordering product, a
    243-constraint permutation; plus leaf != 0 and the root equality). Each index bit is
    constrained to {0, 1} here, so callers need not; a bit outside {0, 1} (say 1/2, which
    would make left == right) breaks level{h}/index_bool. The leaf is any field element: the
    caller binds it (e.g. opens it as the account commitment). The depth is fixed at build
    time; a path of any other length is refused before a single constraint is written.
    """
    if not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH:
        raise CircuitError(f"{label}: Merkle depth must be in 1..{MAX_DEPTH}, got {depth!r}")
    if len(index_bits) != depth or len(siblings) != depth:
        raise CircuitError(
            f"{label}: a path at depth {depth} needs {depth} index bits and siblings, "
            f"got {len(index_bits)} and {len(siblings)}")
    with cs.namespace(label):
        # leaf * leaf_inverse = 1 has no solution for leaf = 0, the empty-slot value.
        inverse = cs.alloc("leaf_inverse", (lambda: inv(leaf.value) if leaf.value else 0) if cs.has_values else None)
        cs.enforce(leaf, inverse, cs.one, "leaf_nonzero")
        node = leaf
        for height, (bit, sibling) in enumerate(zip(index_bits, siblings)):
            cs.assert_bool(bit, f"level{height}/index_bool")
            # bit = 1: the node is the right child, so left = sibling.
            left = node + cs.mul(bit, sibling - node, f"level{height}/order")
            right = node + sibling - left
            node = merkle_node_gadget(cs, left, right, height + 1, f"level{height}")
        cs.assert_equal(node, root, "root")


def merkle_node_gadget(cs: ConstraintSystem, left: LinearCombination, right: LinearCombination, level: int,
                       label: str) -> LinearCombination:
    """merkle_node(left, right, level) in-circuit (243 constraints, one width-3 permutation)."""
    return poseidon_permutation_gadget(cs, [cs.constant(node_tag(level)), left, right], 3, label)[1]


def merkle_subtree_gadget(cs: ConstraintSystem, leaves: Sequence[LinearCombination],
                          label: str = "subtree") -> LinearCombination:
    """The node at level b over 2^b leaves (level 0), hashed with the venue tree's tags of levels 1..b.

    Cost (2^b - 1) * 243 constraints. The leaves are placed as given: the caller binds each one (a
    padding slot must be EMPTY_LEAF, as the venue tree's empty slots). The result equals the node
    zkmargin.venue.tree.subtree_root(leaves, 0, b) computes, so it can be folded with the venue tree's
    empty nodes up to the venue's signed root.
    """
    b = len(leaves).bit_length() - 1
    if not leaves or len(leaves) != 1 << b or b > MAX_DEPTH:
        raise CircuitError(f"{label}: a subtree has 2^b leaves (b <= {MAX_DEPTH}), got {len(leaves)}")
    nodes = list(leaves)
    with cs.namespace(label):
        for level in range(1, b + 1):
            nodes = [merkle_node_gadget(cs, nodes[i], nodes[i + 1], level, f"level{level}/node[{i // 2}]")
                     for i in range(0, len(nodes), 2)]
    return nodes[0]


def nullifier_gadget(
    cs: ConstraintSystem, secret: LinearCombination, scope: LinearCombination, label: str = "nullifier"
) -> LinearCombination:
    """Poseidon(secret, scope) in-circuit (243 constraints); the caller exposes it as a public input.

    It only means "one account" if the caller binds secret to the account (member_leaf_gadget
    binds the leaf to identity_gadget(secret), and the venue admits each identity once).
    """
    with cs.namespace(label):
        return poseidon_permutation_gadget(cs, [cs.constant(NULLIFIER_TAG), secret, scope], 3, "hash")[1]


def identity_gadget(cs: ConstraintSystem, secret: LinearCombination, label: str = "identity") -> LinearCombination:
    """Poseidon(ID_TAG, secret, 0) in-circuit (243 constraints)."""
    with cs.namespace(label):
        return poseidon_permutation_gadget(cs, [cs.constant(ID_TAG), secret, cs.constant(0)], 3, "hash")[1]


def member_leaf_gadget(cs: ConstraintSystem, commitment: LinearCombination, identity: LinearCombination,
                       label: str = "leaf") -> LinearCombination:
    """Poseidon(LEAF_TAG, commitment, identity) in-circuit (243 constraints)."""
    with cs.namespace(label):
        return poseidon_permutation_gadget(cs, [cs.constant(LEAF_TAG), commitment, identity], 3, "hash")[1]
