"""The top statement and the hidden mode proved for real (capacity n1-k1, batches of 2, a top over 2 batch roots)."""

from __future__ import annotations

from dataclasses import replace

from tests.book.builders import book_circuit
from tests.book.proved import (
    CIRCUIT_ID,
    HIDDEN_ID,
    HIDDEN_TOP_ID,
    KEY,
    SNAPSHOT,
    TOP_ID,
    hidden,
    keys,
    keys_of,
    reserves_at,
    signed_root,
    tree,
    with_top,
)
from zkmargin.book.batches import top_context
from zkmargin.book.document import HiddenBook, PublishedBook, book_to_json, parse_book, sign_book
from zkmargin.book.reserves import reserves_by_slot, sign_reserves
from zkmargin.circuits.book_proving import verify_book, verify_hidden_book, verify_top
from zkmargin.groth16.serialization import proof_from_json
from zkmargin.venue.attestation import VenueSigningKey


def audit(book: PublishedBook, snapshot=SNAPSHOT):
    top = (book_circuit(TOP_ID), keys_of(TOP_ID).vk)
    return verify_book(book_circuit(CIRCUIT_ID), keys().vk, snapshot, parse_book(book_to_json(book)),
                       KEY.public_key(SNAPSHOT.venue), top=top)


def audit_hidden(book: HiddenBook, snapshot=SNAPSHOT):
    parsed = parse_book(book_to_json(book))
    assert isinstance(parsed, HiddenBook)
    top = (book_circuit(HIDDEN_TOP_ID), keys_of(HIDDEN_TOP_ID).vk)
    return verify_hidden_book(book_circuit(HIDDEN_ID), keys_of(HIDDEN_ID).vk, snapshot, parsed,
                              KEY.public_key(SNAPSHOT.venue), top)


def test_an_auditor_book_with_its_top_proof_verifies_and_without_the_key_is_refused():
    assert audit(with_top()).valid
    no_key = verify_book(book_circuit(CIRCUIT_ID), keys().vk, SNAPSHOT, with_top(), KEY.public_key(SNAPSHOT.venue))
    assert not no_key.valid and "key" in no_key.reason


def test_a_top_proof_of_other_totals_is_refused_even_when_the_fold_agrees():
    """The top proof binds the totals on its own: the same proof does not verify for a total off by one."""
    book = with_top()
    off = replace(book.root.sums, accounts=book.root.sums.accounts + 1)
    proof = proof_from_json(book.top.proof)
    hashes = [b.root.hash for b in book.batches]
    circuit, vk = book_circuit(TOP_ID), keys_of(TOP_ID).vk
    assert verify_top(circuit, vk, SNAPSHOT, book.root.hash, hashes, book.root.sums.as_fields(), proof)
    assert not verify_top(circuit, vk, SNAPSHOT, book.root.hash, hashes, off.as_fields(), proof)


def test_a_top_from_another_snapshot_does_not_verify():
    book = with_top()
    later = replace(SNAPSHOT, timestamp="2026-11-25T00:00:00Z")
    assert top_context(later, 2) != top_context(SNAPSHOT, 2)
    proof = proof_from_json(book.top.proof)
    hashes = [b.root.hash for b in book.batches]
    assert not verify_top(book_circuit(TOP_ID), keys_of(TOP_ID).vk, later, book.root.hash, hashes,
                          book.root.sums.as_fields(), proof)


def test_a_hidden_book_verifies_and_shows_no_sum():
    book = hidden()
    assert audit_hidden(book).valid
    document = book_to_json(book)
    assert "root" not in document and all(set(b) == {"index", "root_hash", "attested_root", "proof"}
                                          for b in document["batches"])
    assert book.root_hash == tree().root.hash  # the same tree as the auditor book: traders' paths are unchanged


def test_hidden_reserves_below_liabilities_do_not_verify():
    """The venue re-signs reserves 1e-8 short and keeps its top proof: the top does not verify for them."""
    book = hidden()
    short = sign_book(KEY, replace(book, reserves=reserves_at(1)))
    verdict = audit_hidden(short)
    assert (verdict.valid, verdict.failing_batch) == (False, None) and "reserves" in verdict.reason
    assert reserves_by_slot(SNAPSHOT, reserves_at(1), 1)[0] < reserves_by_slot(SNAPSHOT, reserves_at(), 1)[0]


def test_a_hidden_batch_dropped_reordered_or_twice_is_named():
    book = hidden()
    b0, b1 = book.batches
    dropped = audit_hidden(sign_book(KEY, replace(book, batches=(b0,))))
    # Refused before the top proof: the remaining batch's attested root does not fold to the venue's signed root.
    assert (dropped.valid, dropped.failing_batch) == (False, None) and "attested roots do not fold" in dropped.reason
    swapped = audit_hidden(sign_book(KEY, replace(book, batches=(replace(b1, index=0), replace(b0, index=1)))))
    assert (swapped.valid, swapped.failing_batch) == (False, 0)
    twice = audit_hidden(sign_book(KEY, replace(book, batches=(b0, replace(b0, index=1)))))
    assert (twice.valid, twice.failing_batch) == (False, 1)


def test_a_hidden_book_against_another_snapshot_or_root_is_refused():
    book = hidden()
    later = replace(SNAPSHOT, timestamp="2026-11-25T00:00:00Z")
    assert not audit_hidden(book, later).valid
    other_root = audit_hidden(sign_book(KEY, replace(book, root_hash=book.root_hash + 1)))
    assert (other_root.valid, other_root.failing_batch) == (False, None)


def test_a_hidden_book_is_tied_to_the_venues_signed_root_as_an_auditor_book():
    """The attested fold of verify_book holds in hidden mode too: with every proof valid, a signed root over the
    venue's accounts in another order (a leaf that is not the venue's at its place), one of another key, or none is
    refused; so no hidden book verifies with an invented, dropped or moved account."""
    book = hidden()
    reordered = audit_hidden(sign_book(KEY, replace(book, signed_root=signed_root(order=(1, 0, 2)))))
    assert (reordered.valid, reordered.failing_batch) == (False, None)
    assert "attested roots do not fold" in reordered.reason
    other = audit_hidden(sign_book(KEY, replace(book, signed_root=signed_root(VenueSigningKey.generate()))))
    assert not other.valid and "signed root is not the venue's" in other.reason
    # None does not even parse (book.json requires signed_root); the library refuses it as well.
    top = (book_circuit(HIDDEN_TOP_ID), keys_of(HIDDEN_TOP_ID).vk)
    bare = verify_hidden_book(book_circuit(HIDDEN_ID), keys_of(HIDDEN_ID).vk, SNAPSHOT,
                              replace(book, signed_root=None), KEY.public_key(SNAPSHOT.venue), top)
    assert not bare.valid and "no signed root" in bare.reason
    moved = audit_hidden(sign_book(KEY, replace(book, batches=tuple(
        replace(b, attested_root=book.batches[1 - b.index].attested_root) for b in book.batches))))
    assert (moved.valid, moved.failing_batch) == (False, 0)


def test_a_top_of_another_mode_or_shape_is_refused_before_pairing():
    """The auditor book's top checked with the hidden top's key (or the hidden book's with the auditor's) is named."""
    book = with_top()
    wrong = verify_book(book_circuit(CIRCUIT_ID), keys().vk, SNAPSHOT, book, KEY.public_key(SNAPSHOT.venue),
                        top=(book_circuit(HIDDEN_TOP_ID), keys_of(HIDDEN_TOP_ID).vk))
    assert not wrong.valid and "proved with" in wrong.reason
    relabelled = replace(book, top=replace(book.top, circuit_id=HIDDEN_TOP_ID))
    other_mode = verify_book(book_circuit(CIRCUIT_ID), keys().vk, SNAPSHOT, relabelled, KEY.public_key(SNAPSHOT.venue),
                             top=(book_circuit(HIDDEN_TOP_ID), keys_of(HIDDEN_TOP_ID).vk))
    assert not other_mode.valid and "not the top of this book" in other_mode.reason
    hidden_with_auditor_top = verify_hidden_book(book_circuit(HIDDEN_ID), keys_of(HIDDEN_ID).vk, SNAPSHOT,
                                                 replace(hidden(), top=replace(hidden().top, circuit_id=TOP_ID)),
                                                 KEY.public_key(SNAPSHOT.venue), (book_circuit(TOP_ID), keys_of(TOP_ID).vk))
    assert not hidden_with_auditor_top.valid and "not the top of this book" in hidden_with_auditor_top.reason


def test_hidden_reserves_the_venue_did_not_sign_are_refused_by_the_library():
    """verify_hidden_book checks the reserves' signature itself with the venue key it is given: reserves signed by
    another key (the same amounts, so the top proof still verifies against them) are refused."""
    book = hidden()
    forged = replace(book.reserves, signature=sign_reserves(VenueSigningKey.generate(), SNAPSHOT,
                                                            dict(book.reserves.reserves_e8)).signature)
    verdict = audit_hidden(sign_book(KEY, replace(book, reserves=forged)))
    assert not verdict.valid and "not the venue's signed statement" in verdict.reason
    assert audit_hidden(book).valid
