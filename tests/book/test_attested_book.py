"""A venue that builds its book over other leaves than the ones it attested, every batch honestly proved.

Each batch below is a real Groth16 proof (book-cross-n1-k1-b2) of whatever accounts the venue puts in it, so the
circuit is satisfied and the book's root and totals are the honest ones over those leaves; only the tie to the
venue's signed root (the venue run's root.json, over five attested accounts at depth 3) can refuse it. Before
that tie, verify_book accepted every one of these books: the count-only `--root` check of the CLI missed all
those that keep the count.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from dataclasses import replace

import pytest

from tests.book.builders import book_circuit, identity
from tests.book.proved import CIRCUIT_ID, KEY, SNAPSHOT, keys
from tests.circuits.builders import E8, make_account
from zkmargin.book.batches import book_depth, top_node
from zkmargin.book.document import PublishedBatch, PublishedBook, book_to_json, parse_book, sign_book
from zkmargin.book.reference import book_totals
from zkmargin.circuits.book_proving import BookVerdict, account_leaf, check_attested_place, prove_batch, verify_book
from zkmargin.errors import EncodingError
from zkmargin.groth16.serialization import proof_to_json
from zkmargin.venue.attestation import SignedRoot, VenueSigningKey, sign_root, snapshot_digest
from zkmargin.venue.tree import MerklePath, MerkleTree, member_leaves, merkle_root

ACCOUNTS = [make_account({0: (2 * E8, 90 * E8)}, {0: 50 * E8}), make_account({}, {0: 900 * E8}),
            make_account({0: (-1 * E8, 50 * E8)}, {0: E8}), make_account({0: (E8, 100 * E8)}, {0: 5 * E8}),
            make_account({}, {0: 7 * E8})]
INVENTED = make_account({}, {0: E8 // 100})  # stands in for account 1 (900 deposited), same count
TABLE = [*ACCOUNTS, INVENTED]
X = len(ACCOUNTS)
"""Index of the invented account in TABLE."""
VENUE_DEPTH = 3
Slot = tuple[int, int]
"""(account index in TABLE, index of its identity)."""


def real(*indices: int) -> list[Slot]:
    """Accounts of the venue with their own identities."""
    return [(i, i) for i in indices]


def salt(i: int) -> int:
    return 500 + i


def signed(accounts: Sequence[int] = range(5), key: VenueSigningKey = KEY, snapshot=SNAPSHOT,
           depth: int = VENUE_DEPTH) -> SignedRoot:
    """The venue run's signed root over these accounts (with their identities), in this order."""
    circuit = book_circuit(CIRCUIT_ID)
    leaves = member_leaves([(str(i), account_leaf(circuit, TABLE[i], SNAPSHOT, salt(i))[0], identity(i))
                            for i in accounts])
    return sign_root(key, snapshot, depth, len(leaves), merkle_root(leaves, depth))


@functools.cache
def batch(index: int, slots: tuple[Slot, ...]) -> PublishedBatch:
    """Batch `index` over these slots, proved for real."""
    members = [(TABLE[a], salt(a), identity(i)) for a, i in slots]
    node, attested, proof = prove_batch(book_circuit(CIRCUIT_ID), keys(), SNAPSHOT, index, members)
    return PublishedBatch(index, node, proof_to_json(proof), attested)


def book(batches: Sequence[Sequence[Slot]], signed_root: SignedRoot | None = None) -> PublishedBook:
    """The venue's book over these batches (in order), its top the honest one, signed, carrying signed_root."""
    proved = tuple(batch(i, tuple(slots)) for i, slots in enumerate(batches))
    depth = book_depth(2 * len(proved), 1)
    root = top_node([b.root for b in proved], 1, depth, 1)
    made = PublishedBook(SNAPSHOT.venue, CIRCUIT_ID, SNAPSHOT.snapshot_id, snapshot_digest(SNAPSHOT), depth, 1, root,
                         proved, signed_root=signed() if signed_root is None else signed_root)
    return parse_book(book_to_json(sign_book(KEY, made)))


def verdict(published: PublishedBook) -> BookVerdict:
    return verify_book(book_circuit(CIRCUIT_ID), keys().vk, SNAPSHOT, published, KEY.public_key(SNAPSHOT.venue))


HONEST = [real(0, 1), real(2, 3), real(4)]


def test_the_honest_book_verifies_against_the_signed_root():
    published = book(HONEST)
    assert verdict(published) == BookVerdict(True)
    assert published.root.sums == book_totals(ACCOUNTS, SNAPSHOT, 1)


@pytest.mark.parametrize("batches", [
    pytest.param([[(0, 0), (X, 1)], real(2, 3), real(4)], id="invented-account-for-a-real-one-same-count"),
    pytest.param([[(0, 0), (X, 99)], real(2, 3), real(4)], id="invented-account-with-its-own-identity"),
    pytest.param([real(0, 0), real(2, 3), real(4)], id="account-counted-twice"),
    pytest.param([real(1, 0), real(2, 3), real(4)], id="two-accounts-swapped-in-order"),
    pytest.param([[(0, 1), (1, 0)], real(2, 3), real(4)], id="real-commitments-with-each-others-identity"),
    pytest.param([real(2, 3), real(0, 1), real(4)], id="batch-moved-to-another-index"),
])
def test_a_book_over_other_leaves_with_the_same_count_is_refused(batches):
    published = book(batches)
    assert published.root.sums.accounts == 5  # the count the signed root attests: only the leaves differ
    result = verdict(published)
    assert (result.valid, result.failing_batch) == (False, None)
    assert "attested roots do not fold to the venue's signed root" in result.reason


def test_an_invented_account_understates_liabilities_and_is_refused():
    published = book([[(0, 0), (X, 1)], real(2, 3), real(4)])
    assert published.root.sums.deposits_e8[0] < book(HONEST).root.sums.deposits_e8[0] - 800 * E8
    assert not verdict(published).valid


def test_a_real_account_dropped_for_padding_is_refused():
    result = verdict(book([real(0), real(2, 3), real(4)]))
    assert (result.valid, result.failing_batch) == (False, None) and "signed root attests 5" in result.reason


def test_slots_present_in_the_book_but_empty_in_the_venue_tree_and_back_are_refused():
    """The venue attested four accounts (leaves 0..3); the book leaves slot 3 empty and puts account 3 at slot 4
    (present in the book, empty in the venue tree): same count, every commitment attested, refused by place."""
    four = signed(range(4))
    assert verdict(book([real(0, 1), real(2, 3)], four)).valid
    result = verdict(book([real(0, 1), real(2), real(3)], four))
    assert (result.valid, result.failing_batch) == (False, None)
    assert "attested roots do not fold" in result.reason


@pytest.mark.parametrize(("root", "why"), [
    pytest.param(lambda: signed(snapshot=replace(SNAPSHOT, timestamp="2026-11-25T00:00:00Z")), "snapshot digest",
                 id="another-snapshot"),
    pytest.param(lambda: signed(snapshot=replace(SNAPSHOT, venue="elsewhere")), "venue", id="another-venue"),
    pytest.param(lambda: signed(key=VenueSigningKey.generate()), "ignature", id="another-key"),
])
def test_a_signed_root_of_another_snapshot_venue_or_key_is_refused(root, why):
    result = verdict(book(HONEST, root()))
    assert (result.valid, result.failing_batch) == (False, None)
    assert "not the venue's for this snapshot" in result.reason and why in result.reason


def test_a_book_without_a_signed_root_is_refused():
    result = verdict(replace(book(HONEST), signed_root=None))
    assert not result.valid and "no signed root" in result.reason
    document = book_to_json(book(HONEST))
    del document["signed_root"]
    with pytest.raises(Exception, match="signed_root"):
        parse_book(document)


def test_batches_deeper_than_the_venue_tree_are_refused_before_any_pairing():
    """A venue tree of depth 1 cannot hold batches of 4: refused by name, the (absent) proofs never decoded."""
    circuit = book_circuit("book-cross-n1-k1-b4")
    published = book(HONEST)
    shallow = replace(published, circuit_id=circuit.circuit_id, batch_depth=2, depth=3,
                      batches=(replace(published.batches[0], proof={}),), signed_root=signed(range(2), depth=1))
    result = verify_book(circuit, keys().vk, SNAPSHOT, shallow, KEY.public_key(SNAPSHOT.venue))
    assert (result.valid, result.failing_batch) == (False, None)
    assert "at most the venue tree's" in result.reason


def test_a_trader_sees_its_membership_root_and_place_are_the_books():
    """The trader's bundle path (venue tree) must lead to the book's signed root at its book leaf's index."""
    circuit = book_circuit(CIRCUIT_ID)
    leaves = member_leaves([(str(i), account_leaf(circuit, TABLE[i], SNAPSHOT, salt(i))[0], identity(i))
                            for i in range(5)])
    tree = MerkleTree(leaves, VENUE_DEPTH)
    root = signed()
    assert root.root == tree.root

    def membership(index: int, at: int | None = None) -> MerklePath:
        return MerklePath("acct", tree.leaf(index), index if at is None else at, tuple(tree.path(index)), tree.root,
                          VENUE_DEPTH)

    check_attested_place(root, membership(3), 3)
    with pytest.raises(EncodingError, match="leaf 3 of the venue's tree but leaf 2"):
        check_attested_place(root, membership(3), 2)
    with pytest.raises(EncodingError, match="another venue root"):
        check_attested_place(signed(range(4)), membership(3), 3)
    with pytest.raises(EncodingError, match="does not lead"):
        check_attested_place(root, membership(3, at=2), 2)


@pytest.mark.parametrize("seed", range(2))
def test_random_books_prove_and_verify_against_their_signed_root(seed):
    """Random accounts and identities, proved for real: the reference totals, the venue tree and the circuit agree."""
    rng = random.Random(seed)
    accounts = [make_account({0: (rng.randint(-3 * E8, 3 * E8), rng.randint(1, 200 * E8))} if rng.random() < .7
                             else {}, {0: rng.randint(0, 100 * E8)}) for _ in range(rng.randint(1, 5))]
    members = [(a, 900 + i, identity(rng.randrange(10**9))) for i, a in enumerate(accounts)]
    circuit = book_circuit(CIRCUIT_ID)
    leaves = member_leaves([(str(i), account_leaf(circuit, a, SNAPSHOT, s)[0], ident)
                            for i, (a, s, ident) in enumerate(members)])
    root = sign_root(KEY, SNAPSHOT, VENUE_DEPTH, len(leaves), merkle_root(leaves, VENUE_DEPTH))
    batches = []
    for index in range(-(-len(members) // 2)):
        node, attested, proof = prove_batch(circuit, keys(), SNAPSHOT, index, members[2 * index:2 * index + 2])
        batches.append(PublishedBatch(index, node, proof_to_json(proof), attested))
    depth = book_depth(len(members), 1)
    made = PublishedBook(SNAPSHOT.venue, CIRCUIT_ID, SNAPSHOT.snapshot_id, snapshot_digest(SNAPSHOT), depth, 1,
                         top_node([b.root for b in batches], 1, depth, 1), tuple(batches), signed_root=root)
    assert verify_book(circuit, keys().vk, SNAPSHOT, made, KEY.public_key(SNAPSHOT.venue)).valid
    assert made.root.sums == book_totals(accounts, SNAPSHOT, 1)
