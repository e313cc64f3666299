"""The account-state commitment: Poseidon over the slot layout plus a random salt.

Elements, in order (all below 2^192 < r, so packing never wraps):
  * one per position slot: (quantity_e8 + 2^63) + entry_price_e8 * 2^64 (128 bits);
  * collateral amounts, three 64-bit slots per element: a_0 + a_1 2^64 + a_2 2^128;
  * the salt (254 bits, fresh from the OS CSPRNG).
The sponge's domain tag fixes the statement version and the capacity (N, K), so
the zero padding of the last block is unambiguous and a commitment made for one
capacity never opens at another.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from zkmargin.errors import EncodingError
from zkmargin.field import R

COMMITMENT_VERSION = 1
QUANTITY_OFFSET = 1 << 63
"""Signed 64-bit quantities are shifted into [0, 2^64) before packing."""
AMOUNTS_PER_ELEMENT = 3
SALT_BITS = 254


def commitment_domain_tag(n_positions: int, n_collateral: int, statement_tag: int = COMMITMENT_VERSION) -> int:
    """statement_tag * 2^64 + N * 2^32 + K: distinct for every statement (cross 1, isolated 2, ...) and capacity."""
    if not (0 <= n_positions < 2**32 and 0 <= n_collateral < 2**32):
        raise EncodingError("capacities must fit in 32 bits")
    return (statement_tag << 64) | (n_positions << 32) | n_collateral


def new_salt() -> int:
    """A fresh uniformly random 254-bit salt from the OS CSPRNG."""
    return secrets.randbits(SALT_BITS)


def commitment_elements(
    quantities_e8: Sequence[int], entry_prices_e8: Sequence[int], amounts_e8: Sequence[int], salt: int
) -> list[int]:
    """The field elements the sponge absorbs, in the documented order."""
    if len(quantities_e8) != len(entry_prices_e8):
        raise EncodingError("one entry price per position slot")
    if not 0 <= salt < R:
        raise EncodingError("salt must lie in [0, r)")
    # Out-of-range slots would make the packing ambiguous (two states, one commitment).
    for i, (q, e) in enumerate(zip(quantities_e8, entry_prices_e8)):
        if not (-QUANTITY_OFFSET <= q < QUANTITY_OFFSET and 0 <= e < 2**64):
            raise EncodingError(f"position slot {i}: quantity or entry price out of range")
    for k, a in enumerate(amounts_e8):
        if not 0 <= a < 2**64:
            raise EncodingError(f"collateral slot {k}: amount out of range")
    elements = [(q + QUANTITY_OFFSET) + (e << 64) for q, e in zip(quantities_e8, entry_prices_e8)]
    for start in range(0, len(amounts_e8), AMOUNTS_PER_ELEMENT):
        chunk = amounts_e8[start : start + AMOUNTS_PER_ELEMENT]
        elements.append(sum(a << (64 * j) for j, a in enumerate(chunk)))
    elements.append(salt)
    return elements


def commit(
    quantities_e8: Sequence[int], entry_prices_e8: Sequence[int], amounts_e8: Sequence[int], salt: int,
    statement_tag: int = COMMITMENT_VERSION,
) -> int:
    """Poseidon commitment to a slot layout (N = len(quantities), K = len(amounts)) under a statement's tag."""
    tag = commitment_domain_tag(len(quantities_e8), len(amounts_e8), statement_tag)
    return commit_elements(commitment_elements(quantities_e8, entry_prices_e8, amounts_e8, salt), tag)


def commit_elements(elements: Sequence[int], tag: int) -> int:
    """Poseidon over already packed elements (each below r) under a domain tag."""
    from zkmargin.gadgets.poseidon import poseidon_hash

    return poseidon_hash(list(elements), tag)
