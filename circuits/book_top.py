"""Book top: the root over 2^T batch roots, and either the totals (auditor mode) or reserves >= liabilities (hidden).

Public inputs, in this order: root, context, child[0..2^T-1] (the batch roots' hashes, which the
batch proofs publish), then in auditor mode the totals (accounts, deposits_e8[0..K-1],
pnl_owed_e32, bad_debt_e32, below_maintenance, shortfall_e32, the census below_maintenance[j],
shortfall_e32[j]: zkmargin.book.reference.sum_names, whatever its length), in hidden mode (id suffix -h) the venue's signed reserves_e8[0..K-1]
and no total. context = zkmargin.book.batches.top_context(snapshot, b + T): the verifier's own
value, so a top proved for another snapshot does not verify here. Missing children (places after
the last batch) are tree.empty_node(b): the VERIFIER puts that hash in, so no real-looking node
can fill a place no batch proof covers.
Private, per child i: its two children (level b - 1): hash and sums each.

Constraints:
  * child i's hash = H_tag(b)(left, left sums, right, right sums) (tree.parent): the child's sums
    are left sums + right sums, bound to the public child hash by the hash, so the venue cannot
    pair a batch root with other sums than the batch proof's tree has;
  * every sum of a level-(b-1) node is range-checked below tree.sum_bits(b - 1) (the bits of
    check_sums's bound tree.sum_bound from BookSums.leaf_bits), so no sum wraps (below);
  * levels b + 1 .. b + T as in the tree (circuits.book_batch.batch_parent), the root's hash is public;
  * auditor: the root's sums equal the public totals;
  * hidden: reserves_k < 2^64 (range-checked), reserves_k - deposits_k in [0, 2^64) for every asset
    slot k >= 1, and for the settlement slot 0 (the snapshot's first asset, priced at exactly 1 in
    the price unit, which the verifier checks) reserves_0 * 1e24 - deposits_0 * 1e24 - pnl_owed_e32 in
    [0, 2^144): P&L owed (scale 1e32) is a liability there. Bad debt is never an asset: no other
    figure enters a comparison. A slot the snapshot does not use gets reserves 0 from the verifier,
    so the book must hold no deposit there.

Overflow argument: a level-(b-1) sum is below 2^(L + b - 1) with L = 1 (counts), 64 (deposits),
230 (scale 1e32); the root adds 2^(T+1) of them, so a total is below 2^(L + b + T) <= 2^254 < r
with b + T <= MAX_BOOK_DEPTH = 24: the field sums are the integer sums. Comparisons: a deposit
total is below 2^88, so when it exceeds the reserves (< 2^64) the difference is r minus at most 2^88,
far above 2^64; the settlement liability deposits_0 * 1e24 + pnl_owed is below 2^168 + 2^254, so
when it exceeds reserves_0 * 1e24 (< 2^144) the difference is above r - 2^254 - 2^168 > 2^253, far
above 2^144. Honest differences are at most the reserves: below 2^64 and 2^144.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

from zkmargin.book.reference import MAX_BOOK_DEPTH, sum_names
from zkmargin.book.reserves import E24, MAX_RESERVE_E8
from zkmargin.book.tree import BookNode, sum_bits
from zkmargin.circuits.book_batch import BookLeaf, batch_parent
from zkmargin.circuits.layout import AllocatedPublic, PublicLayout
from zkmargin.errors import CircuitError
from zkmargin.gadgets.range import assert_unsigned
from zkmargin.margin.models import Account, Snapshot
from zkmargin.r1cs import ConstraintSystem, LinearCombination

MAX_TOP_DEPTH = 10
"""At most 2^10 batch roots under one top proof (public inputs grow with 2^T); a larger book is refused."""
RESERVE_BITS = MAX_RESERVE_E8.bit_length()
"""A reserve is one amount at scale 1e8, below 2^64 (as a deposit)."""
SETTLEMENT_BITS = RESERVE_BITS + E24.bit_length()
"""reserves_0 * 1e24 < 2^144: the settlement comparison's width."""


@dataclass(frozen=True)
class BookTopWitness:
    """Private values of a top: per child (batch root) its two children at level b - 1, in book order."""

    children: tuple[tuple[BookNode, BookNode], ...]


@dataclass(frozen=True)
class BookTopStatement:
    """The top over 2^top_depth batch roots of 2^batch_depth accounts over n_collateral asset slots."""

    n_collateral: int
    batch_depth: int
    top_depth: int
    hidden_sums: bool = False
    """Hidden mode (id suffix -h): public reserves and the per-asset comparison instead of the totals."""
    model: ClassVar[str] = "book-top"

    def __post_init__(self) -> None:
        if not 1 <= self.top_depth <= MAX_TOP_DEPTH or not 1 <= self.batch_depth:
            raise CircuitError(f"a book top folds 2^1 .. 2^{MAX_TOP_DEPTH} batch roots of 2^1 or more accounts")
        if self.batch_depth + self.top_depth > MAX_BOOK_DEPTH:
            raise CircuitError(f"a book holds at most 2^{MAX_BOOK_DEPTH} accounts: b + T <= {MAX_BOOK_DEPTH}")
        if not 1 <= self.n_collateral < 2**32:
            raise CircuitError("a book has 1 .. 2^32 - 1 asset slots")

    @property
    def n_children(self) -> int:
        """2^T: batch roots (children) a top folds."""
        return 1 << self.top_depth

    @property
    def depth(self) -> int:
        """The book's depth: the root's level b + T."""
        return self.batch_depth + self.top_depth

    @property
    def circuit_id(self) -> str:
        """book-top-k<K>-b<B>-t<T>, plus -h in hidden mode."""
        return f"{self.model}-k{self.n_collateral}-b{1 << self.batch_depth}-t{self.top_depth}" + (
            "-h" if self.hidden_sums else "")

    @property
    def tail_names(self) -> tuple[str, ...]:
        """The public inputs after the children: the reserves (hidden) or the totals (auditor)."""
        if self.hidden_sums:
            return tuple(f"reserves_e8[{k}]" for k in range(self.n_collateral))
        return sum_names(self.n_collateral)

    @functools.cached_property
    def layout(self) -> PublicLayout[tuple[()]]:
        """root, context, the children's hashes, then reserves or totals; no snapshot part."""
        children = tuple(f"child[{i}]" for i in range(self.n_children))
        return PublicLayout((), header=("root", "context", *children, *self.tail_names))

    def snapshot_values(self, snapshot: Snapshot) -> tuple[()]:
        """Nothing: the snapshot enters through the context (and the batch proofs)."""
        return ()

    def synthesize(self, cs: ConstraintSystem, inputs: AllocatedPublic[tuple[()]],
                   witness: BookTopWitness | None) -> LinearCombination:
        """Each child's hash from its private children, the levels above, and the root's totals or coverage."""
        if witness is not None and len(witness.children) != self.n_children:
            raise CircuitError(f"{self.circuit_id} takes {self.n_children} children, got {len(witness.children)}")
        children, tail = inputs.extra[:self.n_children], inputs.extra[self.n_children:]
        nodes = []
        for i, public_hash in enumerate(children):
            with cs.namespace(f"child[{i}]"):
                pair = None if witness is None else witness.children[i]
                left, right = (self._grandchild(cs, side, None if pair is None else pair[j])
                               for j, side in enumerate(("left", "right")))
                digest, sums = batch_parent(cs, self.batch_depth, left, right, 0, self.n_collateral)
                cs.assert_equal(digest, public_hash, "hash")
            nodes.append((public_hash, sums))
        for level in range(self.batch_depth + 1, self.depth + 1):
            with cs.namespace(f"level[{level}]"):
                nodes = [self._node(cs, level, nodes[i], nodes[i + 1], i // 2) for i in range(0, len(nodes), 2)]
        root_hash, root_sums = nodes[0]
        with cs.namespace("root"):
            cs.assert_equal(root_hash, inputs.commitment, "root")
            if self.hidden_sums:
                self._coverage(cs, root_sums, tail)
            else:
                for name, value, public in zip(sum_names(self.n_collateral), root_sums, tail):
                    cs.assert_equal(value, public, name)
        return inputs.context

    def _grandchild(self, cs: ConstraintSystem, side: str, node: BookNode | None
                    ) -> BookLeaf:
        # A node of level b - 1, as the batch proof's tree has it: every sum range-checked for its height.
        with cs.namespace(side):
            digest = cs.private_input("hash", None if node is None else node.hash)
            values = None if node is None else node.sums.as_fields()
            sums = []
            for j, (name, bits) in enumerate(zip(sum_names(self.n_collateral),
                                                 sum_bits(self.batch_depth - 1, self.n_collateral))):
                value = cs.private_input(name, None if values is None else values[j])
                assert_unsigned(cs, value, bits, f"{name}_range")
                sums.append(value)
        return digest, sums

    def _node(self, cs: ConstraintSystem, level: int, left: BookLeaf,
              right: BookLeaf, index: int
              ) -> BookLeaf:
        return batch_parent(cs, level, left, right, index, self.n_collateral)

    def _coverage(self, cs: ConstraintSystem, sums: list[LinearCombination],
                  reserves: tuple[LinearCombination, ...]) -> None:
        # reserves >= liabilities per asset slot, on range-checked differences (module docstring).
        names = sum_names(self.n_collateral)
        pnl_owed = sums[names.index("pnl_owed_e32")]
        for k, reserve in enumerate(reserves):
            with cs.namespace(f"asset[{k}]"):
                assert_unsigned(cs, reserve, RESERVE_BITS, "reserves_range")
                deposits = sums[names.index(f"deposits_e8[{k}]")]
                if k == 0:  # the settlement asset also owes P&L (scale 1e32 = 1e8 * 1e24)
                    assert_unsigned(cs, (reserve - deposits) * E24 - pnl_owed, SETTLEMENT_BITS, "covered")
                else:
                    assert_unsigned(cs, reserve - deposits, RESERVE_BITS, "covered")

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> BookTopWitness:
        """Not an account's: a top's witness is its children's children (circuits.book_proving.prove_top)."""
        raise CircuitError(f"{self.circuit_id} folds batch roots, not an account")

    def commitment(self, witness: BookTopWitness) -> int:
        """Not a commitment: a top has a root."""
        raise CircuitError(f"{self.circuit_id} has a root, not a commitment")

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Nothing: the book counts every account."""
