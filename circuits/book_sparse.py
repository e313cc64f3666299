"""Sparse book batch: for B accounts of the sparse cross statement, each leaf's sums follow from its committed held
slots, and the batch root is right. A batch costs what its accounts hold (P held slots each), not what the venue
lists (N rows), as a trader's sparse proof does.

Public inputs, in this order: batch_root, context, the batch's sums, attested_root (as circuits.book_batch), then the sparse
cross snapshot part (layout digest, table digest, one packed row per table row, (price, haircut) per asset slot),
which the verifier builds from its own snapshot exactly as for cross-n<N>-p<P>-k<K>. context is
zkmargin.book.batches.batch_context(snapshot, batch index), the verifier's own value.
Private, per slot s < B: present_s, the account's sparse cross witness (held indices, quantities, entries,
amounts, salt) and its commitment.

Per slot, composed of the sparse cross statement's parts (circuits.sparse_parts) and the batch's model-agnostic
pieces (circuits.book_batch):
  * held_cross_terms: each held slot's index in [0, N), its row read privately, used slots first with strictly
    increasing indices, a zero quantity only as an all-zero unused slot (circuits/sparse_cross.py argues each);
  * the commitment opens as cross-n<N>-p<P>-k<K>'s: the same layout digest (a public input from the verifier's
    snapshot) and domain tag, so the leaf binds the very commitment the venue attested and the trader proves
    against; a dense cross commitment has another packing, tag and layout digest and opens nowhere here;
  * a padding slot holds nothing: (1 - present_s) * used = 0 for each of its held slots;
  * equity = collateral after haircuts + upnl, requirement = maintenance, and the leaf figures, the leaf and the
    batch tree exactly as the dense batch (slot_figures, book_leaf, batch_tree, assert_batch_root): the same
    account gives the same figures under both.
One lookup for the whole batch: every used held slot of every account reads a table row
(zkmargin.gadgets.selection.assert_lookups over B P queries, its challenge bound to both digests and every
query). A row is read at most once an account (strictly increasing indices), so at most B times a batch:
multiplicities are range-checked to b + 1 bits (B = 2^b < 2^(b+1)); the table costs (b + 2) N once a batch
instead of 2 N an account.

Overflow argument: as circuits/sparse_cross.py with P + K <= MAX_SLOTS = 1024 terms each below 2^218, so
|upnl| < 2^228, |equity| < 2^229 and |equity - requirement| < 2^230: slot_figures's SIGNED_BITS decompositions
exist and are unique; the batch sums are bounded as in circuits/book_batch.py.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from zkmargin.circuits.book_batch import (
    BatchCapacity,
    BookBatchWitness,
    BookLeaf,
    assert_batch_root,
    attested_leaf,
    batch_layout,
    batch_tree,
    book_leaf,
    check_slot_count,
    inputs_digest,
    slot_figures,
    slot_present,
)
from zkmargin.circuits.layout import AllocatedPublic, PublicLayout
from zkmargin.circuits.parts import collateral_terms, open_commitment
from zkmargin.circuits.protocol import Statement
from zkmargin.circuits.sparse_parts import (
    HeldSlot,
    SparseInputs,
    SparseWitness,
    finish_selection,
    held_cross_terms,
    sparse_layout,
)
from zkmargin.gadgets.merkle import merkle_subtree_gadget
from zkmargin.r1cs import ConstraintSystem, LinearCombination


class SparseCross(Statement[SparseWitness], Protocol):
    """What the batch needs of the sparse cross statement (circuits.sparse_cross), which the registry passes in."""

    @property
    def n_rows(self) -> int:
        """N: table rows."""
        ...

    @property
    def n_held(self) -> int:
        """P: held-position slots."""
        ...

    @property
    def n_collateral(self) -> int:
        """K: asset slots."""
        ...

    @property
    def selection(self) -> str:
        """How a held slot reads its row (lookup for registered ids)."""
        ...

    @property
    def domain_tag(self) -> int:
        """The commitment's sponge tag."""
        ...

    def check_witness(self, per_slot: Sequence[Sequence[Any]], amounts_e8: Sequence[int],
                      indices: Sequence[Any]) -> None:
        """CircuitError unless the witness has the statement's shape and indices in [0, r)."""
        ...


@dataclass(frozen=True)
class SparseBookBatchStatement(BatchCapacity):
    """The book batch statement over accounts of the sparse cross statement `cross`, 2^batch_depth accounts a proof."""

    cross: SparseCross
    hidden_sums: bool = False
    """Hidden-sums mode (id suffix -h), as the dense batch's: no sum public, the root hash binds them."""

    @property
    def n_rows(self) -> int:
        """N: the sparse table's rows."""
        return self.cross.n_rows

    @property
    def n_held(self) -> int:
        """P: held-position slots an account."""
        return self.cross.n_held

    @property
    def circuit_id(self) -> str:
        """book-cross-n<N>-p<P>-k<K>-b<B>, plus -h in hidden-sums mode."""
        return f"{self.model}-n{self.n_rows}-p{self.n_held}-k{self.n_collateral}-b{self.batch_size}" + (
            "-h" if self.hidden_sums else "")

    @functools.cached_property
    def layout(self) -> PublicLayout[SparseInputs[Any]]:
        """batch_root, context, the batch sums (none in hidden-sums mode), attested_root; then the sparse cross
        snapshot part."""
        return batch_layout(sparse_layout(self.n_rows, self.n_collateral).template, self.n_collateral,
                            self.hidden_sums)

    def synthesize(self, cs: ConstraintSystem, inputs: AllocatedPublic[SparseInputs[Any]],
                   witness: BookBatchWitness[SparseWitness] | None) -> LinearCombination:
        """Every slot's leaf from its committed held slots, one lookup for the batch, the tree, its root and sums."""
        check_slot_count(self, witness)
        leaves: list[BookLeaf] = []
        attested: list[LinearCombination] = []
        held: list[HeldSlot] = []
        for s in range(self.batch_size):
            slot = None if witness is None else witness.slots[s]
            with cs.namespace(f"slot[{s}]"):
                leaf, attested_s, slots = self._leaf(cs, inputs, witness is not None, slot,
                                                     None if witness is None else witness.identities[s])
            leaves.append(leaf)
            attested.append(attested_s)
            held.extend(slots)
        finish_selection(cs, inputs.snapshot, held, self.cross.selection, self.batch_size.bit_length())
        assert_batch_root(cs, inputs, batch_tree(cs, leaves, self.batch_depth, self.n_collateral),
                          merkle_subtree_gadget(cs, attested, "attested"), self.n_collateral, self.hidden_sums)
        return inputs.context

    def _leaf(self, cs: ConstraintSystem, inputs: AllocatedPublic[SparseInputs[Any]], has_values: bool,
              slot: SparseWitness | None, identity: int | None
              ) -> tuple[BookLeaf, LinearCombination, list[HeldSlot]]:
        values = (slot or self.padding(inputs_digest(inputs))) if has_values else None
        if values is not None:
            self.cross.check_witness([values.indices, values.quantities_e8, values.entry_prices_e8],
                                     values.amounts_e8, values.indices)
        present = slot_present(cs, has_values, slot is not None)
        held = held_cross_terms(cs, inputs.snapshot, self.n_held, self.cross.selection, values)
        zero = cs.constant(0)
        for s, h in enumerate(held.slots):
            cs.enforce(cs.one - present, h.used, zero, f"padding_holds_nothing[{s}]")
        amounts: list[LinearCombination] = []
        collateral_value = collateral_terms(cs, None if values is None else values.amounts_e8,
                                            inputs.snapshot.assets, held.packed, amounts)
        commitment = cs.private_input("commitment", None if values is None else self.cross.commitment(values))
        open_commitment(cs, commitment, inputs.snapshot.layout_digest, held.packed,
                        None if values is None else values.salt, self.cross.domain_tag)
        figures = slot_figures(cs, held.upnl, collateral_value + held.upnl, held.maintenance, amounts)
        return (book_leaf(cs, present, commitment, figures, held.maintenance, self.n_collateral),
                attested_leaf(cs, commitment, cs.private_input("identity", identity), present), held.slots)

    def padding(self, layout_digest: int) -> SparseWitness:
        """The witness of a padding slot: every held slot unused, no amount, salt 0 (present = 0 zeroes its sums)."""
        zeros = (0,) * self.n_held
        return SparseWitness(zeros, zeros, zeros, (0,) * self.n_collateral, 0, layout_digest)
