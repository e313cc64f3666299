"""Cross margin: equity >= maintenance over one pool, proved against a committed account.

Public inputs, in this order: commitment, context, then per instrument slot
(mark_price_e8, maintenance_rate_e8, contract_size_e8), then per asset slot
(price_e8, haircut_e8). Private: per instrument slot quantity_e8 and
entry_price_e8, per asset slot amount_e8, and the salt.

The circuit computes exactly the reference engine's integers (scale 1e32):
  collateral_k = amount_k * price_k * (1e8 - haircut_k) * 1e8
  upnl_i       = q_i * (mark_i - entry_i) * size_i * 1e8
  maint_i      = |q_i| * mark_i * size_i * rate_i
and proves slack = sum collateral + sum upnl - sum maint lies in [0, 2^SLACK_BITS).

Overflow argument (why no sum wraps modulo r, r > 2^254):
  * private ranges, enforced here: |q| <= 2^63, entry < 2^64, amount < 2^64;
  * public ranges, enforced by ``snapshot_values`` before any proof is checked
    (the verifier builds them from a validated snapshot; they are not range-checked
    in the circuit): mark, price, size < 2^64, rate and haircut in [0, 1e8] < 2^27.
  * each term is below 2^218 in absolute value: collateral < 2^64+64+27+27 = 2^182,
    |upnl| < 2^63 * 2^64 * 2^64 * 2^27 = 2^218, maint < 2^63 * 2^64 * 2^64 * 2^27 = 2^218;
  * with N + K <= MAX_SLOTS = 1024 terms, |slack| < 1024 * 2^218 = 2^228 as an
    integer, so the field element equals the integer (when >= 0) or r - |slack|
    (when < 0); r - 2^228 > 2^230 = 2^SLACK_BITS, so a negative slack has no
    SLACK_BITS-bit decomposition and a healthy account's slack always has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from zkmargin.circuits.layout import AllocatedPublic, at
from zkmargin.circuits.parts import (
    SCALE_E8,
    SLACK_BITS,
    RateCapacity,
    RateInputs,
    SlotValues,
    assert_covers,
    collateral_terms,
    notional_of,
    open_commitment,
    packed_position,
    position_core,
    require_covers,
    slot_fields,
)
from zkmargin.margin.engine import compute_margin
from zkmargin.margin.models import Account, Snapshot
from zkmargin.r1cs import ConstraintSystem, LinearCombination

STATEMENT_TAG = 1
"""Commitment domain-tag number of this statement."""

CrossWitness = SlotValues


@dataclass(frozen=True)
class CrossStatement(RateCapacity):
    """The cross-margin statement at capacity (n_positions, n_collateral)."""

    model: ClassVar[str] = "cross"
    statement_tag: ClassVar[int] = STATEMENT_TAG

    def synthesize(self, cs: ConstraintSystem, inputs: AllocatedPublic[RateInputs],
                   witness: CrossWitness | None) -> LinearCombination:
        """Positions, collateral, the commitment opening and the solvency check."""
        w = witness
        quantities, entries, amounts, salt = slot_fields(w)
        equity = cs.constant(0)
        maintenance = cs.constant(0)
        packed: list[LinearCombination] = []
        for i, slot in enumerate(inputs.snapshot.instruments):
            with cs.namespace(f"positions[{i}]"):
                core = position_core(cs, at(quantities, i), at(entries, i),
                                     slot.mark_price_e8, slot.contract_size_e8)
                equity = equity + core.upnl * SCALE_E8
                maintenance = maintenance + cs.mul(notional_of(core), slot.maintenance_rate_e8,
                                                   "maintenance")
                packed.append(packed_position(core))
        collateral_value = collateral_terms(cs, amounts, inputs.snapshot.assets, packed)
        salt_var = open_commitment(cs, inputs.commitment, inputs.snapshot.layout_digest, packed, salt, self.domain_tag)
        with cs.namespace("solvency"):
            assert_covers(cs, equity + collateral_value, maintenance, SLACK_BITS, "equity_covers_maintenance")
        return salt_var

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Raise MarginCallError when the cross engine says margin call."""
        require_healthy(account, snapshot)


def require_healthy(account: Account, snapshot: Snapshot) -> None:
    """Raise MarginCallError (with both figures) when the reference engine says margin call."""
    report = compute_margin(account, snapshot)
    require_covers(report.healthy, report.equity_e32, report.maintenance_e32)
