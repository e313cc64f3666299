"""Book batch: for B accounts, each leaf's sums follow from its committed cross state, and the batch root is right.

Public inputs, in this order: batch_root, context, the batch's sums (accounts,
deposits_e8[0..K-1], pnl_owed_e32, bad_debt_e32, below_maintenance, shortfall_e32,
below_maintenance[0..J-1], shortfall_e32[0..J-1]: zkmargin.book.reference.sum_names; none in
hidden-sums mode, id suffix -h, where the root hash alone binds them), attested_root, then the
dense cross snapshot part (layout digest; mark, rate, size per instrument slot; price,
haircut per asset slot), which the verifier builds from its own snapshot exactly as for
circuits.cross. context = zkmargin.book.batches.batch_context(snapshot, batch index): the
verifier's own value, so a batch proved for another snapshot (even one with the same prices
and names) or for another place in the top tree does not verify here.
Private, per slot s < B: present_s (1 for an account, 0 for padding), the account's cross
slot values and salt (circuits.parts.SlotValues), its commitment and its identity (the venue
tree's, zkmargin.gadgets.merkle).

Per slot (parts.cross_terms: the cross reference engine's integers, scale 1e32):
  * the commitment opens as the cross statement's (same layout digest, same domain tag), so
    the leaf binds the very commitment the venue attested and the trader proves against;
  * equity = collateral after haircuts + upnl, requirement = maintenance, both computed here;
  * pnl_owed = max(0, upnl), bad_debt = max(0, -equity), below = [equity < requirement],
    shortfall = max(0, requirement - equity): each from a SIGNED_BITS-bit signed decomposition
    (gadgets.range.assert_signed), whose top bit is the sign. |upnl| < 2^228, |equity| < 2^229
    and |equity - requirement| < 2^230 (parts.cross_terms's bounds with N + K <= 1024), so a
    decomposition exists for every honest value and is unique: the sign bit cannot be chosen;
  * the sums are present_s times these figures, so a padding slot adds nothing whatever its
    slot values; deposits are the committed amounts (64-bit range-checked, never negative);
  * the census by size (circuits.book_census.census_figures): the slot's bucket proved from its
    requirement, below and shortfall (as summed, so zero for padding) placed in that bucket;
  * leaf_s = present_s * H_leaf(commitment, sums) (0 for padding, tree.empty_node(0));
  * attested_s = present_s * member_leaf(commitment, identity) (attested_leaf): the venue tree's
    leaf of the SAME commitment the slot opens, EMPTY_LEAF = 0 for padding.
Attested subtree: attested_root is the venue tree's node at level b over attested_0..B-1
(gadgets.merkle.merkle_subtree_gadget: the venue tree's node tags). The verifier folds the batches'
attested roots at their indices with the venue tree's empty nodes and requires the venue's signed
root (circuits.book_proving.verify_book). Poseidon being collision resistant, slot s of batch i then
opens the commitment of the venue tree's leaf i * B + s, and a slot is present exactly when that leaf
is not empty: no account dropped, invented, repeated, moved or bound to another identity. The identity
needs no check here: a leaf equal to the venue's fixes it to the one the venue admitted.
Tree: B = 2^b leaves, level by level, node = H_node(h)(left, left sums, right, right sums) with
sums left sums + right sums (zkmargin.book.tree: each child's sums are hashed, not only their
total, against Maxwell's flaw); the root's hash and sums equal the public inputs.

Pieces (model-agnostic, module level; a batch statement over another account statement composes them):
  slot_present (the padding flag), slot_figures (the leaf figures from in-circuit upnl, equity,
  requirement and deposits), book_leaf (present * figures, the leaf hash), batch_tree (the levels,
  batch_parent per node), assert_batch_root (root and sums against the header), batch_layout (the
  header before an account statement's snapshot part). BookBatchStatement adds only what is dense:
  parts.cross_terms and the dense commitment's opening per slot.

Overflow argument: every leaf figure lies in [0, 2^230] (deposits < 2^64, flags <= 1; pnl_owed and
bad_debt are below 2^230, but shortfall = -excess with excess in [-2^230, 0) can be 2^230 itself);
with B <= 2^MAX_BATCH_DEPTH a batch sum is at most 2^240 < r, so the field sums are the integer sums.
A negative value can never enter a sum: all of them are products of a sign bit and a
range-checked magnitude, or range-checked amounts.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from zkmargin.book.reference import LEAF_SUM_BITS, n_sums, sum_names
from zkmargin.book.tree import book_tag
from zkmargin.circuits.book_census import census_figures
from zkmargin.circuits.layout import AllocatedPublic, PublicLayout
from zkmargin.circuits.parts import RateInputs, SlotValues, cross_terms, open_commitment, rate_template
from zkmargin.circuits.protocol import Statement
from zkmargin.errors import CircuitError
from zkmargin.gadgets.merkle import member_leaf_gadget, merkle_subtree_gadget
from zkmargin.gadgets.poseidon_gadget import poseidon_hash_gadget
from zkmargin.gadgets.range import assert_signed
from zkmargin.margin.models import Account, Snapshot
from zkmargin.r1cs import ConstraintSystem, LinearCombination

SIGNED_BITS = LEAF_SUM_BITS + 1
"""Signed figures lie in [-2^230, 2^230): max(0, x) is below 2^LEAF_SUM_BITS, max(0, -x) at most 2^LEAF_SUM_BITS."""
MAX_BATCH_DEPTH = 10
"""At most 1024 accounts a batch."""
T = TypeVar("T")
E = TypeVar("E")


class BatchShape(Protocol):
    """What the shared pieces read of a batch statement."""

    @property
    def circuit_id(self) -> str:
        """The batch statement's id."""
        ...

    @property
    def batch_size(self) -> int:
        """B: slots a batch."""
        ...


class BatchWitness(Protocol):
    """A batch witness: one entry per slot (None for padding)."""

    @property
    def slots(self) -> tuple[Any, ...]:
        """Per slot the account's values, or None."""
        ...

    @property
    def identities(self) -> tuple[int, ...]:
        """Per slot the venue-tree identity (0 for padding)."""
        ...


class DenseCross(Statement[SlotValues], Protocol):
    """What the batch needs of the dense cross statement (circuits.cross), which the registry passes in."""

    @property
    def n_positions(self) -> int:
        """N: instrument slots."""
        ...

    @property
    def n_collateral(self) -> int:
        """K: asset slots."""
        ...

    @property
    def domain_tag(self) -> int:
        """The commitment's sponge tag."""
        ...


@dataclass(frozen=True)
class BookBatchWitness(Generic[E]):
    """Private values of one batch: per slot the account's witness (dense: SlotValues), or None for a padding slot,
    and its venue-tree identity (0 for a padding slot)."""

    slots: tuple[E | None, ...]
    identities: tuple[int, ...]


def positive_part(cs: ConstraintSystem, x: LinearCombination, label: str) -> tuple[LinearCombination,
                                                                                      LinearCombination]:
    """(max(0, x), [x >= 0]) for x in [-2^230, 2^230), which this range-checks. Cost SIGNED_BITS + 2."""
    non_negative = assert_signed(cs, x, SIGNED_BITS, label)[-1]
    return cs.mul(x, non_negative, f"{label}/positive"), non_negative


def attested_leaf(cs: ConstraintSystem, commitment: LinearCombination, identity: LinearCombination,
                  present: LinearCombination) -> LinearCombination:
    """The venue tree's leaf of a slot: member_leaf(commitment, identity) if present (boolean), else EMPTY_LEAF.

    Cost 244. present must be constrained boolean by the caller; commitment must be the one the slot opens.
    """
    with cs.namespace("attested"):
        # EMPTY_LEAF is 0 (the venue tree's empty slot), so present * leaf is the leaf or the empty slot.
        return cs.mul(present, member_leaf_gadget(cs, commitment, identity), "leaf")


@dataclass(frozen=True)
class BatchCapacity:
    """The declarations every book batch statement shares, written once: the account statement `cross` it batches
    (by composition, as circuits.membership: the registry passes it in), 2^batch_depth slots, and what follows from
    them (B, K, the snapshot values, an account's entry, a one-account batch). Declarations only: synthesize is
    each batch statement's own.
    """

    cross: Any
    batch_depth: int
    hidden_sums: bool = False
    """Hidden-sums mode (id suffix -h): the batch sums stay private; the public batch root hash binds them."""
    model: ClassVar[str] = "book-cross"

    def __post_init__(self) -> None:
        check_batch_depth(self.batch_depth)

    @property
    def n_collateral(self) -> int:
        """K: the account statement's asset slots (deposit figures)."""
        return int(self.cross.n_collateral)

    @property
    def batch_size(self) -> int:
        """B: accounts (slots) a batch."""
        return 1 << self.batch_depth

    def snapshot_values(self, snapshot: Snapshot) -> Any:
        """The account statement's snapshot values (the verifier's own, range-checked)."""
        return self.cross.snapshot_values(snapshot)

    def entry(self, account: Account, snapshot: Snapshot, salt: int) -> Any:
        """One account's witness in the account statement (the one its commitment opens)."""
        return self.cross.witness(account, snapshot, salt)

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> BookBatchWitness[Any]:
        """A batch of this one account under identity 0 (no venue tree), the rest padding (batches of many:
        batch_witness)."""
        return batch_witness(self, [self.entry(account, snapshot, salt)], [0])

    def commitment(self, witness: BookBatchWitness[Any]) -> int:
        """Not a commitment: a batch has a root (zkmargin.book.batches.batch_node computes it)."""
        raise CircuitError("a book batch has a batch root, not a commitment (zkmargin.book.batches.batch_node)")

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Nothing: the book counts every account, healthy or not."""


@dataclass(frozen=True)
class BookBatchStatement(BatchCapacity):
    """The book batch statement over accounts of the dense cross statement `cross`, 2^batch_depth accounts a proof."""

    cross: DenseCross

    @property
    def n_positions(self) -> int:
        """N: the cross statement's instrument slots."""
        return self.cross.n_positions

    @property
    def circuit_id(self) -> str:
        """book-cross-n<N>-k<K>-b<B>, plus -h in hidden-sums mode."""
        return f"{self.model}-n{self.n_positions}-k{self.n_collateral}-b{self.batch_size}" + (
            "-h" if self.hidden_sums else "")

    @functools.cached_property
    def layout(self) -> PublicLayout[RateInputs]:
        """batch_root, context, the batch sums (none in hidden-sums mode), attested_root; then the cross snapshot
        part."""
        return batch_layout(rate_template(self.n_positions, self.n_collateral), self.n_collateral, self.hidden_sums)

    def synthesize(self, cs: ConstraintSystem, inputs: AllocatedPublic[RateInputs],
                   witness: BookBatchWitness[SlotValues] | None) -> LinearCombination:
        """Every slot's leaf from its committed state, the batch tree, and its root and sums as public."""
        check_slot_count(self, witness)
        leaves, attested = [], []
        for s in range(self.batch_size):
            slot = None if witness is None else witness.slots[s]
            with cs.namespace(f"slot[{s}]"):
                leaf, attested_s = self._leaf(cs, inputs, witness is not None, slot,
                                              None if witness is None else witness.identities[s])
            leaves.append(leaf)
            attested.append(attested_s)
        assert_batch_root(cs, inputs, batch_tree(cs, leaves, self.batch_depth, self.n_collateral),
                          merkle_subtree_gadget(cs, attested, "attested"), self.n_collateral, self.hidden_sums)
        return inputs.context

    def _leaf(self, cs: ConstraintSystem, inputs: AllocatedPublic[RateInputs], has_values: bool,
              slot: SlotValues | None, identity: int | None) -> tuple[BookLeaf, LinearCombination]:
        values = (slot or self.padding(inputs_digest(inputs))) if has_values else None
        present = slot_present(cs, has_values, slot is not None)
        terms = cross_terms(cs, inputs.snapshot, values)
        commitment = cs.private_input("commitment", None if values is None else self.cross.commitment(values))
        open_commitment(cs, commitment, inputs.snapshot.layout_digest, terms.packed,
                        None if values is None else values.salt, self.cross.domain_tag)
        figures = slot_figures(cs, terms.upnl, terms.collateral_value + terms.upnl, terms.maintenance, terms.amounts)
        return (book_leaf(cs, present, commitment, figures, terms.maintenance, self.n_collateral),
                attested_leaf(cs, commitment, cs.private_input("identity", identity), present))

    def padding(self, layout_digest: int) -> SlotValues:
        """The slot values of a padding slot: all zero, salt 0 (its sums are zeroed by present = 0)."""
        return SlotValues((0,) * self.n_positions, (0,) * self.n_positions, (0,) * self.n_collateral, 0,
                          layout_digest)


# ----- model-agnostic pieces: any batch statement (dense or sparse accounts) composes these ----------------------
BookLeaf = tuple[LinearCombination, list[LinearCombination]]
"""A node of the batch tree in the circuit: its hash and its sums (sum_names order)."""


def check_batch_depth(batch_depth: int) -> None:
    """CircuitError unless 1 <= batch_depth <= MAX_BATCH_DEPTH."""
    if not isinstance(batch_depth, int) or not 1 <= batch_depth <= MAX_BATCH_DEPTH:
        raise CircuitError(f"a book batch holds 2^1 .. 2^{MAX_BATCH_DEPTH} accounts")


def check_slot_count(statement: BatchShape, witness: BatchWitness | None) -> None:
    """CircuitError unless a witness has exactly B slots."""
    if witness is not None and not len(witness.slots) == len(witness.identities) == statement.batch_size:
        raise CircuitError(f"{statement.circuit_id} takes {statement.batch_size} slots and identities, got "
                           f"{len(witness.slots)} and {len(witness.identities)}")


def slot_present(cs: ConstraintSystem, has_values: bool, is_account: bool) -> LinearCombination:
    """present: 1 for an account, 0 for a padding slot (boolean). 1 constraint."""
    present = cs.private_input("present", None if not has_values else int(is_account))
    cs.assert_bool(present, "present_bool")
    return present


def slot_figures(cs: ConstraintSystem, upnl: LinearCombination, equity: LinearCombination,
                 requirement: LinearCombination, deposits: Sequence[LinearCombination]) -> list[LinearCombination]:
    """A slot's leaf figures (sum_names order, before present) from its in-circuit upnl, equity and requirement
    (scale 1e32, each in (-2^230, 2^230): the caller's overflow argument) and its range-checked deposits.

    accounts 1, deposits, pnl_owed = max(0, upnl), bad_debt = max(0, -equity), below = [equity < requirement],
    shortfall = max(0, requirement - equity). Cost 3 (SIGNED_BITS + 2).
    """
    pnl_owed, _ = positive_part(cs, upnl, "pnl_sign")
    bad_debt, _ = positive_part(cs, cs.constant(0) - equity, "equity_sign")
    excess = equity - requirement
    healthy = assert_signed(cs, excess, SIGNED_BITS, "excess_sign")[-1]
    below = cs.one - healthy
    shortfall = cs.mul(cs.constant(0) - excess, below, "shortfall")
    return [cs.one, *deposits, pnl_owed, bad_debt, below, shortfall]


def book_leaf(cs: ConstraintSystem, present: LinearCombination, commitment: LinearCombination,
              figures: Sequence[LinearCombination], requirement: LinearCombination, n_collateral: int) -> BookLeaf:
    """The slot's sums (present times its figures: a padding slot adds nothing; then the census by size of its
    requirement, circuits.book_census) and its leaf hash present * H_leaf(commitment, sums) (0 for padding,
    tree.empty_node(0)). K + 5 + census + 1 + Poseidon constraints."""
    sums = [cs.mul(present, f, f"sums/{name}") for f, name in zip(figures, sum_names(n_collateral))]
    below_by_size, shortfall_by_size = census_figures(cs, requirement, sums[-2], sums[-1])
    sums += [*below_by_size, *shortfall_by_size]
    with cs.namespace("leaf"):
        digest = poseidon_hash_gadget(cs, [commitment, *sums], book_tag(0, n_collateral))
    return cs.mul(present, digest, "leaf"), sums


def batch_parent(cs: ConstraintSystem, level: int, left: BookLeaf, right: BookLeaf, index: int,
                 n_collateral: int) -> BookLeaf:
    """The node at level over two children: H_node(level)(left, left sums, right, right sums), their summed sums."""
    # Both children's sums are hashed, not only their total (zkmargin.book.tree, Maxwell's flaw). No range
    # check here: every leaf figure is range-checked in its slot, so a sum over 2^level leaves cannot wrap.
    with cs.namespace(f"node[{index}]"):
        digest = poseidon_hash_gadget(cs, [left[0], *left[1], right[0], *right[1]], book_tag(level, n_collateral))
    return digest, [a + b for a, b in zip(left[1], right[1])]


def batch_tree(cs: ConstraintSystem, leaves: Sequence[BookLeaf], batch_depth: int, n_collateral: int) -> BookLeaf:
    """The batch root over 2^batch_depth leaves, level by level (zkmargin.book.tree's hashing)."""
    nodes = list(leaves)
    for level in range(1, batch_depth + 1):
        with cs.namespace(f"level[{level}]"):
            nodes = [batch_parent(cs, level, nodes[i], nodes[i + 1], i // 2, n_collateral)
                     for i in range(0, len(nodes), 2)]
    return nodes[0]


def assert_batch_root(cs: ConstraintSystem, inputs: AllocatedPublic[Any], root: BookLeaf,
                      attested_root: LinearCombination, n_collateral: int, hidden_sums: bool = False) -> None:
    """The root's hash is the public batch_root, its sums the public sums (the header after the context; none in
    hidden-sums mode) and the venue subtree over the slots' attested leaves the public attested_root (the header's
    last value)."""
    root_hash, root_sums = root
    public_sums, public_attested = inputs.extra[:-1], inputs.extra[-1]
    names = () if hidden_sums else sum_names(n_collateral)
    if len(public_sums) != len(names) or len(root_sums) != n_sums(n_collateral):
        # Never zip a sum with the attested root: the header must be exactly batch_layout's.
        raise CircuitError(f"a batch header holds {len(names)} public sums and the attested root, got "
                           f"{len(inputs.extra)} values")
    with cs.namespace("root"):
        cs.assert_equal(root_hash, inputs.commitment, "batch_root")
        # Hidden mode: no sum is public; the public root hash binds the root's children's sums.
        for name, value, public in zip(names, root_sums, public_sums):
            cs.assert_equal(value, public, name)
        cs.assert_equal(attested_root, public_attested, "attested_root")


def batch_layout(template: T, n_collateral: int, hidden_sums: bool = False) -> PublicLayout[T]:
    """batch_root, context, the batch sums (none in hidden-sums mode), attested_root; then the account statement's
    snapshot part (template)."""
    sums = () if hidden_sums else sum_names(n_collateral)
    return PublicLayout(template, header=("batch_root", "context", *sums, "attested_root"))


def inputs_digest(inputs: AllocatedPublic[Any]) -> int:
    """The layout digest's value (prove mode)."""
    value = inputs.snapshot.layout_digest.value
    if value is None:
        raise CircuitError("the layout digest has no value")
    return value


def batch_witness(statement: BatchShape, entries: Sequence[E], identities: Sequence[int]) -> BookBatchWitness[E]:
    """A batch witness: the entries with their venue-tree identities in order, then padding slots up to B."""
    if len(entries) > statement.batch_size:
        raise CircuitError(f"{len(entries)} accounts do not fit a batch of {statement.batch_size}")
    if len(identities) != len(entries):
        raise CircuitError(f"{len(entries)} accounts need {len(entries)} identities, got {len(identities)}")
    padding = statement.batch_size - len(entries)
    return BookBatchWitness((*entries, *(None,) * padding), (*identities, *(0,) * padding))
