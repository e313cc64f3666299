"""Holes found in the second adversarial review of the book (issue 27): each test failed before its fix."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.book.proved import CIRCUIT_ID, KEY, SNAPSHOT, signed_root
from zkmargin.book.document import PublishedBook, book_to_json, check_book_signature, parse_book, sign_book
from zkmargin.book.tree import empty_node
from zkmargin.errors import BadSignatureError
from zkmargin.venue.attestation import snapshot_digest


def _signed_book(root_order: tuple[int, ...]) -> PublishedBook:
    """A signed book (no batches: only its signature is looked at) carrying the venue tree over this order."""
    made = PublishedBook(SNAPSHOT.venue, CIRCUIT_ID, SNAPSHOT.snapshot_id, snapshot_digest(SNAPSHOT), 2, 1,
                         empty_node(2, 1), (), signed_root=signed_root(order=root_order))
    return parse_book(book_to_json(sign_book(KEY, made)))


def test_book_signature_covers_its_signed_root() -> None:
    # A trader's `book check` compares its membership root with the book file's signed_root without verifying the
    # batch proofs: if the venue's book signature did not cover that field, anyone passing the file on could put
    # the trader's own root there (both are venue-signed roots of this snapshot) and the check would pass for a
    # book whose leaves were verified against another venue tree.
    honest = _signed_book((0, 1, 2))
    check_book_signature(honest, KEY.public_key(SNAPSHOT.venue))
    swapped = replace(honest, signed_root=signed_root(order=(1, 0, 2)))
    with pytest.raises(BadSignatureError):
        check_book_signature(swapped, KEY.public_key(SNAPSHOT.venue))
    with pytest.raises(BadSignatureError):
        check_book_signature(replace(honest, signed_root=None), KEY.public_key(SNAPSHOT.venue))
