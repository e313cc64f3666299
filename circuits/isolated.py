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

from circuits.cross import (
    SCALE_E8,
    SLACK_BITS,
    VALUE_BITS,
    CrossMarginCircuit,
    CrossPublic,
    allocate_public_inputs,
    assert_covers,
    collateral_terms,
    open_commitment,
    position_terms,
)
from zkmargin.errors import CircuitError, MarginCallError
from zkmargin.gadgets.range import assert_unsigned
from zkmargin.margin.commitment import QUANTITY_OFFSET, commitment_domain_tag
from zkmargin.margin.isolated import compute_isolated_margin
from zkmargin.margin.models import Account, Snapshot, slot_layout
from zkmargin.r1cs import ConstraintSystem, LinearCombination

ISOLATED_SLACK_BITS = 221
MODEL_TAG = 2
"""Commitment domain-tag version of this statement (cross uses 1)."""


@dataclass(frozen=True)
class IsolatedWitness:
    """Cross slot values plus, per position slot, the isolation flag, allocation and its asset slot."""

    quantities_e8: tuple[int, ...]
    entry_prices_e8: tuple[int, ...]
    amounts_e8: tuple[int, ...]
    salt: int
    isolated_flags: tuple[int, ...]
    isolated_amounts_e8: tuple[int, ...]
    isolated_asset_slots: tuple[int, ...]


def pack_position(quantity_e8: int, entry_e8: int, flag: int, amount_e8: int, asset_slot: int) -> int:
    """(q + 2^63) + entry 2^64 + flag 2^128 + amount 2^129 + asset slot 2^193 (< 2^203)."""
    return (quantity_e8 + QUANTITY_OFFSET) + (entry_e8 << 64) + (flag << 128) + (amount_e8 << 129) + (asset_slot << 193)


@dataclass(frozen=True)
class IsolatedMarginCircuit(CrossMarginCircuit):
    """The isolated-margin statement at capacity (n_positions, n_collateral)."""

    model = "isolated"

    def synthesize(  # type: ignore[override]  # each statement has its own witness type
        self, cs: ConstraintSystem, public: CrossPublic | None = None, witness: IsolatedWitness | None = None
    ) -> None:
        """Add the statement's variables and constraints to cs."""
        inputs = allocate_public_inputs(cs, self, public, witness)
        wv = inputs.witness_value
        k = self.n_collateral
        # price * (1e8 - haircut) per asset, once: positions select it with their one-hot choice.
        unit_values = [cs.mul(inputs.prices[j], cs.constant(SCALE_E8) - inputs.haircuts[j], f"unit_value[{j}]")
                       for j in range(k)]
        pool_net = cs.constant(0)
        packed: list[LinearCombination] = []
        for i in range(self.n_positions):
            with cs.namespace(f"positions[{i}]"):
                q, entry, upnl, maint = position_terms(cs, inputs, i)
                flag = cs.private_input("isolated", wv("isolated_flags", i))
                cs.assert_bool(flag, "isolated_bool")
                amount = cs.private_input("isolated_amount_e8", wv("isolated_amounts_e8", i))
                assert_unsigned(cs, amount, VALUE_BITS, "isolated_amount_range")
                cs.enforce(amount, cs.one - flag, cs.constant(0), "no_allocation_unless_isolated")
                slot = wv("isolated_asset_slots", i)
                onehot = []
                for j in range(k):
                    bit = cs.private_input(f"asset_choice[{j}]", None if slot is None else int(
                        wv("isolated_flags", i) == 1 and slot == j))
                    cs.assert_bool(bit, f"asset_choice[{j}]/bool")
                    onehot.append(bit)
                cs.assert_equal(sum_lcs(cs, onehot), flag, "one_asset_iff_isolated")
                unit_value = sum_lcs(cs, [cs.mul(b, unit_values[j], f"select_unit_value[{j}]")
                                          for j, b in enumerate(onehot)])
                allocated = cs.mul(amount, unit_value, "allocated_value") * SCALE_E8
                net = upnl * SCALE_E8 - maint
                own_net = cs.mul(flag, net, "isolated_net")
                # A cross slot has no allocation (amount 0) and own_net 0, so its check is 0 >= 0.
                assert_unsigned(cs, allocated + own_net, ISOLATED_SLACK_BITS, "isolated_covers_maintenance")
                pool_net = pool_net + net - own_net
                asset_index = cs.constant(0)
                for j, bit in enumerate(onehot):
                    asset_index = asset_index + bit * j
                packed.append(q + QUANTITY_OFFSET + entry * (1 << 64) + flag * (1 << 128) + amount * (1 << 129)
                              + asset_index * (1 << 193))
        collateral_value = collateral_terms(cs, inputs, packed)
        open_commitment(cs, inputs, packed, self.domain_tag)
        with cs.namespace("solvency"):
            assert_covers(cs, collateral_value + pool_net, cs.constant(0), SLACK_BITS, "pool_covers_maintenance")

    @property
    def domain_tag(self) -> int:
        """Commitment domain tag: statement version 2 and the capacity."""
        return commitment_domain_tag(self.n_positions, self.n_collateral) + ((MODEL_TAG - 1) << 64)

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> IsolatedWitness:  # type: ignore[override]
        """Private slot values in the snapshot's layout."""
        self.check_fits(snapshot)
        quantities, entries, amounts = slot_layout(account, snapshot, self.n_positions, self.n_collateral,
                                                   allow_isolated=True)
        asset_slots = {a.asset: j for j, a in enumerate(snapshot.assets)}
        held = {p.instrument: p for p in account.positions}
        flags, allocations, slots = [0] * self.n_positions, [0] * self.n_positions, [0] * self.n_positions
        for i, quote in enumerate(snapshot.instruments):
            position = held.get(quote.instrument)
            if position is not None and position.is_isolated:
                asset = position.isolated_asset or ""
                flags[i], allocations[i], slots[i] = 1, position.isolated_amount_e8, asset_slots[asset]
        return IsolatedWitness(tuple(quantities), tuple(entries), tuple(amounts), salt, tuple(flags),
                               tuple(allocations), tuple(slots))

    def commitment(self, witness: IsolatedWitness) -> int:  # type: ignore[override]
        """The commitment this witness opens."""
        from zkmargin.gadgets.poseidon import poseidon_hash
        from zkmargin.margin.commitment import commitment_elements

        if len(witness.quantities_e8) != self.n_positions:
            raise CircuitError("witness does not match the capacity")
        cross = commitment_elements(witness.quantities_e8, witness.entry_prices_e8, witness.amounts_e8, witness.salt)
        positions = [
            pack_position(q, e, f, a, s)
            for q, e, f, a, s in zip(witness.quantities_e8, witness.entry_prices_e8, witness.isolated_flags,
                                     witness.isolated_amounts_e8, witness.isolated_asset_slots)
        ]
        return poseidon_hash(positions + cross[self.n_positions :], self.domain_tag)

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Raise MarginCallError naming the failing check."""
        report = compute_isolated_margin(account, snapshot)
        if not report.healthy:
            raise MarginCallError(f"account is subject to a margin call: {report.first_failure()}")


def sum_lcs(cs: ConstraintSystem, terms: list[LinearCombination]) -> LinearCombination:
    """A free sum of linear combinations."""
    total = cs.constant(0)
    for term in terms:
        total = total + term
    return total
