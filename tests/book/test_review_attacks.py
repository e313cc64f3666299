"""Adversarial review "rbook" of the book (issue 27): each test is an attack and PASSES when the attack is refused.

In-circuit attacks model a dishonest prover by solving the batch with ONE allocated value changed
(every value computed after it follows the lie), then setting the public root and sums to what that
assignment computes (tests.book.builders.settle_public); each asserts which constraint stops it.
Native attacks forge book.json / path.json documents or paths, or publish a book over real proofs
of the small circuit book-cross-n1-k1-b2.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest

from tests.book.builders import (
    ACCOUNTS,
    FLAT,
    SNAPSHOT,
    UNDER,
    book_circuit,
    forged_sibling_path,
    honest,
    identity,
    lie,
    settle_public,
)
from tests.book.proved import KEY
from tests.circuits.assignments import broken, solve
from tests.circuits.builders import E8, make_account, make_snapshot
from zkmargin.book.batches import batch_context, book_depth, top_node
from zkmargin.book.document import PublishedBatch, PublishedBook, book_to_json, parse_book, parse_path, path_to_json
from zkmargin.book.reference import account_sums, sums_from_fields
from zkmargin.book.tree import BookNode, BookPath, BookTree, book_tag, leaf_hash, parent
from zkmargin.circuits.book_batch import SIGNED_BITS
from zkmargin.circuits.book_proving import account_leaf, check_own_leaf, prove_batch, verify_book
from zkmargin.errors import EncodingError
from zkmargin.field import R
from zkmargin.gadgets.poseidon import poseidon_hash
from zkmargin.groth16 import setup
from zkmargin.groth16.serialization import proof_to_json
from zkmargin.margin.models import Account, Collateral, Position
from zkmargin.venue.attestation import sign_root, snapshot_digest
from zkmargin.venue.tree import member_leaves, merkle_root

CIRCUIT = book_circuit()


def public_index(name: str) -> int:
    """Index in z of a public input (z[0] is the constant one)."""
    return 1 + CIRCUIT.compile().public_names.index(name)


def lying_batch(monkeypatch, accounts: Sequence, label: str, change: Callable[[int], int]) -> list[int]:
    """The settled assignment of an honest batch of `accounts` with one lie."""
    public, witness, _ = honest(CIRCUIT, accounts)
    CIRCUIT.compile()  # compile (cached) before the lie, so the keys' circuit is the honest one
    lie(monkeypatch, label, change)
    return settle_public(CIRCUIT, solve(CIRCUIT, public, witness))


# ----- the batch statement -------------------------------------------------------------------------------------

def test_present_two_cannot_count_an_account_twice(monkeypatch):
    """present = 2 would double slot 0's deposits, P&L owed and account count; present_bool stops it."""
    _, _, sums = honest(CIRCUIT, ACCOUNTS)
    z = lying_batch(monkeypatch, ACCOUNTS, "slot[0]/present", lambda _: 2)
    assert z[public_index("accounts")] == sums.accounts + 1  # the lie reached the public total
    assert broken(CIRCUIT, z) == ["slot[0]/present_bool"]


def test_an_account_below_maintenance_cannot_flip_its_sign_bit(monkeypatch):
    """UNDER (slot 1) claims its equity - requirement is >= 0 by setting the sign bit: the bit packing stops it."""
    _, _, sums = honest(CIRCUIT, ACCOUNTS)
    z = lying_batch(monkeypatch, ACCOUNTS, f"slot[1]/excess_sign[{SIGNED_BITS - 1}]", lambda _: 1)
    assert z[public_index("below_maintenance")] == sums.below_maintenance - 1
    assert z[public_index("shortfall_e32")] < sums.shortfall_e32
    assert broken(CIRCUIT, z) == ["slot[1]/excess_sign/pack"]


def test_a_shortfall_cannot_be_zeroed(monkeypatch):
    """UNDER stays counted below maintenance but reports no shortfall: the shortfall product stops it."""
    _, _, sums = honest(CIRCUIT, ACCOUNTS)
    z = lying_batch(monkeypatch, ACCOUNTS, "slot[1]/shortfall", lambda _: 0)
    assert z[public_index("shortfall_e32")] < sums.shortfall_e32
    assert broken(CIRCUIT, z) == ["slot[1]/shortfall"]


def test_bad_debt_cannot_be_zeroed_nor_made_negative(monkeypatch):
    """The underwater account (slot 2) books 0, or -1 (r - 1, which would cut the total), as its bad debt."""
    _, _, sums = honest(CIRCUIT, ACCOUNTS)
    assert sums.bad_debt_e32 > 0
    for forged in (0, R - 1):
        with monkeypatch.context() as m:
            z = lying_batch(m, ACCOUNTS, "slot[2]/equity_sign/positive", lambda _, v=forged: v)
        assert z[public_index("bad_debt_e32")] != sums.bad_debt_e32
        assert broken(CIRCUIT, z) == ["slot[2]/equity_sign/positive"]


def test_a_padding_slot_cannot_carry_a_leaf(monkeypatch):
    """A padding slot (present = 0) whose leaf is a real account's leaf hash (zero sums): the leaf product stops it."""
    z = lying_batch(monkeypatch, ACCOUNTS[:3], "slot[3]/leaf", lambda _: 12345)
    assert broken(CIRCUIT, z) == ["slot[3]/leaf"]


def test_the_leaf_binds_the_commitment_its_slots_open(monkeypatch):
    """The venue books FLAT's attested commitment over a poorer state (1 unit of collateral instead of 5):
    the leaf would carry the attested commitment with smaller deposits; the opening stops it."""
    poorer = make_account({0: (E8, 100 * E8)}, {0: E8})
    attested = account_leaf(CIRCUIT, FLAT, SNAPSHOT, 1003)[0]  # salt of slot 3 in builders.entries
    _, _, sums = honest(CIRCUIT, ACCOUNTS)
    z = lying_batch(monkeypatch, (*ACCOUNTS[:3], poorer), "slot[3]/commitment", lambda _: attested)
    assert z[public_index("deposits_e8[0]")] < sums.deposits_e8[0]
    assert broken(CIRCUIT, z) == ["slot[3]/commitment/opens"]


def test_accounts_at_the_bounds_are_booked_exactly():
    """Completeness at the bounds: prices and sizes 2^64 - 1, rates 1e8, quantities -2^63 and 2^63 - 1, amounts
    2^64 - 1. Bad debt, P&L owed and shortfall near 2^219 still decompose in 231 signed bits and equal the
    reference figures (the public sums are the reference's), nothing wraps."""
    top = 2**64 - 1
    snapshot = make_snapshot([(top, 10**8, top), (top, 10**8, top)], [(top, 0), (top, 0)])
    short = make_account({0: (-(2**63), 0), 1: (-(2**63), 0)}, {0: 0})
    long_ = make_account({0: (2**63 - 1, 0), 1: (2**63 - 1, 0)}, {0: top, 1: top})
    public, witness, sums = honest(CIRCUIT, [short, long_, UNDER], snapshot)
    assert min(sums.bad_debt_e32, sums.pnl_owed_e32, sums.shortfall_e32).bit_length() >= 219
    assert sums.below_maintenance == 2  # the short account and UNDER (whose figures are tiny at these prices)
    assert broken(CIRCUIT, solve(CIRCUIT, public, witness)) == []


def test_a_batch_of_another_venue_has_another_context():
    """Same prices, names and time, another venue: a batch proved for one venue's book does not fit the other's."""
    other = replace(SNAPSHOT, venue="other")
    assert CIRCUIT.snapshot_inputs(other) == CIRCUIT.snapshot_inputs(SNAPSHOT)
    assert batch_context(other, 0) != batch_context(SNAPSHOT, 0)


# ----- book.json and path.json parsers -------------------------------------------------------------------------

def small_tree() -> BookTree:
    """The tree of ACCOUNTS (depth 3), built from the reference figures."""
    leaves = [BookNode(leaf_hash(*account_leaf(CIRCUIT, a, SNAPSHOT, 1000 + i)), account_leaf(CIRCUIT, a, SNAPSHOT,
                                                                                             1000 + i)[1])
              for i, a in enumerate(ACCOUNTS)]
    return BookTree(leaves, 3, 2)


def book_document() -> dict:
    """A well-formed book.json (proofs are not looked at by the parser)."""
    tree = small_tree()
    batches = (PublishedBatch(0, tree.node(2, 0), {}, 5), PublishedBatch(1, tree.node(2, 1), {}, 6))
    return book_to_json(PublishedBook(SNAPSHOT.venue, CIRCUIT.circuit_id, SNAPSHOT.snapshot_id,
                                      snapshot_digest(SNAPSHOT), 3, 2, tree.root, batches,
                                      signed_root=sign_root(KEY, SNAPSHOT, 3, 4, 7)))


def test_the_documents_round_trip():
    doc = book_document()
    assert book_to_json(parse_book(doc)) == doc
    path = small_tree().path(2)
    assert parse_path(path_to_json("acct", path)) == ("acct", path)


NOT_CANONICAL = [5, True, None, 1.0, "05", "+5", " 5", "5 ", "5\n", "-0", "-5", "\u0665", "1_0", "0x5", "5e0", "",
                 str(R), "9" * 5000]


@pytest.mark.parametrize("value", NOT_CANONICAL)
def test_a_sum_or_hash_not_a_canonical_field_element_is_refused(value):
    """Sums and hashes: decimal strings, canonical, below r; an int, bool, None, float, padded, signed or huge is not."""
    for where in (("root", "sums", "deposits_e8[0]"), ("root", "hash"), ("batches", 1, "root", "sums", "accounts")):
        doc = book_document()
        node = doc
        for key in where[:-1]:
            node = node[key]
        node[where[-1]] = value
        with pytest.raises(EncodingError):
            parse_book(doc)


@pytest.mark.parametrize("value", [True, False, None, 3.0, "3", -1, 25, 2**64])
def test_a_depth_or_index_not_a_plain_integer_is_refused(value):
    for key in ("depth", "batch_depth"):
        doc = book_document()
        doc[key] = value
        with pytest.raises(EncodingError):
            parse_book(doc)
    doc = book_document()
    doc["batches"][0]["index"] = value
    with pytest.raises(EncodingError):
        parse_book(doc)


@pytest.mark.parametrize("digest", [lambda h: h.upper(), lambda h: " " + h, lambda h: h[:32] + " " + h[32:],
                                    lambda h: h + "\n"])
def test_the_snapshot_digest_is_canonical_lower_case_hex(digest):
    """bytes.fromhex takes spaces and upper case: the same book had several encodings. One is accepted."""
    doc = book_document()
    doc["snapshot_digest"] = digest(doc["snapshot_digest"])
    with pytest.raises(EncodingError, match="snapshot_digest"):
        parse_book(doc)


def test_more_batches_than_the_top_holds_are_refused_by_the_parser():
    """depth 3 with batches of 4 leaves holds 2 batches: a third (index 2 < 2^depth) is not a place in the top."""
    doc = book_document()
    doc["batches"].append({**copy.deepcopy(doc["batches"][1]), "index": 2})
    with pytest.raises(EncodingError, match="batch"):
        parse_book(doc)


def test_sums_with_another_asset_count_are_refused():
    """A batch with one more deposit figure than the root (another layout's sums) does not parse."""
    doc = book_document()
    doc["batches"][0]["root"]["sums"]["deposits_e8[2]"] = "0"
    with pytest.raises(EncodingError):
        parse_book(doc)


def test_a_path_with_a_non_canonical_sibling_sum_is_refused():
    doc = path_to_json("acct", small_tree().path(1))
    doc["siblings"][0]["sums"]["pnl_owed_e32"] = int(doc["siblings"][0]["sums"]["pnl_owed_e32"])
    with pytest.raises(EncodingError):
        parse_path(doc)


# ----- the trader's own-leaf check -----------------------------------------------------------------------------

def test_another_accounts_path_or_index_does_not_pass_for_mine():
    tree = small_tree()
    check_own_leaf(CIRCUIT, UNDER, SNAPSHOT, 1001, tree.path(1), tree.root)
    with pytest.raises(EncodingError, match="not this account's"):
        check_own_leaf(CIRCUIT, UNDER, SNAPSHOT, 1001, tree.path(0), tree.root)
    moved = replace(tree.path(1), index=0)  # my leaf, another place: the siblings no longer lead to the root
    with pytest.raises(EncodingError, match="does not lead"):
        check_own_leaf(CIRCUIT, UNDER, SNAPSHOT, 1001, moved, tree.root)


def test_a_path_to_a_book_without_me_or_with_changed_sibling_sums_is_refused():
    tree = small_tree()
    path = tree.path(1)
    without_me = BookTree([tree.node(0, 0)], 3, 2)
    with pytest.raises(EncodingError, match="another root"):
        check_own_leaf(CIRCUIT, UNDER, SNAPSHOT, 1001, path, without_me.root)
    sibling = path.siblings[1]
    lower = replace(sibling.sums, deposits_e8=(sibling.sums.deposits_e8[0] - 1, sibling.sums.deposits_e8[1]))
    shifted = replace(path, siblings=(path.siblings[0], BookNode(sibling.hash, lower), *path.siblings[2:]))
    with pytest.raises(EncodingError, match="does not lead"):
        check_own_leaf(CIRCUIT, UNDER, SNAPSHOT, 1001, shifted, tree.root)


def test_sibling_sums_that_overflow_r_are_refused_cleanly():
    """Sibling sums just below r each (valid in path.json) add up past r on the way up: an EncodingError, no crash."""
    tree = small_tree()
    path = tree.path(1)
    near_r = BookNode(path.siblings[0].hash, replace(path.siblings[0].sums, pnl_owed_e32=R - 1))
    with pytest.raises(EncodingError):
        check_own_leaf(CIRCUIT, UNDER, SNAPSHOT, 1001, replace(path, siblings=(near_r, *path.siblings[1:])),
                       tree.root)


def test_two_traders_paths_cannot_both_pass_against_a_total_below_their_sum():
    """Maxwell's forgery with deposits A < B: the venue builds the root from trader A's path, whose sibling is B's
    hash with sums B - A (so the total counts only B), and shows trader B sibling A's hash with zero sums. With a
    node binding only its children's TOTAL both paths lead to that root; binding each child's sums, B's does not."""
    circuit = book_circuit("book-cross-n2-k2-b2")
    small, large = make_account({}, {0: E8}), make_account({}, {0: 3 * E8})
    (ca, sa), (cb, sb) = account_leaf(circuit, small, SNAPSHOT, 7), account_leaf(circuit, large, SNAPSHOT, 8)
    leaf_a, leaf_b = BookNode(leaf_hash(ca, sa), sa), BookNode(leaf_hash(cb, sb), sb)
    minus = replace(sb, accounts=0, deposits_e8=tuple(b - a for a, b in zip(sa.deposits_e8, sb.deposits_e8)))
    root = parent(1, leaf_a, BookNode(leaf_b.hash, minus))  # the venue hashes as the tree does
    assert root.sums == sb and sb.deposits_e8[0] < sa.deposits_e8[0] + sb.deposits_e8[0]
    path_a = BookPath(0, leaf_a, (BookNode(leaf_b.hash, minus),), root)
    path_b = BookPath(1, leaf_b, (BookNode(leaf_a.hash, replace(sa, accounts=0, deposits_e8=(0, 0))),), root)
    passed = 0
    for account, salt, path in ((small, 7, path_a), (large, 8, path_b)):
        try:
            check_own_leaf(circuit, account, SNAPSHOT, salt, path, root)
            passed += 1
        except EncodingError:
            pass
    assert passed < 2


def test_a_sibling_whose_sums_differ_from_those_hashed_is_refused():
    """Trader 0's honest path with its sibling's hash kept and its sums changed (1 moved from the sibling's deposit
    into its pnl_owed): the node hashes the sibling's own sums, so the path fails."""
    tree = small_tree()
    path = tree.path(0)
    assert check_own_leaf(CIRCUIT, ACCOUNTS[0], SNAPSHOT, 1000, path, tree.root) is None
    sibling = path.siblings[0]
    moved = replace(sibling.sums, deposits_e8=(sibling.sums.deposits_e8[0] - 1, *sibling.sums.deposits_e8[1:]),
                    pnl_owed_e32=sibling.sums.pnl_owed_e32 + 1)
    forged = replace(path, siblings=(BookNode(sibling.hash, moved), *path.siblings[1:]))
    assert not forged.verify()
    with pytest.raises(EncodingError, match="does not lead"):
        check_own_leaf(CIRCUIT, ACCOUNTS[0], SNAPSHOT, 1000, forged, tree.root)


@pytest.mark.parametrize("field, value", [("deposits_e8", (R - E8, 0)), ("accounts", 3), ("below_maintenance", R - 1),
                                          ("pnl_owed_e32", 2**231)])
def test_a_sibling_sum_out_of_bounds_for_its_height_is_refused(field, value):
    """A leaf-level sibling carrying a "negative" deposit or flag (r - x, which a field sum would wrap), 3 accounts
    or a figure above 2^230, hashed into a root the venue computes with the same node hash: the sums
    must be non-negative and bounded for the sibling's height, so a trader's total includes its figures in full."""
    circuit = book_circuit("book-cross-n2-k2-b2")
    odd = replace(account_leaf(circuit, ACCOUNTS[0], SNAPSHOT, 7)[1], **{field: value})
    path = forged_sibling_path(circuit, ACCOUNTS[0], 7, odd)
    with pytest.raises(EncodingError, match="does not lead"):
        check_own_leaf(circuit, ACCOUNTS[0], SNAPSHOT, 7, path, path.root)
    with pytest.raises(EncodingError, match="height 0"):
        parent(1, path.leaf, path.siblings[0])


# ----- verify_book over real proofs ----------------------------------------------------------------------------

PROVED_ID = "book-cross-n1-k1-b2"
PROVED_SNAPSHOT = make_snapshot([(100 * E8, 5 * 10**6, E8)], [(E8, 0)])
PROVED_ACCOUNTS = [(make_account({0: (E8, 90 * E8)}, {0: 20 * E8}), 21, identity(0)),
                   (make_account({}, {0: 3 * E8}), 22, identity(1)),
                   (make_account({0: (-E8, 50 * E8)}, {0: E8}), 23, identity(2))]


@functools.cache
def proved_keys():
    return setup(book_circuit(PROVED_ID).compile())


@functools.cache
def proved_batches() -> tuple[PublishedBatch, ...]:
    """Batches 0 and 1 of PROVED_ACCOUNTS (2 accounts a batch), proved for real."""
    circuit = book_circuit(PROVED_ID)
    out = []
    for index in range(2):
        node, attested, proof = prove_batch(circuit, proved_keys(), PROVED_SNAPSHOT, index,
                                            PROVED_ACCOUNTS[2 * index: 2 * index + 2])
        out.append(PublishedBatch(index, node, proof_to_json(proof), attested))
    return tuple(out)


def proved_book(depth: int, batches: Sequence[PublishedBatch], root: BookNode | None = None) -> PublishedBook:
    """A book of PROVED_ID over these batches, its root the honest top unless given."""
    root = root or top_node([b.root for b in batches], 1, depth, 1)
    circuit = book_circuit(PROVED_ID)
    leaves = member_leaves([(str(i), account_leaf(circuit, a, PROVED_SNAPSHOT, s)[0], ident)
                            for i, (a, s, ident) in enumerate(PROVED_ACCOUNTS)])
    signed = sign_root(KEY, PROVED_SNAPSHOT, 2, len(leaves), merkle_root(leaves, 2))
    return PublishedBook(PROVED_SNAPSHOT.venue, PROVED_ID, PROVED_SNAPSHOT.snapshot_id,
                         snapshot_digest(PROVED_SNAPSHOT), depth, 1, root, tuple(batches), signed_root=signed)


def proved_verdict(book: PublishedBook):
    return verify_book(book_circuit(PROVED_ID), proved_keys().vk, PROVED_SNAPSHOT, book,
                       KEY.public_key(PROVED_SNAPSHOT.venue))


def test_the_proved_book_verifies():
    assert book_depth(len(PROVED_ACCOUNTS), 1) == 2
    assert proved_verdict(proved_book(2, proved_batches())).valid


def test_a_book_too_shallow_for_its_batches_is_a_verdict_not_a_crash():
    """depth 1 (= batch depth) holds one batch; two real batch proofs under it: an invalid verdict, no exception."""
    batches = proved_batches()
    verdict = proved_verdict(proved_book(1, batches, root=batches[0].root))
    assert not verdict.valid and verdict.failing_batch is None


@pytest.mark.parametrize("proof", [5, None, [], "x", {"pi_a": 1, "pi_b": 2, "pi_c": 3, "protocol": "groth16",
                                                      "curve": "bls12381"}])
def test_a_garbage_proof_is_named_not_raised(proof):
    batches = proved_batches()
    book = proved_book(2, (replace(batches[0], proof=proof), batches[1]))
    verdict = proved_verdict(book)
    assert (verdict.valid, verdict.failing_batch) == (False, 0)


def test_a_root_with_another_asset_count_is_refused():
    """The book's sums with a second deposit figure (a K = 2 layout) for a K = 1 circuit: refused, no crash."""
    batches = proved_batches()
    widen = [replace(b, root=BookNode(b.root.hash, replace(b.root.sums, deposits_e8=(*b.root.sums.deposits_e8, 0))))
             for b in batches]
    book = proved_book(2, batches)
    book = replace(book, root=BookNode(book.root.hash, replace(book.root.sums,
                                                               deposits_e8=(*book.root.sums.deposits_e8, 0))),
                   batches=tuple(widen))
    assert not proved_verdict(book).valid


def test_batch_sums_cannot_move_between_batches():
    """Batch 1 publishes one account fewer and batch 0 one more (totals unchanged): both proofs bind their sums."""
    b0, b1 = proved_batches()
    more = replace(b0.root.sums, accounts=b0.root.sums.accounts + 1)
    fewer = replace(b1.root.sums, accounts=b1.root.sums.accounts - 1)
    # The honest root: batch 0's 3 accounts exceed what a subtree of 2 leaves holds, so no top is built over them.
    book = proved_book(2, (replace(b0, root=BookNode(b0.root.hash, more)),
                           replace(b1, root=BookNode(b1.root.hash, fewer))), root=proved_book(2, (b0, b1)).root)
    verdict = proved_verdict(book)
    assert (verdict.valid, verdict.failing_batch) == (False, 0)



@pytest.mark.parametrize("where", [(), ("root",), ("batches", 0), ("batches", 0, "root")])
def test_an_unknown_field_is_refused(where):
    """A strict decoder: book.json with a field the format does not define (say a venue's own "reserves" next to
    the root, which a reader might trust although nothing verifies it) is refused, not silently dropped."""
    doc = book_document()
    node = doc
    for key in where:
        node = node[key]
    node["reserves_e8"] = "1000000"
    with pytest.raises(EncodingError, match="reserves_e8"):
        parse_book(doc)
    path = path_to_json("acct", small_tree().path(0))
    path["leaf"]["note"] = "x"
    with pytest.raises(EncodingError, match="note"):
        parse_path(path)


def test_a_book_labelled_with_another_snapshot_id_is_refused():
    """The digest is the given snapshot's but snapshot_id names another one: a reader shown the label would
    take the totals for the other snapshot's."""
    book = replace(proved_book(2, proved_batches()), snapshot_id="another-snapshot")
    verdict = proved_verdict(book)
    assert (verdict.valid, verdict.failing_batch) == (False, None) and "snapshot" in verdict.reason


def test_a_top_whose_totals_are_the_max_of_its_batches_is_refused_by_the_auditor():
    """The Maxwell forgery at the top: root = H_2(batch 0, batch 1, per-figure max of their sums), so each trader's
    path (sibling sums = max - own batch's) leads to it. verify_book recomputes the top from the proved batch
    sums and refuses it: the auditor's check is what makes a trader's path check meaningful."""
    b0, b1 = proved_batches()
    most = tuple(max(x, y) for x, y in zip(b0.root.sums.as_fields(), b1.root.sums.as_fields()))
    total = sums_from_fields(most, 1)
    assert total.accounts < b0.root.sums.accounts + b1.root.sums.accounts
    forged = BookNode(poseidon_hash([b0.root.hash, b1.root.hash, *most], book_tag(2, 1)), total)
    verdict = proved_verdict(proved_book(2, (b0, b1), root=forged))
    assert (verdict.valid, verdict.failing_batch) == (False, None) and "totals" in verdict.reason


def test_an_account_listing_an_asset_twice_has_no_reference_figures():
    """Collateral A0 listed as 60 and 2: the engine adds them (healthy) while the committed slot keeps one (2, bad
    debt); the trader's reference would not be the circuit's figures. The reference refuses such an account."""
    twice = Account("x", (Collateral("A0", 60 * E8), Collateral("A0", 2 * E8)), (Position("I0", -E8, 50 * E8),))
    with pytest.raises(EncodingError, match="twice"):
        account_sums(twice, SNAPSHOT)
    with pytest.raises(EncodingError, match="twice"):
        check_own_leaf(CIRCUIT, twice, SNAPSHOT, 5, small_tree().path(0), small_tree().root)


@pytest.mark.parametrize("amount_e8", [-E8, 2**64])
def test_a_negative_or_oversized_balance_has_no_reference_figures(amount_e8):
    """A model account (not parsed from JSON) holding -1 or 2^64: the reference gave a negative deposit (a negative
    liability) that no batch can prove; it now refuses, as the circuit's 64-bit range check does."""
    with pytest.raises(EncodingError, match="deposit"):
        account_sums(Account("x", (Collateral("A0", amount_e8),), ()), SNAPSHOT)
