"""A book's batch proofs go through the one verdict path: one weighted batch, the snapshot part folded, bisection
naming the failing batch; statements with a header of their own take it whole (ProofItem.leading)."""

from __future__ import annotations

import functools
from dataclasses import replace

import pytest

from tests.book.builders import book_circuit, spy_verify_batch
from tests.book.proved import CIRCUIT_ID, KEY, SNAPSHOT, keys, published
from zkmargin.backends import get_backend
from zkmargin.book.document import PublishedBook
from zkmargin.book.tree import BookNode
from zkmargin.circuits.book_proving import batch_leading, batch_verifier, verify_batch, verify_book
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.circuits.verification import ProofItem, SnapshotVerifier
from zkmargin.errors import PublicInputError, UnattestedError
from zkmargin.field import R
from zkmargin.groth16 import VerifyingKey, setup
from zkmargin.groth16.serialization import proof_from_json

TRADER_ID = "cross-n1-k1"


@functools.cache
def _trader_vk() -> VerifyingKey:
    """A trader circuit's key over the same snapshot capacity (one setup per session)."""
    return setup(circuit_from_id(TRADER_ID).compile()).vk


def _understated(book: PublishedBook, position: int) -> PublishedBook:
    """The book with batch `position` claiming one unit less of deposits than it proved."""
    batch = book.batches[position]
    lower = replace(batch.root.sums, deposits_e8=(batch.root.sums.deposits_e8[0] - 1,))
    forged = replace(batch, root=BookNode(batch.root.hash, lower))
    return replace(book, batches=tuple(forged if i == position else b for i, b in enumerate(book.batches)))


def _verdict(book: PublishedBook):
    return verify_book(book_circuit(CIRCUIT_ID), keys().vk, SNAPSHOT, book, KEY.public_key(SNAPSHOT.venue))


def test_every_batch_proof_is_checked_in_one_weighted_batch(monkeypatch):
    """verify_book hands all batch proofs to SnapshotVerifier.verify_batch at once (not groth16.verify per batch)."""
    calls = spy_verify_batch(monkeypatch)
    book = published()
    assert len(book.batches) == 2
    assert _verdict(book).valid
    assert calls == [(2, 1)]  # two proofs, one pairing check


def test_bisection_names_the_failing_batch_after_a_good_one():
    verdict = _verdict(_understated(published(), 1))
    assert (verdict.valid, verdict.failing_batch) == (False, 1)
    assert verdict.reason.startswith("batch 1:")


def test_every_failing_batch_is_found_and_the_first_named():
    both = _understated(_understated(published(), 0), 1)
    verdict = _verdict(both)
    assert (verdict.valid, verdict.failing_batch) == (False, 0)
    assert "1 more failing" in verdict.reason


def test_a_key_of_another_circuit_is_a_verdict_not_a_crash():
    verdict = verify_book(book_circuit(CIRCUIT_ID), _trader_vk(), SNAPSHOT, published(), KEY.public_key(SNAPSHOT.venue))
    assert not verdict.valid and verdict.failing_batch is None and "cannot be checked" in verdict.reason


# ----- leading items on the one path ------------------------------------------------------------------------------

def _batch(position: int = 0):
    book = published()
    batch = book.batches[position]
    return batch_leading(SNAPSHOT, batch.index, batch.root, batch.attested_root), proof_from_json(batch.proof, None)


def test_verify_leading_accepts_the_header_it_was_proved_for_and_nothing_else():
    verifier = batch_verifier(book_circuit(CIRCUIT_ID), keys().vk, SNAPSHOT)
    leading, proof = _batch(0)
    assert verifier.verify_leading(leading, proof)
    first = published().batches[0]
    assert not verifier.verify_leading(batch_leading(SNAPSHOT, 1, first.root, first.attested_root), proof)
    bumped = (leading[0], leading[1], leading[2] + 1, *leading[3:])
    assert not verifier.verify_leading(bumped, proof)
    assert verify_batch(book_circuit(CIRCUIT_ID), keys().vk, SNAPSHOT, 0, first.root, first.attested_root, proof)


@pytest.mark.parametrize("case", ["short", "long", "at_r", "plus_r", "named_fields"])
def test_leading_items_that_do_not_fit_are_malformed(case):
    verifier = batch_verifier(book_circuit(CIRCUIT_ID), keys().vk, SNAPSHOT)
    leading, proof = _batch(0)
    item = {"short": ProofItem(proof=proof, leading=leading[:-1]),
            "long": ProofItem(proof=proof, leading=(*leading, 0)),
            "at_r": ProofItem(proof=proof, leading=(R, *leading[1:])),
            "plus_r": ProofItem(proof=proof, leading=(leading[0] + R, *leading[1:])),  # x + r is x in the field
            "named_fields": ProofItem(leading[0], leading[1], proof, leading=leading)}[case]
    verdict = verifier.verify_batch([item, ProofItem(proof=proof, leading=leading)]).verdicts
    assert verdict[0].outcome == "malformed" and isinstance(verdict[0].cause, PublicInputError)
    assert verdict[1].valid


def test_a_book_batch_item_without_leading_is_malformed():
    verifier = batch_verifier(book_circuit(CIRCUIT_ID), keys().vk, SNAPSHOT)
    leading, proof = _batch(0)
    verdict = verifier.verify_batch([ProofItem(leading[0], leading[1], proof)]).verdicts[0]
    assert verdict.outcome == "malformed" and "as leading" in verdict.error


def test_a_named_circuit_refuses_leading_items():
    """A trader's circuit never takes a whole header: its commitment must meet the attestation policy."""
    verifier = SnapshotVerifier(circuit_from_id(TRADER_ID), _trader_vk(), SNAPSHOT, get_backend())
    _, proof = _batch(0)
    verdict = verifier.verify_batch([ProofItem(proof=proof, leading=(1, 2))]).verdicts[0]
    assert verdict.outcome == "malformed" and "not leading" in verdict.error
    with pytest.raises(PublicInputError):
        verifier.verify_leading((1, 2), proof)


def test_under_a_venue_key_leading_proofs_are_refused_not_waved_through():
    verifier = batch_verifier(book_circuit(CIRCUIT_ID), keys().vk, SNAPSHOT).with_venue_key(
        KEY.public_key(SNAPSHOT.venue))
    leading, proof = _batch(0)
    with pytest.raises(UnattestedError, match="no per-proof attestation"):
        verifier.verify_leading(leading, proof)
