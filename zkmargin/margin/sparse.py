"""Sparse accounts: P held-position slots that name their instruments by index, and their commitment.

Held-slot layout (the one a sparse statement commits to and proves over):
  * the account's positions with a non-zero quantity, in ascending snapshot index,
    fill slots 0..h-1 (so used slots' indices strictly increase); slots h..P-1 are
    unused and hold index 0, quantity 0, entry 0;
  * collateral amounts in the snapshot's asset order, zero-padded to K (as dense).

Commitment elements, in order (all below r, packing injective because every part is
range-bound, in the circuit as here):
  * the layout digest (binds model, statement version, capacity (N, P, K) and the
    ordered names of the whole table);
  * one per held slot: (quantity_e8 + 2^63) + entry_price_e8 * 2^64 + index * 2^128
    (index < 2^14, so below 2^142);
  * collateral amounts, three per element; the salt.
The sponge's domain tag is statement_tag * 2^64 + P * 2^32 + K.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from zkmargin.errors import CapacityError, EncodingError
from zkmargin.margin.commitment import (
    QUANTITY_OFFSET,
    amount_elements,
    check_layout_digest_and_salt,
    check_positions,
    commit_elements,
    commitment_domain_tag,
)
from zkmargin.margin.models import Account, Snapshot, slot_layout

MAX_TABLE_ROWS = 9999
"""Largest instrument table a sparse statement reads (index below 2^14)."""
INDEX_SHIFT = 128


@dataclass(frozen=True)
class HeldSlots:
    """An account's held-position slots (ascending snapshot index, then unused zero slots) and collateral amounts."""

    indices: tuple[int, ...]
    quantities_e8: tuple[int, ...]
    entry_prices_e8: tuple[int, ...]
    amounts_e8: tuple[int, ...]


def held_slots(
    account: Account, snapshot: Snapshot, n_held: int, n_collateral: int, allow_isolated: bool = False
) -> HeldSlots:
    """The account's non-zero positions in ascending snapshot order, padded to n_held; CapacityError if more."""
    quantities, entries, amounts = slot_layout(
        account, snapshot, len(snapshot.instruments), n_collateral, allow_isolated=allow_isolated
    )
    held = [(i, q, e) for i, (q, e) in enumerate(zip(quantities, entries)) if q != 0]
    if len(held) > n_held:
        raise CapacityError(f"account holds {len(held)} positions; circuit capacity is {n_held} held positions")
    held += [(0, 0, 0)] * (n_held - len(held))
    return HeldSlots(
        tuple(i for i, _, _ in held), tuple(q for _, q, _ in held), tuple(e for _, _, e in held), tuple(amounts)
    )


def held_slot_elements(
    indices: Sequence[int], quantities_e8: Sequence[int], entry_prices_e8: Sequence[int]
) -> list[int]:
    """One element per held slot: (q + 2^63) + entry * 2^64 + index * 2^128; EncodingError when a part is out of range."""
    check_positions(quantities_e8, entry_prices_e8)
    if len(indices) != len(quantities_e8):
        raise EncodingError("one index per held slot")
    for s, index in enumerate(indices):
        if not isinstance(index, int) or not 0 <= index < MAX_TABLE_ROWS:
            raise EncodingError(f"held slot {s}: index out of range")
    return [
        (q + QUANTITY_OFFSET) + (e << 64) + (index << INDEX_SHIFT)
        for index, q, e in zip(indices, quantities_e8, entry_prices_e8)
    ]


def commit_held(slots: HeldSlots, salt: int, layout_digest_value: int, statement_tag: int) -> int:
    """Poseidon commitment to held slots and amounts under a layout digest and statement (tag binds P and K)."""
    check_layout_digest_and_salt(layout_digest_value, salt)
    elements = [
        layout_digest_value,
        *held_slot_elements(slots.indices, slots.quantities_e8, slots.entry_prices_e8),
        *amount_elements(slots.amounts_e8),
        salt,
    ]
    tag = commitment_domain_tag(len(slots.indices), len(slots.amounts_e8), statement_tag)
    return commit_elements(elements, tag)


TABLE_DOMAIN = "zkmargin/table"


def table_value_digest(rows: Sequence[Sequence[int]]) -> int:
    """The table's values as a field element: SHA-256 of their canonical JSON, top 253 bits (< r).

    Canonical JSON: {"domain": "zkmargin/table", "rows": [[mark_e8, rate_e8, size_e8], ...]} with sorted keys and
    no spaces (sparse tiered rows continue with floor_e8, cap_e8, rate_e8, amount_e8 per bracket). The verifier computes it from its own snapshot; a sparse lookup hashes it into its challenge.
    """
    document = {"domain": TABLE_DOMAIN, "rows": [list(row) for row in rows]}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(canonical.encode()).digest(), "big") >> 3
