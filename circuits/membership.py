"""Anonymous membership for every margin model, by composition: Membership(inner, depth) wraps any statement.

The inner statement proves, as always, that its witness opens a commitment and that
the account is healthy; here the commitment is a PRIVATE variable, and the wrapper
proves that the leaf binding it to its owner's identity (below) is a nonzero leaf of the
venue's depth-level Poseidon Merkle tree under the PUBLIC root (zkmargin.gadgets.merkle: per-level tags, boolean path bits,
fixed depth). So the verifier learns that some account of the venue's published set
is healthy, not which one.

Public inputs, in this order: root, context, scope, nullifier (circuits.layout.MEMBER_HEADER),
then the inner statement's snapshot part exactly as in plain mode (layout digest first).
The root sits where the plain statement's commitment sits.

The tree's leaf binds the account's commitment of this snapshot to its owner's identity
(zkmargin.gadgets.merkle): leaf = Poseidon(LEAF_TAG, commitment, identity) with
identity = Poseidon(ID_TAG, secret, 0), where secret is the trader's long-lived identity
secret (`zkmargin account new-identity`). The venue records the identity once per account
and refuses two accounts with one identity when it builds a tree. The circuit takes the
commitment and the secret as private inputs, recomputes identity and leaf from them, and
proves the leaf under the root.

Nullifier = Poseidon(NULLIFIER_TAG, secret, scope). Soundness argument:
- one account, one nullifier per scope, under every snapshot: the secret is the same in
  every snapshot's leaf (the venue binds the identity, not a per-snapshot value), and the
  nullifier depends on nothing else but the verifier-chosen scope; so proving under two
  snapshots (two roots, or two depths) in one scope shows the same nullifier twice.
- no other nullifier for the account: a proof with another secret s' needs
  Poseidon(ID_TAG, s', 0) = the leaf's identity (a Poseidon preimage or collision), or a
  leaf Poseidon(LEAF_TAG, c, identity') equal to a real one (a collision), or a leaf of
  its own in the tree, which the venue only admits for a registered identity.
- two accounts never share one: their identities differ (the venue refuses a repeat), so
  their secrets differ, and equal nullifiers in one scope would be a Poseidon collision.
- unlinkable and private: the nullifier is a Poseidon output of a secret only the trader
  holds; the venue, which knows commitments, salts and identities, cannot compute it, and
  nullifiers of two scopes do not link.

Circuit id: '<inner id>-m<depth>', depth 1..MAX_DEPTH (cross-n64-k8-m20).
Cost over the inner statement: 243 (identity) + 243 (leaf) + 2 + 245 * depth (the path)
+ 243 (nullifier) + 1 constraints.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from zkmargin.circuits.layout import MEMBER_HEADER, AllocatedPublic, PublicLayout
from zkmargin.circuits.protocol import Statement
from zkmargin.errors import CircuitError, EncodingError
from zkmargin.field import check_scalar
from zkmargin.gadgets.merkle import (
    MAX_DEPTH,
    check_identity_secret,
    identity_commitment,
    identity_gadget,
    member_leaf,
    member_leaf_gadget,
    merkle_membership_gadget,
    nullifier,
    nullifier_gadget,
)
from zkmargin.margin.models import Account, Snapshot
from zkmargin.r1cs import ConstraintSystem, LinearCombination
from zkmargin.venue.tree import MerklePath

W = TypeVar("W")


@dataclass(frozen=True)
class MembershipWitness(Generic[W]):
    """The inner statement's witness, the commitment it opens, the owner's identity secret and the leaf's place.

    secret, index_bits (little-endian) and siblings are None until place() puts the witness in a tree.
    """

    inner: W
    commitment: int
    index_bits: tuple[int, ...] | None = None
    siblings: tuple[int, ...] | None = None
    secret: int | None = None

    @property
    def leaf(self) -> int:
        """The tree leaf: Poseidon(LEAF_TAG, commitment, identity of the secret); needs the secret."""
        if self.secret is None:
            raise CircuitError("the witness has no identity secret (place it in the tree first)")
        return member_leaf(self.commitment, identity_commitment(self.secret))


@dataclass(frozen=True)
class Membership(Generic[W]):
    """The inner statement, with its commitment proved a leaf under a public root of a depth-level tree."""

    inner: Statement[W]
    depth: int

    def __post_init__(self) -> None:
        if isinstance(self.inner, Membership):
            raise CircuitError("a membership statement wraps a plain statement, not another membership statement")
        if not isinstance(self.depth, int) or isinstance(self.depth, bool) or not 1 <= self.depth <= MAX_DEPTH:
            raise CircuitError(f"membership depth must be in 1..{MAX_DEPTH}, got {self.depth!r}")

    @property
    def model(self) -> str:
        """The inner statement's margin model."""
        return self.inner.model

    @property
    def circuit_id(self) -> str:
        """'<inner id>-m<depth>'."""
        return f"{self.inner.circuit_id}-m{self.depth}"

    @functools.cached_property
    def layout(self) -> PublicLayout[Any]:
        """root, context, scope, nullifier; then the inner statement's snapshot part."""
        return PublicLayout(self.inner.layout.template, MEMBER_HEADER)

    def snapshot_values(self, snapshot: Snapshot) -> Any:
        """The inner statement's snapshot values (checked as in plain mode)."""
        return self.inner.snapshot_values(snapshot)

    def synthesize(self, cs: ConstraintSystem, inputs: AllocatedPublic[Any],
                   witness: MembershipWitness[W] | None) -> LinearCombination:
        """The inner statement over a private commitment, its Merkle path to the root, and the nullifier."""
        w = witness
        if w is not None and (w.index_bits is None or w.siblings is None or w.secret is None):
            raise CircuitError(f"{self.circuit_id}: the witness has no Merkle path (place it in the tree first)")
        if len(inputs.extra) != 2:
            raise CircuitError(f"{self.circuit_id}: public inputs must be {', '.join(MEMBER_HEADER)}")
        scope, public_nullifier = inputs.extra
        commitment = cs.private_input("commitment", None if w is None else w.commitment)
        salt = self.inner.synthesize(cs, AllocatedPublic(commitment, inputs.context, inputs.snapshot),
                                     None if w is None else w.inner)
        secret = cs.private_input("membership/secret", None if w is None else w.secret)
        # The leaf is computed here, never taken from the witness: it binds this commitment to the
        # secret's identity, so the nullifier below can only come from the secret the venue registered.
        leaf = member_leaf_gadget(cs, commitment, identity_gadget(cs, secret, "membership/identity"),
                                  "membership/leaf")
        bits, siblings = [], []
        for h in range(self.depth):
            bits.append(cs.private_input(f"membership/index_bit[{h}]", None if w is None else _at(w.index_bits, h)))
            siblings.append(cs.private_input(f"membership/sibling[{h}]", None if w is None else _at(w.siblings, h)))
        merkle_membership_gadget(cs, leaf, bits, siblings, inputs.commitment, self.depth, "membership")
        cs.assert_equal(nullifier_gadget(cs, secret, scope), public_nullifier, "nullifier/matches")
        return salt

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> MembershipWitness[W]:
        """The inner witness and its commitment; place() adds the identity secret and the Merkle path."""
        inner = self.inner.witness(account, snapshot, salt)
        return MembershipWitness(inner, self.inner.commitment(inner))

    def commitment(self, witness: MembershipWitness[W]) -> int:
        """The commitment the inner witness opens: the leaf the venue put in its tree."""
        return self.inner.commitment(witness.inner)

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """The inner model's reference engine decides."""
        self.inner.require_healthy(account, snapshot)

    def place(self, witness: MembershipWitness[W], path: MerklePath, secret: int) -> MembershipWitness[W]:
        """The witness at the path's place with the owner's secret; CircuitError when the path is not this leaf's."""
        if path.depth != self.depth:
            raise CircuitError(f"{self.circuit_id} needs a path of depth {self.depth}; this path has depth {path.depth}")
        try:
            secret = check_identity_secret(secret)
        except EncodingError as exc:
            raise CircuitError(str(exc)) from None
        if path.leaf != member_leaf(witness.commitment, identity_commitment(secret)):
            raise CircuitError("the Merkle path is for another leaf (its leaf is not this account's commitment "
                               "under this identity secret's identity)")
        try:
            siblings = tuple(check_scalar(s, f"sibling {h}") for h, s in enumerate(path.siblings))
        except EncodingError as exc:
            raise CircuitError(f"Merkle path: {exc}") from None
        if len(siblings) != self.depth or not 0 <= path.index < 2**self.depth:
            raise CircuitError(f"Merkle path: {self.depth} siblings and an index below 2^{self.depth} expected")
        if not path.verify():
            raise CircuitError("the Merkle path does not lead from this commitment to its root")
        bits = tuple((path.index >> h) & 1 for h in range(self.depth))
        return replace(witness, index_bits=bits, siblings=siblings, secret=secret)

    def nullifier(self, witness: MembershipWitness[W], scope: int) -> int:
        """The public nullifier of this account in scope: Poseidon(identity secret, scope)."""
        if witness.secret is None:
            raise CircuitError("the witness has no identity secret (place it in the tree first)")
        return nullifier(witness.secret, scope)


def _at(values: tuple[int, ...] | None, i: int) -> int:
    if values is None or i >= len(values):
        raise CircuitError("the Merkle path is shorter than the circuit's depth")
    return values[i]
