"""The service tests' book: tests/book's proved book signed by the service tests' venue key, its paths and reserves."""

from __future__ import annotations

import functools
from dataclasses import replace

from tests.book.proved import CIRCUIT_ID, SNAPSHOT, hidden, keys, keys_of, leaves, published, signed_root, with_top
from tests.verifier_service.conftest import VENUE_KEY
from zkmargin.book.document import book_to_json, path_to_json, sign_book
from zkmargin.book.reserves import reserves_to_json, sign_reserves
from zkmargin.book.tree import BookTree
from zkmargin.groth16.serialization import vk_to_json
from zkmargin.venue.attestation import VenueSigningKey

OTHER_KEY = VenueSigningKey.generate()
"""A venue key the service does not hold for the book's venue."""


@functools.cache
def book_json() -> dict:
    """The proved book of tests/book, signed by the service tests' venue key."""
    return book_to_json(sign_book(VENUE_KEY, replace(published(), signature=b"", signed_root=signed_root(VENUE_KEY))))


def path_json(index: int) -> dict:
    """The inclusion path of the book's account `index`."""
    return path_to_json(f"acct-{index}", BookTree(leaves(), published().depth, 1).path(index))


def reserves_json(amount_e8: int, key: VenueSigningKey = VENUE_KEY) -> dict:
    """Reserves of amount_e8 in the book snapshot's one asset, signed with key."""
    return reserves_to_json(sign_reserves(key, SNAPSHOT, {"A0": amount_e8}))


def book_circuit_registration() -> dict:
    """The POST /v1/circuits body of the book's circuit."""
    return {"circuit_id": CIRCUIT_ID, "verification_key": vk_to_json(keys().vk)}


@functools.cache
def hidden_book_json() -> dict:
    """The hidden book of tests/book (reserves at the liabilities), its reserves and itself signed with VENUE_KEY."""
    book = hidden()
    signed = sign_reserves(VENUE_KEY, SNAPSHOT, dict(book.reserves.reserves_e8))
    return book_to_json(sign_book(VENUE_KEY, replace(book, reserves=signed, signature=b"",
                                                     signed_root=signed_root(VENUE_KEY))))


@functools.cache
def top_book_json() -> dict:
    """The auditor book with its top proof, signed with VENUE_KEY."""
    return book_to_json(sign_book(VENUE_KEY, replace(with_top(), signature=b"", signed_root=signed_root(VENUE_KEY))))


def registration(circuit_id: str) -> dict:
    """The POST /v1/circuits body of any book circuit of tests/book."""
    return {"circuit_id": circuit_id, "verification_key": vk_to_json(keys_of(circuit_id).vk)}
