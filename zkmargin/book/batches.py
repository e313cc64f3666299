"""Batches of the book: where each account sits, the context a batch proof binds, the top over batch roots, and
the venue tree's subtree of each batch (its attested root) folded up to the venue's signed root."""

from __future__ import annotations

from collections.abc import Sequence

from zkmargin.book.reference import MAX_BOOK_DEPTH, BookSums
from zkmargin.book.tree import BookNode, fold, leaf_hash
from zkmargin.errors import EncodingError
from zkmargin.gadgets.merkle import member_leaf
from zkmargin.gadgets.poseidon import poseidon_hash
from zkmargin.margin.models import Snapshot
from zkmargin.venue.attestation import snapshot_digest
from zkmargin.venue.tree import subtree_root

CONTEXT_TAG = 0x626F6F6B2D6374  # "book-ct"
TOP_CONTEXT_TAG = 0x626F6F6B2D7470  # "book-tp"


def batch_context(snapshot: Snapshot, batch_index: int) -> int:
    """Poseidon(snapshot digest, batch index): the context every batch proof of this snapshot and place binds."""
    if not isinstance(batch_index, int) or not 0 <= batch_index < 1 << MAX_BOOK_DEPTH:
        raise EncodingError(f"batch index must lie in [0, 2^{MAX_BOOK_DEPTH})")
    digest = int.from_bytes(snapshot_digest(snapshot), "big") >> 3  # 253 bits: below r
    return poseidon_hash([digest, batch_index], CONTEXT_TAG)


def top_context(snapshot: Snapshot, level: int) -> int:
    """Poseidon(snapshot digest, level of the root) under the top's own tag: what a top proof of this snapshot binds
    (never a batch's context: the tags differ)."""
    if not isinstance(level, int) or not 1 <= level <= MAX_BOOK_DEPTH:
        raise EncodingError(f"a top's root level must lie in [1, {MAX_BOOK_DEPTH}]")
    digest = int.from_bytes(snapshot_digest(snapshot), "big") >> 3  # 253 bits: below r
    return poseidon_hash([digest, level], TOP_CONTEXT_TAG)


def book_depth(n_accounts: int, batch_depth: int) -> int:
    """The smallest depth >= batch_depth whose tree holds n_accounts leaves."""
    depth = batch_depth
    while (1 << depth) < n_accounts:
        depth += 1
    if depth > MAX_BOOK_DEPTH:
        raise EncodingError(f"{n_accounts} accounts exceed a book of depth {MAX_BOOK_DEPTH}")
    return depth


def batch_node(leaves: Sequence[tuple[int, BookSums]], batch_depth: int, n_assets: int) -> BookNode:
    """The root (hash and sums) of one batch over (commitment, sums) leaves, padded to 2^batch_depth."""
    nodes = [BookNode(leaf_hash(c, s), s) for c, s in leaves]
    return fold(nodes, 0, batch_depth, n_assets)[-1][0]


def top_node(batch_roots: Sequence[BookNode], batch_depth: int, depth: int, n_assets: int) -> BookNode:
    """The book root over batch roots in batch order (missing batches are empty subtrees)."""
    return fold(batch_roots, batch_depth, depth, n_assets)[-1][0]


def attested_batch_root(members: Sequence[tuple[int, int]], batch_depth: int) -> int:
    """The venue tree's node at level batch_depth over one batch's (commitment, identity) leaves, EMPTY_LEAF after.

    The value the batch statement makes public as attested_root (circuits.book_batch).
    """
    if not members:
        raise EncodingError("a batch holds at least one account")
    return subtree_root([member_leaf(c, i) for c, i in members], 0, batch_depth)


def attested_top(attested_roots: Sequence[int], batch_depth: int, venue_depth: int) -> int:
    """The venue tree's root over the batches' attested roots in batch order (missing batches: empty subtrees).

    EncodingError when batches of 2^batch_depth do not fit the venue tree (batch_depth > venue_depth, or more
    than 2^(venue_depth - batch_depth) batches).
    """
    if batch_depth > venue_depth:
        raise EncodingError(f"batches of 2^{batch_depth} accounts do not fit the venue tree of depth {venue_depth}: "
                            f"the batch depth must be at most the venue tree's")
    return subtree_root(attested_roots, batch_depth, venue_depth)
