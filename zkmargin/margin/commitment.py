"""The account-state commitment: Poseidon over the snapshot's slot layout, the slot values and a random salt.

Elements, in order (all below r, so packing never wraps):
  * the layout digest (253 bits, see layout_digest): which asset and instrument each
    slot holds, the model, the statement version and the capacity;
  * one per position slot: (quantity_e8 + 2^63) + entry_price_e8 * 2^64 (128 bits);
    the isolated statement packs its allocation into the same element (below 2^203);
  * collateral amounts, three 64-bit slots per element: a_0 + a_1 2^64 + a_2 2^128;
  * the salt (254 bits, fresh from the OS CSPRNG).
The sponge's domain tag fixes the statement and the capacity (N, K), so the zero
padding of the last block is unambiguous. Inside the circuit the layout digest is a
public input that the VERIFIER derives from its own snapshot, so a commitment made
under one layout never opens under another (reordered, inserted, delisted or renamed
assets or instruments, another model or capacity).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence

from zkmargin.errors import EncodingError
from zkmargin.field import R

OPENING_FORMAT = "zkmargin-opening/1"
"""The format of an opening: what lets the account holder (or an auditor) reopen a commitment."""

COMMITMENT_VERSION = 1
"""Domain-tag number of the cross statement; the other statements number on from it."""
LAYOUT_VERSION = 1
"""Version of the layout-digest encoding."""
LAYOUT_DOMAIN = "zkmargin/layout"
QUANTITY_OFFSET = 1 << 63
"""Signed 64-bit quantities are shifted into [0, 2^64) before packing."""
AMOUNTS_PER_ELEMENT = 3
SALT_BITS = 254


def commitment_domain_tag(n_positions: int, n_collateral: int, statement_tag: int = COMMITMENT_VERSION) -> int:
    """statement_tag * 2^64 + N * 2^32 + K: distinct for every statement (cross 1, isolated 2, ...) and capacity."""
    if not (0 <= n_positions < 2**32 and 0 <= n_collateral < 2**32):
        raise EncodingError("capacities must fit in 32 bits")
    return (statement_tag << 64) | (n_positions << 32) | n_collateral


def layout_digest(model: str, statement_tag: int, capacity: Sequence[int], assets: Sequence[str],
                  instruments: Sequence[str]) -> int:
    """The slot layout as a field element: SHA-256 of its canonical JSON, top 253 bits (< r).

    Canonical JSON: sorted keys, no spaces, ASCII escapes, of {"domain": "zkmargin/layout",
    "version": 1, "model", "statement_tag", "capacity": [N, K] (tiered: [N, K, T]), "assets":
    [names in slot order], "instruments": [names in slot order]}. JSON strings are quoted, so
    names never run into each other.
    """
    document = {"domain": LAYOUT_DOMAIN, "version": LAYOUT_VERSION, "model": model, "statement_tag": statement_tag,
                "capacity": list(capacity), "assets": list(assets), "instruments": list(instruments)}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return int.from_bytes(hashlib.sha256(canonical.encode()).digest(), "big") >> 3


def new_salt() -> int:
    """A fresh uniformly random 254-bit salt from the OS CSPRNG."""
    return secrets.randbits(SALT_BITS)


def check_layout_digest_and_salt(layout_digest_value: int, salt: int) -> None:
    """Both must be field elements; EncodingError otherwise."""
    if not 0 <= salt < R:
        raise EncodingError("salt must lie in [0, r)")
    if not 0 <= layout_digest_value < R:
        raise EncodingError("layout digest must lie in [0, r)")


def check_positions(quantities_e8: Sequence[int], entry_prices_e8: Sequence[int]) -> None:
    """Signed 64-bit quantities and 64-bit entry prices, one each per slot; EncodingError otherwise."""
    if len(quantities_e8) != len(entry_prices_e8):
        raise EncodingError("one entry price per position slot")
    # Out-of-range slots would make the packing ambiguous (two states, one commitment).
    for i, (q, e) in enumerate(zip(quantities_e8, entry_prices_e8)):
        if not (-QUANTITY_OFFSET <= q < QUANTITY_OFFSET and 0 <= e < 2**64):
            raise EncodingError(f"position slot {i}: quantity or entry price out of range")


def amount_elements(amounts_e8: Sequence[int]) -> list[int]:
    """Collateral amounts (each below 2^64), three per element."""
    for k, a in enumerate(amounts_e8):
        if not 0 <= a < 2**64:
            raise EncodingError(f"collateral slot {k}: amount out of range")
    return [sum(a << (64 * j) for j, a in enumerate(amounts_e8[start : start + AMOUNTS_PER_ELEMENT]))
            for start in range(0, len(amounts_e8), AMOUNTS_PER_ELEMENT)]


def commitment_elements(
    quantities_e8: Sequence[int], entry_prices_e8: Sequence[int], amounts_e8: Sequence[int], salt: int,
    layout_digest_value: int,
) -> list[int]:
    """The field elements the sponge absorbs, in the documented order."""
    check_layout_digest_and_salt(layout_digest_value, salt)
    check_positions(quantities_e8, entry_prices_e8)
    positions = [(q + QUANTITY_OFFSET) + (e << 64) for q, e in zip(quantities_e8, entry_prices_e8)]
    return [layout_digest_value, *positions, *amount_elements(amounts_e8), salt]


def commit(
    quantities_e8: Sequence[int], entry_prices_e8: Sequence[int], amounts_e8: Sequence[int], salt: int,
    layout_digest_value: int, statement_tag: int = COMMITMENT_VERSION,
) -> int:
    """Poseidon commitment to slot values under a layout (N = len(quantities), K = len(amounts)) and a statement."""
    tag = commitment_domain_tag(len(quantities_e8), len(amounts_e8), statement_tag)
    elements = commitment_elements(quantities_e8, entry_prices_e8, amounts_e8, salt, layout_digest_value)
    return commit_elements(elements, tag)


def commit_elements(elements: Sequence[int], tag: int) -> int:
    """Poseidon over already packed elements (each below r) under a domain tag."""
    from zkmargin.gadgets.poseidon import poseidon_hash

    return poseidon_hash(list(elements), tag)
