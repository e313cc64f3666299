"""The context and scope a generated MarginVerifier recomputes on-chain, computed here for the prover.

context = sha256(CONTEXT_TAG || chain id || contract || beneficiary || epoch) mod r
scope   = sha256(SCOPE_TAG || chain id || contract || epoch) mod r              (membership mode)
each field one 32-byte ABI word (Solidity's abi.encode; tags are bytes32, left-aligned ASCII). SHA-256
because it is a precompile on every EVM chain and in Python's standard library (keccak is in neither
here). The contract compares the proof's context and scope with these values, so a proof made for one
beneficiary, contract, chain or epoch verifies for no other; the scope depends only on the epoch, so
an account's nullifier counts once per epoch in one contract (the nullifier comes from the trader's
identity secret, which every leaf of every snapshot binds, so a new salt or root does not change it).
"""

from __future__ import annotations

import hashlib

from zkmargin.errors import EncodingError
from zkmargin.field import R

CONTEXT_TAG = b"zkmargin/evm-context/v1".ljust(32, b"\x00")
SCOPE_TAG = b"zkmargin/evm-scope/v1".ljust(32, b"\x00")
ADDRESS_BYTES = 20
EPOCH_LIMIT = 2**64
"""Epochs are uint64 in the contract's ABI."""


def address_bytes(address: bytes | str, what: str = "address") -> bytes:
    """20 bytes from 20 bytes or their hex (with or without 0x); EncodingError otherwise."""
    if isinstance(address, str):
        text = address[2:] if address.lower().startswith("0x") else address
        try:
            address = bytes.fromhex(text)
        except ValueError:
            raise EncodingError(f"{what} {address[:80]!r} is not hexadecimal") from None
    if not isinstance(address, bytes) or len(address) != ADDRESS_BYTES:
        raise EncodingError(f"{what}: an address is 20 bytes (40 hex digits)")
    return bytes(address)


def check_epoch(epoch: int) -> int:
    """epoch if it is an integer in [0, 2^64), else EncodingError."""
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch < EPOCH_LIMIT:
        raise EncodingError(f"epoch must be an integer in [0, 2^64), got {epoch!r}")
    return epoch


def _chain_word(chain_id: int) -> bytes:
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or not 0 < chain_id < 2**256:
        raise EncodingError(f"chain id must be a positive integer below 2^256, got {chain_id!r}")
    return chain_id.to_bytes(32, "big")


def _address_word(address: bytes | str, what: str) -> bytes:
    return bytes(12) + address_bytes(address, what)


def _reduced(data: bytes) -> int:
    return int.from_bytes(hashlib.sha256(data).digest(), "big") % R


def onchain_context(chain_id: int, contract: bytes | str, beneficiary: bytes | str, epoch: int) -> int:
    """The context MarginVerifier.contextFor(beneficiary, epoch) returns on that chain and contract."""
    if int.from_bytes(address_bytes(beneficiary, "beneficiary"), "big") == 0:
        raise EncodingError("beneficiary: the zero address credits nobody; the contract refuses it")
    return _reduced(
        CONTEXT_TAG
        + _chain_word(chain_id)
        + _address_word(contract, "contract")
        + _address_word(beneficiary, "beneficiary")
        + check_epoch(epoch).to_bytes(32, "big")
    )


def onchain_scope(chain_id: int, contract: bytes | str, epoch: int) -> int:
    """The scope MarginVerifier.scopeFor(epoch) returns on that chain and contract (membership mode)."""
    return _reduced(
        SCOPE_TAG + _chain_word(chain_id) + _address_word(contract, "contract") + check_epoch(epoch).to_bytes(32, "big")
    )
