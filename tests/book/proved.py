"""A small book proved for real (capacity n1-k1, batches of 2): shared by the book and service tests."""

from __future__ import annotations

import functools
from dataclasses import replace

from tests.book.builders import book_circuit, identity
from tests.circuits.builders import E8, make_account, make_snapshot
from zkmargin.book.batches import book_depth
from zkmargin.book.document import HiddenBatch, HiddenBook, PublishedBatch, PublishedBook, PublishedTop, sign_book
from zkmargin.book.reserves import SignedReserves, liabilities_e8, reserves_by_slot, sign_reserves
from zkmargin.book.tree import BookNode, BookTree, leaf_hash
from zkmargin.circuits.book_proving import account_leaf, prove_batch, prove_top
from zkmargin.groth16 import setup
from zkmargin.groth16.data_structures import ProvingKey
from zkmargin.groth16.serialization import proof_to_json
from zkmargin.venue.attestation import SignedRoot, VenueSigningKey, sign_root, snapshot_digest
from zkmargin.venue.tree import member_leaves, merkle_root

CIRCUIT_ID = "book-cross-n1-k1-b2"
SNAPSHOT = make_snapshot([(100 * E8, 5 * 10**6, E8)], [(E8, 0)])
ACCOUNTS = [make_account({0: (2 * E8, 90 * E8)}, {0: 50 * E8}), make_account({0: (-1 * E8, 50 * E8)}, {0: E8}),
            make_account({0: (E8, 100 * E8)}, {0: 5 * E8})]
SALTS = [11, 12, 13]
IDENTITIES = [identity(i) for i in range(len(ACCOUNTS))]
VENUE_DEPTH = 3
"""The venue run's tree depth (deeper than the book's 2: the verifier folds the batches up to it)."""
KEY = VenueSigningKey.generate()


def keys() -> ProvingKey:
    """The book circuit's Groth16 keys (one setup per session)."""
    return keys_of(CIRCUIT_ID)


def leaves() -> list[BookNode]:
    """The book's leaves (hash and figures of each account), in book order."""
    circuit = book_circuit(CIRCUIT_ID)
    return [BookNode(leaf_hash(*account_leaf(circuit, a, SNAPSHOT, s)), account_leaf(circuit, a, SNAPSHOT, s)[1])
            for a, s in zip(ACCOUNTS, SALTS)]


def signed_root(key: VenueSigningKey = KEY, snapshot=SNAPSHOT, order: tuple[int, ...] = (0, 1, 2)) -> SignedRoot:
    """The venue run's root.json: key's signature on the venue tree over ACCOUNTS' commitments and identities, in
    this order."""
    circuit = book_circuit(CIRCUIT_ID)
    leaves = member_leaves([(str(i), account_leaf(circuit, ACCOUNTS[i], SNAPSHOT, SALTS[i])[0], IDENTITIES[i])
                            for i in order])
    return sign_root(key, snapshot, VENUE_DEPTH, len(leaves), merkle_root(leaves, VENUE_DEPTH))


@functools.cache
def published() -> PublishedBook:
    """The book of ACCOUNTS under SNAPSHOT: every batch proved, the root over all leaves, signed with KEY."""
    circuit = book_circuit(CIRCUIT_ID)
    members = list(zip(ACCOUNTS, SALTS, IDENTITIES))
    depth = book_depth(len(members), 1)
    batches = []
    for index in range(0, -(-len(members) // 2)):
        node, attested, proof = prove_batch(circuit, keys(), SNAPSHOT, index, members[2 * index: 2 * index + 2])
        batches.append(PublishedBatch(index, node, proof_to_json(proof), attested))
    root = BookTree(leaves(), depth, 1).root
    return sign_book(KEY, PublishedBook(SNAPSHOT.venue, CIRCUIT_ID, SNAPSHOT.snapshot_id, snapshot_digest(SNAPSHOT),
                                        depth, 1, root, tuple(batches), signed_root=signed_root()))


HIDDEN_ID, TOP_ID, HIDDEN_TOP_ID = "book-cross-n1-k1-b2-h", "book-top-k1-b2-t1", "book-top-k1-b2-t1-h"


@functools.cache
def keys_of(circuit_id: str) -> ProvingKey:
    """Groth16 keys of any book circuit (one setup per circuit and session)."""
    return setup(book_circuit(circuit_id).compile())


def tree() -> BookTree:
    """The whole book tree (depth b + T = 2)."""
    return BookTree(leaves(), book_depth(len(ACCOUNTS), 1), 1)


@functools.cache
def with_top() -> PublishedBook:
    """published() with its top proof (auditor mode: the totals public)."""
    book = published()
    proof = prove_top(book_circuit(TOP_ID), keys_of(TOP_ID), SNAPSHOT, tree(), len(book.batches),
                      book.root.sums.as_fields())
    return replace(book, top=PublishedTop(TOP_ID, proof_to_json(proof)))


def reserves_at(shortfall_e8: int = 0) -> SignedReserves:
    """The venue's signed reserves: the book's liabilities less shortfall_e8."""
    owed = liabilities_e8(tree().root.sums, SNAPSHOT)
    return sign_reserves(KEY, SNAPSHOT, {asset: value - shortfall_e8 for asset, value in owed.items()})


@functools.cache
def hidden() -> HiddenBook:
    """The same accounts as a hidden book: hidden batches, the top over them against reserves at the liabilities."""
    circuit = book_circuit(HIDDEN_ID)
    members = list(zip(ACCOUNTS, SALTS, IDENTITIES))
    batches = []
    for index in range(0, -(-len(members) // 2)):
        node, attested, proof = prove_batch(circuit, keys_of(HIDDEN_ID), SNAPSHOT, index,
                                            members[2 * index: 2 * index + 2])
        batches.append(HiddenBatch(index, node.hash, proof_to_json(proof), attested))
    signed = reserves_at()
    tail = reserves_by_slot(SNAPSHOT, signed, 1)
    top = prove_top(book_circuit(HIDDEN_TOP_ID), keys_of(HIDDEN_TOP_ID), SNAPSHOT, tree(), len(batches), tail)
    return sign_book(KEY, HiddenBook(SNAPSHOT.venue, HIDDEN_ID, SNAPSHOT.snapshot_id, snapshot_digest(SNAPSHOT),
                                     tree().depth, 1, tree().root.hash, tuple(batches),
                                     PublishedTop(HIDDEN_TOP_ID, proof_to_json(top)), signed,
                                     signed_root=signed_root()))
