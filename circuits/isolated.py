"""Isolated margin: each isolated position against its own collateral, the rest as one cross pool.

Public inputs are exactly the cross statement's (commitment, context, per
instrument mark / rate / size, per asset price / haircut). Private, per position
slot, in addition to quantity and entry price: a flag (isolated or not), the
allocated amount and a one-hot choice of the allocation's asset. Which positions
are isolated, and with how much, stays private.

Checks, per slot i with flag f_i:
  alloc_value_i + f_i * (upnl_i - maint_i) in [0, 2^ISOLATED_SLACK_BITS)
  pool: sum collateral + sum (1 - f_i) (upnl_i - maint_i) in [0, 2^SLACK_BITS)
with alloc_value_i = amount_i * unit_sel * 1e8, unit_sel = sum_j onehot_ij price_j (1e8 - haircut_j);
sum_j onehot_ij = f_i and amount_i * (1 - f_i) = 0, so a non-isolated slot has no
allocation, selects no asset, and its own check reads 0 >= 0.

Overflow: as for cross, every term is below 2^218, so one position's
|alloc_value + upnl - maint| < 3 * 2^218 < 2^220 and r - 2^220 > 2^221 =
2^ISOLATED_SLACK_BITS: a negative isolated slack has no decomposition. The pool
sums at most MAX_SLOTS terms, as in cross.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from zkmargin.circuits.layout import AllocatedPublic, at
from zkmargin.circuits.parts import (
    SCALE_E8,
    SLACK_BITS,
    VALUE_BITS,
    RateCapacity,
    RateInputs,
    SlotValues,
    assert_covers,
    collateral_terms,
    notional_of,
    one_hot,
    open_commitment,
    position_core,
    select,
    slot_fields,
    slot_values,
    sum_lcs,
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
from zkmargin.r1cs import ConstraintSystem, LinearCombination

ISOLATED_SLACK_BITS = 221
STATEMENT_TAG = 2
"""Commitment domain-tag number of this statement (cross uses 1)."""


@dataclass(frozen=True)
class IsolatedWitness(SlotValues):
    """Cross slot values plus, per position slot, the isolation flag, allocation and its asset slot."""

    isolated_flags: tuple[int, ...]
    isolated_amounts_e8: tuple[int, ...]
    isolated_asset_slots: tuple[int, ...]


def pack_position(quantity_e8: int, entry_e8: int, flag: int, amount_e8: int, asset_slot: int) -> int:
    """(q + 2^63) + entry 2^64 + flag 2^128 + amount 2^129 + asset slot 2^193 (< 2^203)."""
    return (quantity_e8 + QUANTITY_OFFSET) + (entry_e8 << 64) + (flag << 128) + (amount_e8 << 129) + (asset_slot << 193)


@dataclass(frozen=True)
class IsolatedStatement(RateCapacity):
    """The isolated-margin statement at capacity (n_positions, n_collateral)."""

    model: ClassVar[str] = "isolated"
    statement_tag: ClassVar[int] = STATEMENT_TAG

    def synthesize(self, cs: ConstraintSystem, inputs: AllocatedPublic[RateInputs],
                   witness: IsolatedWitness | None) -> LinearCombination:
        """Per-position isolated checks, the pool check and the commitment opening."""
        w = witness
        quantities, entries, amounts, salt = slot_fields(w)
        assets = inputs.snapshot.assets
        # price * (1e8 - haircut) per asset, once: positions select it with their one-hot choice.
        unit_values = [cs.mul(a.price_e8, cs.constant(SCALE_E8) - a.haircut_e8, f"unit_value[{j}]")
                       for j, a in enumerate(assets)]
        pool_net = cs.constant(0)
        packed: list[LinearCombination] = []
        for i, slot in enumerate(inputs.snapshot.instruments):
            with cs.namespace(f"positions[{i}]"):
                core = position_core(cs, at(quantities, i), at(entries, i),
                                     slot.mark_price_e8, slot.contract_size_e8)
                maint = cs.mul(notional_of(core), slot.maintenance_rate_e8, "maintenance")
                flag = cs.private_input("isolated", None if w is None else w.isolated_flags[i])
                cs.assert_bool(flag, "isolated_bool")
                amount = cs.private_input("isolated_amount_e8", None if w is None else w.isolated_amounts_e8[i])
                assert_unsigned(cs, amount, VALUE_BITS, "isolated_amount_range")
                cs.enforce(amount, cs.one - flag, cs.constant(0), "no_allocation_unless_isolated")
                chosen = None if w is None else (w.isolated_asset_slots[i] if w.isolated_flags[i] == 1 else -1)
                onehot = one_hot(cs, chosen, len(assets), "asset_choice")
                cs.assert_equal(sum_lcs(cs, onehot), flag, "one_asset_iff_isolated")
                unit_value = select(cs, onehot, unit_values, "select_unit_value")
                allocated = cs.mul(amount, unit_value, "allocated_value") * SCALE_E8
                net = core.upnl * SCALE_E8 - maint
                own_net = cs.mul(flag, net, "isolated_net")
                # A cross slot has no allocation (amount 0) and own_net 0, so its check is 0 >= 0.
                assert_unsigned(cs, allocated + own_net, ISOLATED_SLACK_BITS, "isolated_covers_maintenance")
                pool_net = pool_net + net - own_net
                asset_index = cs.constant(0)
                for j, bit in enumerate(onehot):
                    asset_index = asset_index + bit * j
                packed.append(core.quantity + QUANTITY_OFFSET + core.entry * (1 << 64) + flag * (1 << 128)
                              + amount * (1 << 129) + asset_index * (1 << 193))
        collateral_value = collateral_terms(cs, amounts, assets, packed)
        salt_var = open_commitment(cs, inputs.commitment, inputs.snapshot.layout_digest, packed, salt, self.domain_tag)
        with cs.namespace("solvency"):
            assert_covers(cs, collateral_value + pool_net, cs.constant(0), SLACK_BITS, "pool_covers_maintenance")
        return salt_var

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> IsolatedWitness:
        """Private slot values in the snapshot's layout."""
        slots = slot_values(account, snapshot, self.n_positions, self.n_collateral, salt,
                             self.layout_digest(snapshot), allow_isolated=True)
        asset_slots = {a.asset: j for j, a in enumerate(snapshot.assets)}
        held = {p.instrument: p for p in account.positions}
        flags, allocations, chosen = [0] * self.n_positions, [0] * self.n_positions, [0] * self.n_positions
        for i, quote in enumerate(snapshot.instruments):
            position = held.get(quote.instrument)
            if position is not None and position.is_isolated:
                asset = position.isolated_asset or ""
                flags[i], allocations[i], chosen[i] = 1, position.isolated_amount_e8, asset_slots[asset]
        return IsolatedWitness(slots.quantities_e8, slots.entry_prices_e8, slots.amounts_e8, salt, slots.layout_digest,
                               tuple(flags), tuple(allocations), tuple(chosen))

    def commitment(self, witness: IsolatedWitness) -> int:
        """The commitment this witness opens."""
        if len(witness.quantities_e8) != self.n_positions:
            raise CircuitError("witness does not match the capacity")
        check_layout_digest_and_salt(witness.layout_digest, witness.salt)
        check_positions(witness.quantities_e8, witness.entry_prices_e8)
        positions = [
            pack_position(q, e, f, a, s)
            for q, e, f, a, s in zip(witness.quantities_e8, witness.entry_prices_e8, witness.isolated_flags,
                                     witness.isolated_amounts_e8, witness.isolated_asset_slots)
        ]
        elements = [witness.layout_digest, *positions, *amount_elements(witness.amounts_e8), witness.salt]
        return commit_elements(elements, self.domain_tag)

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Raise MarginCallError naming the failing check."""
        report = compute_isolated_margin(account, snapshot)
        if not report.healthy:
            raise MarginCallError(f"account is subject to a margin call: {report.first_failure()}")
