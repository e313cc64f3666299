"""Sparse cross margin: P held-position slots select their instruments privately from an N-row public table.

The proof costs what the account holds (P slots), not what the venue lists (N rows):
each held slot pays for one N-leaf multiplexer instead of every row paying for a slot.
Which instruments the account holds stays private; only "at most P positions" is public.

Public inputs, in this order: commitment, context, the layout digest, the table digest
(SHA-256 of the table's values, zkmargin.margin.sparse.table_value_digest), per table row one
element mark_size_rate_e8 = mark_price_e8 + contract_size_e8 2^64 + maintenance_rate_e8 2^128
(packed by the verifier AFTER its range checks, so one input a row instead of three), per asset
slot (price_e8, haircut_e8).
The table and both digests are the verifier's, from its own snapshot, folded once per snapshot;
the layout digest binds the whole ordered table (names, N, P, K, model).
Private: per held slot index, quantity_e8, entry_price_e8; per asset slot amount_e8; the salt.

Selection (measured in bench/cross.py --sparse: the lookup is the registered one; the mux
tree, P (N - 1) constraints, stays as the '-mux' variant for measurement):
  * index_s in [0, N): b = ceil(log2 N) boolean bits that sum to index_s, plus
    N - 1 - index_s in b bits when N is not a power of two. index_s + N has no such
    bits; index_s + r is the same field element (witness values >= r are refused
    before synthesis, public ones by the verifier's checks).
  * mark_s, size_s, rate_s are private and range-checked to 64, 64 and 27 bits, so
    row_s = mark_s + size_s 2^64 + rate_s 2^128 < 2^155 is an injective packing; the
    verifier's range checks (mark, size < 2^64, rate <= 1e8 < 2^27) put every table row
    in the same range, so row_s equals a row's packing only with that row's own values.
  * lookup (zkmargin.gadgets.selection.assert_lookups): every used slot's
    row_s + index_s 2^155 is a table entry t_j = row_j + j 2^155 (distinct per j, below
    2^169), i.e. index_s = j and (mark, size, rate)_s are row j's values. Its challenge is
    Poseidon(layout digest, table digest, every slot's value and used flag, the packed
    boolean multiplicities), computed by constraints, so a prover cannot choose it; the
    written argument (a pole at any value outside the table; at most N + P - 1 roots;
    grinding Q witnesses wins with probability below Q 2^-240) is the gadget's docstring.
  * mux ('-mux'): row_s = mux_tree(bits, rows); each node is lo + bit (hi - lo), exactly
    lo or hi for a boolean bit, so row_s = rows[index_s], and row_s = the unpacked parts.
  * used_s = [q_s != 0]: q_s * inv_s = used_s and q_s * (1 - used_s) = 0 force used_s to 0
    when q_s = 0 and to 1 otherwise (so used_s is boolean without a further constraint).
    An unused slot has index 0 and entry 0 ((1 - used_s) * index_s = 0, likewise entry):
    a zero quantity that names an instrument, or carries an entry price, has no assignment.
  * used slots come first (used_s * (1 - used_{s-1}) = 0) and their indices strictly
    increase: used_s * (index_s - index_{s-1} - 1) in [0, 2^b). With both indices in
    [0, N) the difference lies in (-N, N), and a negative one is r - d > 2^b, so two used
    slots never name one instrument and the order is canonical (one commitment per state).
An unused slot selects row 0 with q = 0: its upnl and maintenance are 0, so it changes nothing.

The margin arithmetic is dense cross's, term for term (the reference engine's integers,
scale 1e32), over the held slots:
  collateral_k = amount_k * price_k * (1e8 - haircut_k) * 1e8
  upnl_s       = q_s * (mark_s - entry_s) * size_s * 1e8
  maint_s      = |q_s| * mark_s * size_s * rate_s
and slack = sum collateral + sum upnl - sum maint lies in [0, 2^SLACK_BITS). An account's
positions outside the table cannot be proved (the witness builder refuses them), and a
held position that is left out of the slots is left out of the commitment the venue attested.

Overflow argument: as in cross.py with P + K <= MAX_SLOTS = 1024 terms, each below 2^218
in absolute value, so |slack| < 2^228 and r - 2^228 > 2^SLACK_BITS; N only widens the
table, never the sum.

Commitment: zkmargin.margin.sparse (layout digest, one element per held slot
(q + 2^63) + entry 2^64 + index 2^128 < 2^142, amounts three per element, salt) under
statement tag 7 with P and K in the domain tag; every part is range-bound here, so the
packing is injective.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from zkmargin.circuits.cross import require_healthy as require_cross_healthy
from zkmargin.circuits.layout import AllocatedPublic
from zkmargin.circuits.parts import SLACK_BITS, assert_covers, collateral_terms, open_commitment
from zkmargin.circuits.sparse_parts import (
    SparseCapacity,
    SparseInputs,
    SparseWitness,
    finish_selection,
    held_cross_terms,
)
from zkmargin.margin.models import Account, Snapshot
from zkmargin.r1cs import ConstraintSystem, LinearCombination

STATEMENT_TAG = 7
"""Commitment domain-tag number of the sparse cross statement."""


@dataclass(frozen=True)
class SparseCrossStatement(SparseCapacity):
    """Cross margin over P held slots selecting from an N-row table, with K collateral slots."""

    model: ClassVar[str] = "cross"
    statement_tag: ClassVar[int] = STATEMENT_TAG

    def synthesize(
        self, cs: ConstraintSystem, inputs: AllocatedPublic[SparseInputs[Any]], witness: SparseWitness | None
    ) -> LinearCombination:
        """Held slots (selection, order, position terms), collateral, the commitment opening and the solvency check."""
        w = witness
        if w is not None:
            self.check_witness([w.indices, w.quantities_e8, w.entry_prices_e8], w.amounts_e8, w.indices)
        held = held_cross_terms(cs, inputs.snapshot, self.n_held, self.selection, w)
        equity, maintenance, packed, slots = held.upnl, held.maintenance, held.packed, held.slots
        finish_selection(cs, inputs.snapshot, slots, self.selection)
        collateral_value = collateral_terms(cs, w and w.amounts_e8, inputs.snapshot.assets, packed)
        salt_var = open_commitment(
            cs, inputs.commitment, inputs.snapshot.layout_digest, packed, w and w.salt, self.domain_tag
        )
        with cs.namespace("solvency"):
            assert_covers(cs, equity + collateral_value, maintenance, SLACK_BITS, "equity_covers_maintenance")
        return salt_var

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Raise MarginCallError when the cross engine says margin call (the same engine as dense cross)."""
        require_cross_healthy(account, snapshot)
