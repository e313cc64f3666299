"""Sparse isolated margin: P held slots select their instruments privately; each may carry its own collateral.

The held-slot machinery is sparse cross's (circuits/sparse_parts.py; its soundness argument is
circuits/sparse_cross.py's docstring): public inputs are the same (commitment, context, layout
digest, table digest, one packed row per table row, (price, haircut) per asset slot), each held
slot's index is range-checked and its (index, row) looked up in the verifier's table, used slots
come first with strictly increasing indices, an unused slot is all zero.

Per held slot s, as in circuits/isolated.py: a flag f_s (isolated or not), the allocated amount
and a one-hot choice of its asset slot, with
  alloc_value_s + f_s * (upnl_s - maint_s) in [0, 2^ISOLATED_SLACK_BITS)
  pool: sum collateral + sum (1 - f_s) (upnl_s - maint_s) in [0, 2^SLACK_BITS)
where alloc_value_s = amount_s * sum_j onehot_sj price_j (1e8 - haircut_j) * 1e8,
sum_j onehot_sj = f_s and amount_s (1 - f_s) = 0. In addition (1 - used_s) f_s = 0: an unused slot
is never isolated, so it carries no allocation and chooses no asset (one state, one commitment).

Overflow: isolated.py's argument over P + K <= MAX_SLOTS terms (each below 2^218; one slot's
|alloc_value + upnl - maint| < 2^220 < r - 2^221).

Commitment: as sparse cross with each held slot's element
(q + 2^63) + entry 2^64 + flag 2^128 + amount 2^129 + asset slot 2^193 + index 2^203 (< 2^217,
every part range-bound: asset slot < K <= 1024 through the one-hot choice), statement tag 8.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from zkmargin.circuits.layout import AllocatedPublic, at
from zkmargin.circuits.parts import (
    SCALE_E8,
    SLACK_BITS,
    VALUE_BITS,
    assert_covers,
    collateral_terms,
    notional_of,
    one_hot,
    open_commitment,
    select,
    sum_lcs,
)
from zkmargin.circuits.sparse_parts import (
    HeldSlot,
    SparseCapacity,
    SparseInputs,
    SparseWitness,
    finish_selection,
    held_slot,
)
from zkmargin.errors import CircuitError, MarginCallError
from zkmargin.gadgets.range import assert_unsigned
from zkmargin.margin.commitment import (
    QUANTITY_OFFSET,
    amount_elements,
    check_layout_digest_and_salt,
    check_positions,
    commit_elements,
)
from zkmargin.margin.isolated import compute_isolated_margin
from zkmargin.margin.models import Account, Snapshot
from zkmargin.margin.sparse import MAX_TABLE_ROWS, held_slots
from zkmargin.r1cs import ConstraintSystem, LinearCombination

STATEMENT_TAG = 8
"""Commitment domain-tag number of the sparse isolated statement."""
ISOLATED_SLACK_BITS = 221
INDEX_SHIFT = 203


@dataclass(frozen=True)
class SparseIsolatedWitness(SparseWitness):
    """Held slots (ascending index, unused zero) with their isolation flag, allocation and asset slot."""

    isolated_flags: tuple[int, ...]
    isolated_amounts_e8: tuple[int, ...]
    isolated_asset_slots: tuple[int, ...]


def pack_held_isolated(index: int, quantity_e8: int, entry_e8: int, flag: int, amount_e8: int, asset_slot: int) -> int:
    """(q + 2^63) + entry 2^64 + flag 2^128 + amount 2^129 + asset slot 2^193 + index 2^203 (< 2^217)."""
    return (
        (quantity_e8 + QUANTITY_OFFSET)
        + (entry_e8 << 64)
        + (flag << 128)
        + (amount_e8 << 129)
        + (asset_slot << 193)
        + (index << INDEX_SHIFT)
    )


@dataclass(frozen=True)
class SparseIsolatedStatement(SparseCapacity):
    """Isolated margin over P held slots selecting from an N-row table, with K collateral slots."""

    model: ClassVar[str] = "isolated"
    statement_tag: ClassVar[int] = STATEMENT_TAG

    def synthesize(
        self, cs: ConstraintSystem, inputs: AllocatedPublic[SparseInputs[Any]], witness: SparseIsolatedWitness | None
    ) -> LinearCombination:
        """Held slots with their isolated checks, the pool check and the commitment opening."""
        w = witness
        if w is not None:
            per_slot = [w.indices, w.quantities_e8, w.entry_prices_e8, w.isolated_flags, w.isolated_amounts_e8,
                        w.isolated_asset_slots]
            self.check_witness(per_slot, w.amounts_e8, w.indices)
        rows = [row.mark_size_rate_e8 for row in inputs.snapshot.rows]
        assets = inputs.snapshot.assets
        # price * (1e8 - haircut) per asset, once: slots select it with their one-hot choice.
        unit_values = [
            cs.mul(a.price_e8, cs.constant(SCALE_E8) - a.haircut_e8, f"unit_value[{j}]") for j, a in enumerate(assets)
        ]
        pool_net = cs.constant(0)
        packed: list[LinearCombination] = []
        slots: list[HeldSlot] = []
        for s in range(self.n_held):
            with cs.namespace(f"held[{s}]"):
                slot = held_slot(
                    cs,
                    rows,
                    self.selection,
                    at(w and w.indices, s),
                    at(w and w.quantities_e8, s),
                    at(w and w.entry_prices_e8, s),
                    slots[-1] if slots else None,
                )
                slots.append(slot)
                core = slot.core
                maint = cs.mul(notional_of(core), slot.rate, "maintenance")
                flag = cs.private_input("isolated", None if w is None else w.isolated_flags[s])
                cs.assert_bool(flag, "isolated_bool")
                cs.enforce(cs.one - slot.used, flag, cs.constant(0), "unused_is_not_isolated")
                amount = cs.private_input("isolated_amount_e8", None if w is None else w.isolated_amounts_e8[s])
                assert_unsigned(cs, amount, VALUE_BITS, "isolated_amount_range")
                cs.enforce(amount, cs.one - flag, cs.constant(0), "no_allocation_unless_isolated")
                chosen = None if w is None else (w.isolated_asset_slots[s] if w.isolated_flags[s] == 1 else -1)
                onehot = one_hot(cs, chosen, len(assets), "asset_choice")
                cs.assert_equal(sum_lcs(cs, onehot), flag, "one_asset_iff_isolated")
                allocated = (
                    cs.mul(amount, select(cs, onehot, unit_values, "select_unit_value"), "allocated_value") * SCALE_E8
                )
                net = core.upnl * SCALE_E8 - maint
                own_net = cs.mul(flag, net, "isolated_net")
                assert_unsigned(cs, allocated + own_net, ISOLATED_SLACK_BITS, "isolated_covers_maintenance")
                pool_net = pool_net + net - own_net
                asset_index = sum_lcs(cs, [bit * j for j, bit in enumerate(onehot)])
                packed.append(
                    core.quantity
                    + QUANTITY_OFFSET
                    + core.entry * (1 << 64)
                    + flag * (1 << 128)
                    + amount * (1 << 129)
                    + asset_index * (1 << 193)
                    + slot.slot_index * (1 << INDEX_SHIFT)
                )
        finish_selection(cs, inputs.snapshot, slots, self.selection)
        collateral_value = collateral_terms(cs, w and w.amounts_e8, assets, packed)
        salt_var = open_commitment(
            cs, inputs.commitment, inputs.snapshot.layout_digest, packed, w and w.salt, self.domain_tag
        )
        with cs.namespace("solvency"):
            assert_covers(cs, collateral_value + pool_net, cs.constant(0), SLACK_BITS, "pool_covers_maintenance")
        return salt_var

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> SparseIsolatedWitness:
        """The account's held slots with their isolation; CapacityError when it holds more than P positions."""
        self.check_table_fits(snapshot)
        slots = held_slots(account, snapshot, self.n_held, self.n_collateral, allow_isolated=True)
        asset_slots = {a.asset: j for j, a in enumerate(snapshot.assets)}
        held = {p.instrument: p for p in account.positions}
        flags, allocations, chosen = [0] * self.n_held, [0] * self.n_held, [0] * self.n_held
        for s, (index, quantity) in enumerate(zip(slots.indices, slots.quantities_e8)):
            position = held.get(snapshot.instruments[index].instrument) if quantity else None
            if position is not None and position.is_isolated:
                flags[s], allocations[s] = 1, position.isolated_amount_e8
                chosen[s] = asset_slots[position.isolated_asset or ""]
        return SparseIsolatedWitness(
            slots.indices,
            slots.quantities_e8,
            slots.entry_prices_e8,
            slots.amounts_e8,
            salt,
            self.layout_digest(snapshot),
            tuple(flags),
            tuple(allocations),
            tuple(chosen),
        )

    def commitment(self, witness: SparseIsolatedWitness) -> int:
        """The commitment this witness opens."""
        if len(witness.indices) != self.n_held:
            raise CircuitError("witness does not match the capacity")
        check_layout_digest_and_salt(witness.layout_digest, witness.salt)
        check_positions(witness.quantities_e8, witness.entry_prices_e8)
        for s, (index, flag, asset) in enumerate(
            zip(witness.indices, witness.isolated_flags, witness.isolated_asset_slots)
        ):
            if not (0 <= index < MAX_TABLE_ROWS and flag in (0, 1) and 0 <= asset < self.n_collateral):
                raise CircuitError(f"held slot {s}: index, isolation flag or asset slot out of range")
        for s, amount in enumerate(witness.isolated_amounts_e8):
            if not 0 <= amount < 2**64:
                raise CircuitError(f"held slot {s}: isolated amount out of range")
        positions = [
            pack_held_isolated(*fields)
            for fields in zip(
                witness.indices,
                witness.quantities_e8,
                witness.entry_prices_e8,
                witness.isolated_flags,
                witness.isolated_amounts_e8,
                witness.isolated_asset_slots,
            )
        ]
        elements = [witness.layout_digest, *positions, *amount_elements(witness.amounts_e8), witness.salt]
        return commit_elements(elements, self.domain_tag)

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Raise MarginCallError naming the failing check (the same engine as dense isolated)."""
        report = compute_isolated_margin(account, snapshot)
        if not report.healthy:
            raise MarginCallError(f"account is subject to a margin call: {report.first_failure()}")
