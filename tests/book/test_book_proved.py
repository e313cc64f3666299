"""The book proved for real (small capacity): batches, the native top, and what an auditor and a trader refuse."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.book.builders import book_circuit
from tests.book.proved import ACCOUNTS, CIRCUIT_ID, KEY, SALTS, SNAPSHOT, keys, leaves, published, signed_root
from tests.circuits.builders import E8, make_account
from zkmargin.book.document import (
    PublishedBook,
    book_to_json,
    check_book_signature,
    parse_book,
)
from zkmargin.book.reference import book_totals
from zkmargin.book.tree import BookNode, BookTree
from zkmargin.circuits.book_proving import check_own_leaf, verify_book
from zkmargin.errors import BadSignatureError, EncodingError, WrongVenueError
from zkmargin.venue.attestation import VenueSigningKey, snapshot_digest


def verdict(book: PublishedBook, snapshot=SNAPSHOT):
    return verify_book(book_circuit(CIRCUIT_ID), keys().vk, snapshot, parse_book(book_to_json(book)),
                       KEY.public_key(SNAPSHOT.venue))


def test_an_honest_book_verifies_and_carries_the_reference_totals():
    book = published()
    assert verdict(book).valid
    assert book.root.sums == book_totals(ACCOUNTS, SNAPSHOT, 1)


def test_a_batch_moved_or_listed_twice_is_named():
    book = published()
    swapped = replace(book, batches=(replace(book.batches[1], index=0), replace(book.batches[0], index=1)))
    assert (verdict(swapped).valid, verdict(swapped).failing_batch) == (False, 0)
    twice = replace(book, batches=(book.batches[0], replace(book.batches[0], index=1)))
    assert (verdict(twice).valid, verdict(twice).failing_batch) == (False, 1)


def test_a_dropped_batch_or_understated_total_breaks_the_top():
    book = published()
    dropped = replace(book, batches=book.batches[:1])
    assert (verdict(dropped).valid, verdict(dropped).failing_batch) == (False, None)
    smaller = replace(book.root.sums, deposits_e8=(book.root.sums.deposits_e8[0] - 1,))
    understated = replace(book, root=BookNode(book.root.hash, smaller))
    assert "totals" in verdict(understated).reason


def test_a_batch_with_other_sums_than_it_proved_is_named():
    book = published()
    batch = book.batches[0]
    assert batch.root.sums.bad_debt_e32 > 0
    lower = replace(batch.root.sums, bad_debt_e32=0)  # hide the underwater account's bad debt
    forged = replace(book, batches=(replace(batch, root=BookNode(batch.root.hash, lower)), book.batches[1]))
    assert (verdict(forged).valid, verdict(forged).failing_batch) == (False, 0)


def test_a_book_of_another_snapshot_is_refused():
    later = replace(SNAPSHOT, timestamp="2026-11-25T00:00:00Z")
    book = published()
    assert not verdict(book, later).valid
    # Even relabelled with the other snapshot's digest, its batch proofs bound the first snapshot's context.
    relabelled = replace(book, snapshot_digest=snapshot_digest(later), signed_root=signed_root(KEY, later))
    assert (verdict(relabelled, later).valid, verdict(relabelled, later).failing_batch) == (False, 0)


def test_a_trader_finds_its_own_leaf_and_not_a_changed_balance():
    circuit = book_circuit(CIRCUIT_ID)
    book = published()
    path = BookTree(leaves(), book.depth, 1).path(1)
    check_own_leaf(circuit, ACCOUNTS[1], SNAPSHOT, SALTS[1], path, book.root)
    richer = make_account({0: (-1 * E8, 50 * E8)}, {0: 2 * E8})
    with pytest.raises(EncodingError, match="not this account's"):
        check_own_leaf(circuit, richer, SNAPSHOT, SALTS[1], path, book.root)
    with pytest.raises(EncodingError):
        check_own_leaf(circuit, ACCOUNTS[1], SNAPSHOT, SALTS[1] + 1, path, book.root)


def test_the_venue_signature_covers_root_totals_and_snapshot():
    book = parse_book(book_to_json(published()))
    check_book_signature(book, KEY.public_key(SNAPSHOT.venue))
    smaller = replace(book.root.sums, deposits_e8=(book.root.sums.deposits_e8[0] - 1,))
    for forged in (replace(book, root=BookNode(book.root.hash, smaller)), replace(book, depth=book.depth + 1),
                   replace(book, snapshot_digest=bytes(32)), replace(book, signature=b"")):
        with pytest.raises(BadSignatureError):
            check_book_signature(forged, KEY.public_key(SNAPSHOT.venue))
    with pytest.raises(BadSignatureError):
        check_book_signature(book, VenueSigningKey.generate().public_key(SNAPSHOT.venue))
    with pytest.raises(WrongVenueError):
        check_book_signature(book, KEY.public_key("elsewhere"))
