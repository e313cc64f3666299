"""The book's reference figures and its Merkle-sum tree (zkmargin.book)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from tests.book.builders import ACCOUNTS, FLAT, HEALTHY, SNAPSHOT, UNDER, UNDERWATER
from tests.circuits.builders import E8, make_account
from zkmargin.book.batches import book_depth, top_node
from zkmargin.book.reference import LEAF_SUM_BITS, MAX_BOOK_DEPTH, account_sums, book_totals, sums_from_fields
from zkmargin.book.tree import BookNode, BookTree, book_tag, empty_node, leaf_hash, parent
from zkmargin.errors import EncodingError
from zkmargin.field import R

E32 = 10**32


def test_figures_follow_the_definitions():
    assert account_sums(HEALTHY, SNAPSHOT).pnl_owed_e32 == 20 * E32
    under = account_sums(UNDER, SNAPSHOT)
    assert (under.below_maintenance, under.shortfall_e32, under.pnl_owed_e32, under.bad_debt_e32) == (
        1, 3 * E32 // 10, 0, 0)
    water = account_sums(UNDERWATER, SNAPSHOT)
    assert (water.bad_debt_e32, water.shortfall_e32, water.deposits_e8) == (49 * E32, 54 * E32, (E8, 0))
    flat = account_sums(FLAT, SNAPSHOT)  # equity == requirement is healthy
    assert (flat.below_maintenance, flat.shortfall_e32) == (0, 0)


def test_a_loss_never_reduces_a_liability():
    """A fake account with a large negative value adds bad debt; deposits and P&L owed only grow."""
    fake = make_account({0: (1000 * E8, 10_000 * E8)}, {0: E8})  # long far above the mark
    honest = book_totals(ACCOUNTS, SNAPSHOT)
    with_fake = book_totals([*ACCOUNTS, fake], SNAPSHOT)
    assert with_fake.pnl_owed_e32 == honest.pnl_owed_e32
    assert with_fake.deposits_e8[0] == honest.deposits_e8[0] + E8
    assert with_fake.bad_debt_e32 > honest.bad_debt_e32


def random_account(rng: random.Random):
    positions = {i: (rng.randint(-10 * E8, 10 * E8), rng.randint(1, 200 * E8)) for i in range(2) if rng.random() < 0.7}
    collateral = {k: rng.randint(0, 100 * E8) for k in range(2) if rng.random() < 0.8}
    return make_account(positions, collateral)


@pytest.mark.parametrize("seed", range(3))
def test_tree_root_carries_the_totals_and_every_path_verifies(seed):
    rng = random.Random(seed)
    accounts = [random_account(rng) for _ in range(rng.randint(1, 11))]
    leaves = [BookNode(leaf_hash(rng.randrange(R), account_sums(a, SNAPSHOT)), account_sums(a, SNAPSHOT))
              for a in accounts]
    tree = BookTree(leaves, book_depth(len(leaves), 1), 2)
    assert tree.root.sums == book_totals(accounts, SNAPSHOT)
    for i in range(len(leaves)):
        assert tree.path(i).verify()


def test_a_changed_leaf_or_sibling_breaks_the_path():
    leaves = [BookNode(leaf_hash(7 + i, account_sums(a, SNAPSHOT)), account_sums(a, SNAPSHOT))
              for i, a in enumerate(ACCOUNTS)]
    path = BookTree(leaves, 3, 2).path(1)
    assert path.verify()
    richer = replace(path.leaf.sums, deposits_e8=(path.leaf.sums.deposits_e8[0] + 1, path.leaf.sums.deposits_e8[1]))
    assert not replace(path, leaf=BookNode(leaf_hash(8, richer), richer)).verify()
    # A sibling that hides part of its sums changes the root hash even when the totals are made to match.
    sibling = path.siblings[0]
    smaller = replace(sibling.sums, pnl_owed_e32=0)
    assert not replace(path, siblings=(BookNode(sibling.hash, smaller), *path.siblings[1:])).verify()
    assert not replace(path, index=0).verify()
    assert not replace(path, index=8).verify()


def test_top_over_batch_roots_is_the_tree_root():
    leaves = [BookNode(leaf_hash(7 + i, account_sums(a, SNAPSHOT)), account_sums(a, SNAPSHOT))
              for i, a in enumerate(ACCOUNTS * 2)]
    tree = BookTree(leaves, 4, 2)
    batches = [tree.node(2, j) for j in range(2)]
    assert top_node(batches, 2, 4, 2) == tree.root
    assert top_node(batches[::-1], 2, 4, 2) != tree.root
    assert top_node(batches[:1], 2, 4, 2) != tree.root  # a dropped batch


def test_tags_separate_levels_and_asset_counts_and_clear_commitment_tags():
    tags = {book_tag(level, k) for level in range(MAX_BOOK_DEPTH + 1) for k in (1, 2, 8)}
    assert len(tags) == (MAX_BOOK_DEPTH + 1) * 3
    assert min(tags) > (2**14) << 64  # every commitment tag is statement * 2^64 + N * 2^32 + K, statement < 2^14
    with pytest.raises(EncodingError):
        book_tag(MAX_BOOK_DEPTH + 1, 2)


def test_no_total_can_wrap():
    """Leaf figures below 2^LEAF_SUM_BITS, at most 2^MAX_BOOK_DEPTH leaves: every total stays below r."""
    assert (1 << (LEAF_SUM_BITS + MAX_BOOK_DEPTH)) < R
    assert empty_node(3, 2) == parent(3, empty_node(2, 2), empty_node(2, 2))
    with pytest.raises(EncodingError):
        book_depth(1 + (1 << MAX_BOOK_DEPTH), 1)


def test_sums_from_fields_refuses_negative_and_miscounted_figures():
    good = account_sums(HEALTHY, SNAPSHOT)
    assert sums_from_fields(good.as_fields(), 2) == good
    with pytest.raises(EncodingError):
        sums_from_fields((1, -1, 0, 0, 0, 0, 0), 2)
    with pytest.raises(EncodingError):
        sums_from_fields(good.as_fields()[:-1], 2)
