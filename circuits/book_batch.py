"""Book batch: for B accounts, each leaf's sums follow from its committed cross state, and the batch root is right.

Public inputs, in this order: batch_root, context, the batch's sums (accounts,
deposits_e8[0..K-1], pnl_owed_e32, bad_debt_e32, below_maintenance, shortfall_e32; none in
hidden-sums mode, id suffix -h, where the root hash alone binds them), then the
dense cross snapshot part (layout digest; mark, rate, size per instrument slot; price,
haircut per asset slot), which the verifier builds from its own snapshot exactly as for
circuits.cross. context = zkmargin.book.batches.batch_context(snapshot, batch index): the
verifier's own value, so a batch proved for another snapshot (even one with the same prices
and names) or for another place in the top tree does not verify here.
Private, per slot s < B: present_s (1 for an account, 0 for padding), the account's cross
slot values and salt (circuits.parts.SlotValues) and its commitment.

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
  * leaf_s = present_s * H_leaf(commitment, sums) (0 for padding, tree.empty_node(0)).
Tree: B = 2^b leaves, level by level, node = H_node(h)(left, left sums, right, right sums) with
sums left sums + right sums (zkmargin.book.tree: each child's sums are hashed, not only their
total, against Maxwell's flaw); the root's hash and sums equal the public inputs.

Overflow argument: every leaf figure lies in [0, 2^230) (deposits < 2^64, flags <= 1); with
B <= 2^MAX_BATCH_DEPTH a batch sum is below 2^240 < r, so the field sums are the integer sums.
A negative value can never enter a sum: all of them are products of a sign bit and a
range-checked magnitude, or range-checked amounts.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from zkmargin.book.reference import LEAF_SUM_BITS, sum_names
from zkmargin.book.tree import book_tag
from zkmargin.circuits.book_parts import book_parent
from zkmargin.circuits.layout import AllocatedPublic, PublicLayout
from zkmargin.circuits.parts import RateInputs, SlotValues, cross_terms, open_commitment, rate_template
from zkmargin.circuits.protocol import Statement
from zkmargin.errors import CircuitError
from zkmargin.gadgets.poseidon_gadget import poseidon_hash_gadget
from zkmargin.gadgets.range import assert_signed
from zkmargin.margin.models import Account, Snapshot
from zkmargin.r1cs import ConstraintSystem, LinearCombination

SIGNED_BITS = LEAF_SUM_BITS + 1
"""Signed figures lie in [-2^230, 2^230): each positive part is below 2^LEAF_SUM_BITS."""
MAX_BATCH_DEPTH = 10
"""At most 1024 accounts a batch."""


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
class BookBatchWitness:
    """Private values of one batch: per slot the account's cross slot values, or None for a padding slot."""

    slots: tuple[SlotValues | None, ...]


def positive_part(cs: ConstraintSystem, x: LinearCombination, label: str) -> tuple[LinearCombination,
                                                                                      LinearCombination]:
    """(max(0, x), [x >= 0]) for x in [-2^230, 2^230), which this range-checks. Cost SIGNED_BITS + 2."""
    non_negative = assert_signed(cs, x, SIGNED_BITS, label)[-1]
    return cs.mul(x, non_negative, f"{label}/positive"), non_negative


@dataclass(frozen=True)
class BookBatchStatement:
    """The book batch statement over accounts of the dense cross statement `cross`, 2^batch_depth accounts a proof.

    By composition (as circuits.membership): the registry passes circuits.cross's statement in.
    """

    cross: DenseCross
    batch_depth: int
    hidden_sums: bool = False
    """Hidden-sums mode (id suffix -h): the batch sums stay private; the public batch root hash binds them."""
    model: ClassVar[str] = "book-cross"

    def __post_init__(self) -> None:
        if not isinstance(self.batch_depth, int) or not 1 <= self.batch_depth <= MAX_BATCH_DEPTH:
            raise CircuitError(f"a book batch holds 2^1 .. 2^{MAX_BATCH_DEPTH} accounts")

    @property
    def n_positions(self) -> int:
        """N: the cross statement's instrument slots."""
        return self.cross.n_positions

    @property
    def n_collateral(self) -> int:
        """K: the cross statement's asset slots (deposit figures)."""
        return self.cross.n_collateral

    @property
    def batch_size(self) -> int:
        """B: accounts (slots) a batch."""
        return 1 << self.batch_depth

    @property
    def circuit_id(self) -> str:
        """book-cross-n<N>-k<K>-b<B>, plus -h in hidden-sums mode."""
        return f"{self.model}-n{self.n_positions}-k{self.n_collateral}-b{self.batch_size}" + (
            "-h" if self.hidden_sums else "")

    @functools.cached_property
    def layout(self) -> PublicLayout[RateInputs]:
        """batch_root, context, the batch sums (none in hidden-sums mode); then the cross snapshot part."""
        sums = () if self.hidden_sums else sum_names(self.n_collateral)
        return PublicLayout(rate_template(self.n_positions, self.n_collateral),
                            header=("batch_root", "context", *sums))

    def snapshot_values(self, snapshot: Snapshot) -> RateInputs:
        """The cross statement's snapshot values (the verifier's own, range-checked)."""
        return self.cross.snapshot_values(snapshot)

    def synthesize(self, cs: ConstraintSystem, inputs: AllocatedPublic[RateInputs],
                   witness: BookBatchWitness | None) -> LinearCombination:
        """Every slot's leaf from its committed state, the batch tree, and its root and sums as public."""
        if witness is not None and len(witness.slots) != self.batch_size:
            raise CircuitError(f"{self.circuit_id} takes {self.batch_size} slots, got {len(witness.slots)}")
        nodes = []
        for s in range(self.batch_size):
            slot = None if witness is None else witness.slots[s]
            with cs.namespace(f"slot[{s}]"):
                nodes.append(self._leaf(cs, inputs, witness is not None, slot))
        for level in range(1, self.batch_depth + 1):
            with cs.namespace(f"level[{level}]"):
                nodes = [self._parent(cs, level, nodes[i], nodes[i + 1], i // 2) for i in range(0, len(nodes), 2)]
        root_hash, root_sums = nodes[0]
        with cs.namespace("root"):
            cs.assert_equal(root_hash, inputs.commitment, "batch_root")
            # Hidden mode: no sum is public (inputs.extra is empty); the root hash binds the root's children's sums.
            for name, value, public in zip(sum_names(self.n_collateral), root_sums, inputs.extra):
                cs.assert_equal(value, public, name)
        return inputs.context

    def _leaf(self, cs: ConstraintSystem, inputs: AllocatedPublic[RateInputs], has_values: bool,
              slot: SlotValues | None) -> tuple[LinearCombination, list[LinearCombination]]:
        values = (slot or self.padding(inputs_digest(inputs))) if has_values else None
        present = cs.private_input("present", None if not has_values else int(slot is not None))
        cs.assert_bool(present, "present_bool")
        terms = cross_terms(cs, inputs.snapshot, values)
        commitment = cs.private_input("commitment", None if values is None else self.cross.commitment(values))
        open_commitment(cs, commitment, inputs.snapshot.layout_digest, terms.packed,
                        None if values is None else values.salt, self.cross.domain_tag)
        equity = terms.collateral_value + terms.upnl
        pnl_owed, _ = positive_part(cs, terms.upnl, "pnl_sign")
        bad_debt, _ = positive_part(cs, cs.constant(0) - equity, "equity_sign")
        excess = equity - terms.maintenance
        healthy = assert_signed(cs, excess, SIGNED_BITS, "excess_sign")[-1]
        below = cs.one - healthy
        shortfall = cs.mul(cs.constant(0) - excess, below, "shortfall")
        figures = [cs.one, *terms.amounts, pnl_owed, bad_debt, below, shortfall]
        sums = [cs.mul(present, f, f"sums/{name}") for f, name in zip(figures, sum_names(self.n_collateral))]
        with cs.namespace("leaf"):
            digest = poseidon_hash_gadget(cs, [commitment, *sums], book_tag(0, self.n_collateral))
        return cs.mul(present, digest, "leaf"), sums

    def _parent(self, cs: ConstraintSystem, level: int, left: tuple[LinearCombination, list[LinearCombination]],
                right: tuple[LinearCombination, list[LinearCombination]], index: int
                ) -> tuple[LinearCombination, list[LinearCombination]]:
        # No range check here: every leaf figure is range-checked in _leaf, so a sum over 2^level leaves cannot wrap.
        with cs.namespace(f"node[{index}]"):
            return book_parent(cs, level, self.n_collateral, left, right)

    def padding(self, layout_digest: int) -> SlotValues:
        """The slot values of a padding slot: all zero, salt 0 (its sums are zeroed by present = 0)."""
        return SlotValues((0,) * self.n_positions, (0,) * self.n_positions, (0,) * self.n_collateral, 0,
                          layout_digest)

    def entry(self, account: Account, snapshot: Snapshot, salt: int) -> SlotValues:
        """One account's slot values (the cross witness its commitment opens)."""
        return self.cross.witness(account, snapshot, salt)

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> BookBatchWitness:
        """A batch of this one account, the rest padding (batches of many: batch_witness)."""
        return batch_witness(self, [self.entry(account, snapshot, salt)])

    def commitment(self, witness: BookBatchWitness) -> int:
        """Not a commitment: a batch has a root (zkmargin.book.batches.batch_node computes it)."""
        raise CircuitError(f"{self.circuit_id} has a batch root, not a commitment")

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Nothing: the book counts every account, healthy or not."""


def inputs_digest(inputs: AllocatedPublic[RateInputs]) -> int:
    """The layout digest's value (prove mode)."""
    value = inputs.snapshot.layout_digest.value
    if value is None:
        raise CircuitError("the layout digest has no value")
    return value


def batch_witness(statement: BookBatchStatement, entries: Sequence[SlotValues]) -> BookBatchWitness:
    """A batch witness: the entries in order, then padding slots up to B."""
    if len(entries) > statement.batch_size:
        raise CircuitError(f"{len(entries)} accounts do not fit a batch of {statement.batch_size}")
    return BookBatchWitness((*entries, *(None,) * (statement.batch_size - len(entries))))
