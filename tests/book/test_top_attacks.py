"""Adversarial tests of the book top statement and the hidden-sums batch (issue 27, items 2 and 3).

Each test is an attack, written to PASS when the attack FAILS. A dishonest venue is modelled by a
hand-built top witness (or public inputs), solved without setup; the public root is then set to
what the assignment computes (settle_public), so only the rule that stops the attack stays broken.
Where the rule is a single gadget, the same attack is also solved against the statement with that
gadget removed and satisfies it: the test can fail, and the rule is what stops the attack.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

import zkmargin.circuits.book_top as book_top
from tests.book.builders import (
    ACCOUNTS,
    HEALTHY,
    SNAPSHOT,
    UNDERWATER,
    book_circuit,
    honest,
    random_accounts,
    settle_public,
)
from tests.circuits.assignments import broken, solve
from tests.circuits.builders import E8
from zkmargin.book.batches import batch_context, top_context, top_node
from zkmargin.book.reference import BookSums, book_totals, sum_names
from zkmargin.book.reserves import E24, liabilities_e8
from zkmargin.book.tree import BookNode, BookTree, book_tag, empty_node, leaf_hash
from zkmargin.circuits.book_proving import account_leaf, top_children, top_public, top_witness
from zkmargin.circuits.book_top import BookTopStatement, BookTopWitness
from zkmargin.circuits.circuit import Circuit
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.errors import CircuitError, EncodingError
from zkmargin.field import R
from zkmargin.gadgets.poseidon import poseidon_hash

BATCH = book_circuit()  # book-cross-n2-k2-b4
TOP_ID, HIDDEN_ID = "book-top-k2-b4-t2", "book-top-k2-b4-t2-h"
TOP, HIDDEN = circuit_from_id(TOP_ID), circuit_from_id(HIDDEN_ID)
B, K = 2, 2  # batch depth, asset slots


def book(accounts=(*ACCOUNTS, *ACCOUNTS, HEALTHY, UNDERWATER)) -> tuple[BookTree, list[int]]:
    """The tree of a book (depth b + T = 4) and its batch roots' hashes (3 batches of 4 for 10 accounts)."""
    leaves = []
    for i, account in enumerate(accounts):
        commitment, sums = account_leaf(BATCH, account, SNAPSHOT, 2000 + i)
        leaves.append(BookNode(leaf_hash(commitment, sums), sums))
    tree = BookTree(leaves, B + 2, K)
    return tree, [tree.node(B, i).hash for i in range(-(-len(accounts) // (1 << B)))]


def reserves_at_liabilities(sums: BookSums) -> list[int]:
    """Reserves exactly equal to the liabilities, in slot order (the boundary: covered)."""
    owed = liabilities_e8(sums, SNAPSHOT)
    return [owed[a.asset] for a in SNAPSHOT.assets]


def hidden_public(tree: BookTree, hashes: list[int], reserves: list[int], root: int | None = None):
    return top_public(HIDDEN, SNAPSHOT, tree.root.hash if root is None else root, hashes, reserves)


def without(monkeypatch, label_part: str, hidden: bool = True) -> Circuit:
    """The top statement with every range check whose label holds label_part removed (a fresh, uncached circuit)."""
    original = book_top.assert_unsigned

    def skipping(cs, x, bits, label):
        return [] if label_part in cs._label(label) else original(cs, x, bits, label)

    monkeypatch.setattr(book_top, "assert_unsigned", skipping)
    return fresh(hidden)


def fresh(hidden: bool = True) -> Circuit:
    """A top circuit equal to no other (Circuit.compile caches per equal circuit): compiled under the patches."""
    return Circuit(type("Patched", (BookTopStatement,), {})(K, B, 2, hidden))


def test_honest_auditor_top_satisfies_and_matches_the_fold():
    tree, hashes = book()
    assert tree.root.sums == book_totals((*ACCOUNTS, *ACCOUNTS, HEALTHY, UNDERWATER), SNAPSHOT)
    assert top_node([tree.node(B, i) for i in range(3)], B, B + 2, K) == tree.root
    public = top_public(TOP, SNAPSHOT, tree.root.hash, hashes, tree.root.sums.as_fields())
    assert broken(TOP, solve(TOP, public, top_witness(TOP.statement, tree))) == []


def test_honest_hidden_top_satisfies_with_reserves_exactly_at_liabilities():
    tree, hashes = book()
    assert tree.root.sums.pnl_owed_e32 > 0 and tree.root.sums.bad_debt_e32 > 0  # both figures are in play
    z = solve(HIDDEN, hidden_public(tree, hashes, reserves_at_liabilities(tree.root.sums)),
              top_witness(HIDDEN.statement, tree))
    assert broken(HIDDEN, z) == []
    assert HIDDEN.header[-K:] == ("reserves_e8[0]", "reserves_e8[1]")
    assert not set(sum_names(K)) & set(HIDDEN.compile().public_names)  # no total is public


@pytest.mark.parametrize(("asset", "short"), [(0, 1), (1, 1), (0, "pnl")])
def test_reserves_below_liabilities_for_one_asset_have_no_proof(monkeypatch, asset, short):
    """One asset 1e-8 short, or the settlement asset holding its deposits but not the P&L owed: refused."""
    tree, hashes = book()
    reserves = reserves_at_liabilities(tree.root.sums)
    if short == "pnl":
        reserves[0] = tree.root.sums.deposits_e8[0]  # deposits covered; the P&L owed (> 0) is not
    else:
        reserves[asset] -= short
    witness = top_witness(HIDDEN.statement, tree)
    labels = broken(HIDDEN, solve(HIDDEN, hidden_public(tree, hashes, reserves), witness))
    assert labels and all(label.startswith(f"root/asset[{asset}]/covered") for label in labels), labels
    loose = without(monkeypatch, "covered")
    assert broken(loose, solve(loose, hidden_public(tree, hashes, reserves), witness)) == []


def test_bad_debt_is_never_an_asset(monkeypatch):
    """Reserves short by less than the book's bad debt: a top that counted bad debt as an asset would pass."""
    tree, hashes = book()
    sums = tree.root.sums
    reserves = reserves_at_liabilities(sums)
    reserves[0] -= 1
    assert sums.bad_debt_e32 >= E24  # the bad debt (49 in the price unit) exceeds the shortfall (1e-8)
    witness = top_witness(HIDDEN.statement, tree)
    labels = broken(HIDDEN, solve(HIDDEN, hidden_public(tree, hashes, reserves), witness))
    assert labels and all(label.startswith("root/asset[0]/covered") for label in labels), labels

    def crediting_bad_debt(self, cs, root_sums, public_reserves):
        # The comparison with the book's bad debt added to the settlement asset's reserves: the rule it must not have.
        names = sum_names(K)
        for k, reserve in enumerate(public_reserves):
            gap = (reserve - root_sums[names.index(f"deposits_e8[{k}]")]) * E24
            if k == 0:
                gap = gap - root_sums[names.index("pnl_owed_e32")] + root_sums[names.index("bad_debt_e32")]
            book_top.assert_unsigned(cs, gap, 250, f"asset[{k}]/covered")

    monkeypatch.setattr(book_top.BookTopStatement, "_coverage", crediting_bad_debt)
    loose = fresh()
    assert broken(loose, solve(loose, hidden_public(tree, hashes, reserves), witness)) == []


def forged_child(left: BookNode, right: BookNode) -> int:
    """A child hash over any two nodes, sums unchecked (what a venue could publish if the top took it as given)."""
    return poseidon_hash([left.hash, *left.sums.as_fields(), right.hash, *right.sums.as_fields()], book_tag(B, K))


def test_child_sums_that_wrap_modulo_r_are_refused(monkeypatch):
    """A level-(b-1) node with deposits r - X ("negative") under a child hash made for it: the deposit total drops
    by X, so a venue holding nothing of asset 1 would cover it. The range check for the node's height stops it."""
    tree, hashes = book()
    witness = top_witness(HIDDEN.statement, tree)
    (left, right), *rest = witness.children
    x = tree.root.sums.deposits_e8[1]
    wrapped = BookNode(left.hash, replace(left.sums, deposits_e8=(left.sums.deposits_e8[0],
                                                                  (left.sums.deposits_e8[1] - x) % R)))
    forged = BookTopWitness(((wrapped, right), *rest))
    reserves = reserves_at_liabilities(tree.root.sums)
    reserves[1] = 0  # the venue holds none of asset 1
    public = hidden_public(tree, [forged_child(wrapped, right), *hashes[1:]], reserves)
    labels = broken(HIDDEN, settle_public(HIDDEN, solve(HIDDEN, public, forged), "root/root"))
    assert labels and all(label.startswith("child[0]/left/deposits_e8[1]_range") for label in labels), labels
    loose = without(monkeypatch, "_range")
    assert broken(loose, settle_public(loose, solve(loose, public, forged), "root/root")) == []


def test_a_child_hash_not_matching_its_sums_is_refused():
    """The venue keeps a batch root's hash but states lower sums under it (one deposit of 1 fewer)."""
    tree, hashes = book()
    witness = top_witness(HIDDEN.statement, tree)
    children = list(witness.children)
    left, right = children[1]
    lower = BookNode(right.hash, replace(right.sums, deposits_e8=(right.sums.deposits_e8[0] - E8,
                                                                  right.sums.deposits_e8[1])))
    children[1] = (left, lower)
    reserves = reserves_at_liabilities(tree.root.sums)
    reserves[0] -= 1  # short by 1e-8 against the true book: only the understated one would be covered
    z = settle_public(HIDDEN, solve(HIDDEN, hidden_public(tree, hashes, reserves), BookTopWitness(tuple(children))),
                      "root/root")
    assert broken(HIDDEN, z) == ["child[1]/hash"]


def test_a_batch_dropped_between_batches_and_top_is_refused():
    """Published batches 0, 1 only: the verifier pads place 2 with the empty subtree, which batch 2 cannot fill."""
    tree, hashes = book()
    public = top_public(TOP, SNAPSHOT, tree.root.hash, hashes[:2], tree.root.sums.as_fields())
    assert public.extra[2] == empty_node(B, K).hash
    labels = broken(TOP, settle_public(TOP, solve(TOP, public, top_witness(TOP.statement, tree)), "root/root"))
    assert labels == ["child[2]/hash"]


def test_an_empty_place_cannot_carry_a_real_looking_node():
    """Place 3 (no batch) filled with batch 0's children: its public hash is the empty subtree's, set by the verifier."""
    tree, hashes = book()
    witness = top_witness(TOP.statement, tree)
    children = list(witness.children)
    children[3] = children[0]
    z = settle_public(TOP, solve(TOP, top_public(TOP, SNAPSHOT, tree.root.hash, hashes, tree.root.sums.as_fields()),
                                 BookTopWitness(tuple(children))))
    assert broken(TOP, z) == ["child[3]/hash"]


def test_a_batch_counted_twice_does_not_reach_the_published_root():
    """Batch 1 listed again at place 2 (its proof would have to be batch 1's): the root and totals differ."""
    tree, hashes = book()
    witness = top_witness(TOP.statement, tree)
    twice = BookTopWitness((witness.children[0], witness.children[1], witness.children[1], witness.children[3]))
    public = top_public(TOP, SNAPSHOT, tree.root.hash, [hashes[0], hashes[1], hashes[1]], tree.root.sums.as_fields())
    labels = broken(TOP, solve(TOP, public, twice))
    assert "root/root" in labels and "root/accounts" in labels and not any(x.startswith("child") for x in labels)


def test_reordered_children_do_not_reach_the_published_root():
    tree, hashes = book()
    witness = top_witness(TOP.statement, tree)
    swapped = BookTopWitness((witness.children[1], witness.children[0], *witness.children[2:]))
    public = top_public(TOP, SNAPSHOT, tree.root.hash, [hashes[1], hashes[0], hashes[2]], tree.root.sums.as_fields())
    assert broken(TOP, solve(TOP, public, swapped)) == ["root/root"]


@pytest.mark.parametrize("name", sum_names(K))
def test_auditor_totals_off_by_one_are_refused(name):
    tree, hashes = book()
    z = solve(TOP, top_public(TOP, SNAPSHOT, tree.root.hash, hashes, tree.root.sums.as_fields()),
              top_witness(TOP.statement, tree))
    index = 1 + TOP.compile().public_names.index(name)
    for delta in (-1, 1):
        bad = list(z)
        bad[index] = (bad[index] + delta) % R
        assert broken(TOP, bad) == [f"root/{name}"]


def test_the_top_context_binds_the_snapshot_and_is_no_batch_context():
    later = replace(SNAPSHOT, timestamp="2026-11-25T00:00:00Z")
    contexts = {top_context(SNAPSHOT, 4), top_context(later, 4), top_context(SNAPSHOT, 5), batch_context(SNAPSHOT, 4)}
    assert len(contexts) == 4
    tree, hashes = book()
    assert top_public(TOP, later, tree.root.hash, hashes, tree.root.sums.as_fields()).context == top_context(later, 4)
    assert "context" in TOP.compile().public_names


def test_top_children_refuse_more_batches_than_places_naming_the_limit():
    tree, hashes = book()
    with pytest.raises(EncodingError, match="at most 2\\^10"):
        top_children(TOP.statement, [*hashes, *hashes])
    with pytest.raises(EncodingError, match="depth"):
        top_witness(circuit_from_id("book-top-k2-b4-t3").statement, tree)


@pytest.mark.parametrize("circuit_id", ["book-top-k2-b4-t0", "book-top-k2-b4-t11", "book-top-k2-b3-t2",
                                        "book-top-k2-b1-t2", "book-top-k0-b4-t2", "book-top-k2-b4-t2-x"])
def test_registry_refuses_bad_top_ids(circuit_id):
    with pytest.raises(CircuitError):
        circuit_from_id(circuit_id)


def test_registry_builds_top_and_hidden_batch_ids():
    assert (TOP.circuit_id, HIDDEN.circuit_id) == (TOP_ID, HIDDEN_ID)
    assert TOP.header == ("root", "context", *(f"child[{i}]" for i in range(4)), *sum_names(K))
    hidden_batch = circuit_from_id("book-cross-n2-k2-b4-h")
    assert hidden_batch.circuit_id == "book-cross-n2-k2-b4-h"
    # No public sum; the attested root stays the header's last value (bind), in the dense and the sparse batch.
    assert hidden_batch.header == ("batch_root", "context", "attested_root")
    sparse = circuit_from_id("book-cross-n2-p1-k1-b4-h")
    assert (sparse.circuit_id, sparse.header) == ("book-cross-n2-p1-k1-b4-h", ("batch_root", "context", "attested_root"))


def test_a_hidden_batch_binds_its_private_sums_through_the_root_hash():
    """The hidden batch computes its sums privately; a root hashed over other sums (one deposit fewer) is refused."""
    hidden = circuit_from_id("book-cross-n2-k2-b4-h")
    public, witness, _ = honest(hidden, ACCOUNTS)
    assert broken(hidden, solve(hidden, public, witness)) == []
    _, _, sums = honest(BATCH, ACCOUNTS)
    tree_leaves = [BookNode(leaf_hash(*account_leaf(BATCH, a, SNAPSHOT, 1000 + i)),
                            account_leaf(BATCH, a, SNAPSHOT, 1000 + i)[1]) for i, a in enumerate(ACCOUNTS)]
    fewer = replace(tree_leaves[0].sums, deposits_e8=(tree_leaves[0].sums.deposits_e8[0] - 1,
                                                      tree_leaves[0].sums.deposits_e8[1]))
    lying = BookTree([replace(tree_leaves[0], sums=fewer), *tree_leaves[1:]], B, K).root
    assert lying.sums.deposits_e8[0] == sums.deposits_e8[0] - 1
    forged = replace(public, commitment=lying.hash)
    assert broken(hidden, solve(hidden, forged, witness)) == ["root/batch_root"]
    # With no public sum, the header's only extra value is the attested root: still checked, and against nothing else.
    assert len(public.extra) == 1
    other_attested = replace(public, extra=(public.extra[0] + 1,))
    assert broken(hidden, solve(hidden, other_attested, witness)) == ["root/attested_root"]


@pytest.mark.parametrize("seed", range(3))
def test_top_and_reference_agree_on_random_books(seed):
    accounts = random_accounts(random.Random(seed), 16)
    tree, hashes = book(accounts)
    assert tree.root.sums == book_totals(accounts, SNAPSHOT)
    auditor = top_public(TOP, SNAPSHOT, tree.root.hash, hashes, tree.root.sums.as_fields())
    assert broken(TOP, solve(TOP, auditor, top_witness(TOP.statement, tree))) == []
    hidden = hidden_public(tree, hashes, reserves_at_liabilities(tree.root.sums))
    assert broken(HIDDEN, solve(HIDDEN, hidden, top_witness(HIDDEN.statement, tree))) == []
