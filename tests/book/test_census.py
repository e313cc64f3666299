"""The census of margin calls by account size (issue 27, item 5): each attack is written to PASS when it FAILS.

A dishonest prover is modelled as in test_batch_attacks: the honest solver with one rule changed (here the
size-bucket hint, or one allocated value), the public root and sums set to what that assignment computes
(settle_public). Each test asserts WHICH constraints break: removing that one check would let the lie through.
Sizes under SNAPSHOT: instrument I0 (mark 100, 5 %) requires 5 price units a contract.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest

import zkmargin.circuits.book_census as book_census
from tests.book.builders import ACCOUNTS, SNAPSHOT, book_circuit, forged_sibling_path, honest, lie, settle_public
from tests.circuits.assignments import broken, solve
from tests.circuits.builders import E8, make_account, make_snapshot
from zkmargin.book.reference import (
    CENSUS_BOUNDS_E32,
    CENSUS_BUCKETS,
    account_sums,
    book_totals,
    size_bucket,
    sum_names,
    sums_from_fields,
    zero_sums,
)
from zkmargin.book.tree import check_sums, parent
from zkmargin.circuits.book_proving import check_own_leaf
from zkmargin.errors import EncodingError, PublicInputError
from zkmargin.field import R
from zkmargin.margin.engine import compute_margin
from zkmargin.margin.models import Account, Snapshot

CIRCUIT = book_circuit()
E32 = 10**32


def contracts(n_e8: int, collateral_e8: int) -> Account:
    """Long n_e8 / 1e8 contracts of I0 at the mark (requirement 5 price units each, no P&L), collateral in A0."""
    return make_account({0: (n_e8, 100 * E8)}, {0: collateral_e8})


AT_BOUND = contracts(200 * E8, 999 * E8)  # requirement exactly 1e3: bucket 1; equity 999, shortfall 1
JUST_UNDER = contracts(200 * E8 - 1, 0)  # requirement 1e3 - 5e-8: bucket 0, all of it short
MID = contracts(1000 * E8, 4000 * E8)  # requirement 5e3: bucket 1, shortfall 1e3
TOP = contracts(200_000 * E8, 10 * E8)  # requirement exactly 1e6: the top bucket, shortfall 999,990
CENSUS_ACCOUNTS = (AT_BOUND, JUST_UNDER, MID, TOP)


def public_index(name: str) -> int:
    """Index in z of a public input (z[0] is the constant one)."""
    return 1 + CIRCUIT.compile().public_names.index(name)


def one_hot(bucket: int) -> tuple[int, ...]:
    """Flags with a 1 at bucket (all zero when bucket is out of range)."""
    return tuple(int(j == bucket) for j in range(CENSUS_BUCKETS))


def lying_flags(monkeypatch, accounts: Sequence[Account], slot: int, flags: Callable[[int], Sequence[int]],
                snapshot: Snapshot = SNAPSHOT) -> list[int]:
    """The settled assignment of an honest batch where the prover picks slot's bucket flags itself."""
    public, witness, _ = honest(CIRCUIT, accounts, snapshot)
    CIRCUIT.compile()  # the keys' circuit is the honest one
    requirement = account_requirement(accounts[slot], snapshot)
    assert sum(account_requirement(a, snapshot) == requirement for a in accounts) == 1  # the lie hits one slot
    original = book_census.bucket_flags

    def chosen(requirement_e32: int) -> tuple[int, ...]:
        return tuple(flags(requirement_e32)) if requirement_e32 == requirement else original(requirement_e32)

    monkeypatch.setattr(book_census, "bucket_flags", chosen)
    return settle_public(CIRCUIT, solve(CIRCUIT, public, witness))


def account_requirement(account: Account, snapshot: Snapshot = SNAPSHOT) -> int:
    """The account's maintenance requirement (scale 1e32) from the reference engine."""
    return compute_margin(account, snapshot).maintenance_e32


# ----- the definition and the reference ------------------------------------------------------------------------

@pytest.mark.parametrize(("requirement_e32", "bucket"), [
    (0, 0), (CENSUS_BOUNDS_E32[0] - 1, 0), (CENSUS_BOUNDS_E32[0], 1), (CENSUS_BOUNDS_E32[1] - 1, 1),
    (CENSUS_BOUNDS_E32[1], 2), (CENSUS_BOUNDS_E32[2], 3), (CENSUS_BOUNDS_E32[3] - 1, 3), (CENSUS_BOUNDS_E32[3], 4),
    (2**228 - 1, 4)])
def test_a_size_equal_to_a_bound_is_in_the_bucket_it_opens(requirement_e32, bucket):
    assert size_bucket(requirement_e32) == bucket
    assert book_census.bucket_flags(requirement_e32) == one_hot(bucket)


def test_the_bounds_are_decimal_price_units():
    assert CENSUS_BOUNDS_E32 == tuple(10**e * E32 for e in (3, 4, 5, 6))
    with pytest.raises(EncodingError):
        size_bucket(-1)


def test_reference_census_puts_each_account_below_maintenance_in_its_bucket():
    at_bound, just_under, mid, top = (account_sums(a, SNAPSHOT) for a in CENSUS_ACCOUNTS)
    assert (at_bound.below_by_size, at_bound.shortfall_by_size_e32) == (one_hot(1), (0, E32, 0, 0, 0))
    assert just_under.below_by_size == one_hot(0)
    assert just_under.shortfall_by_size_e32[0] == just_under.shortfall_e32 == 1000 * E32 - 5 * 10**24
    assert (mid.below_by_size, mid.shortfall_by_size_e32[1]) == (one_hot(1), 1000 * E32)
    assert (top.below_by_size, top.shortfall_by_size_e32[4]) == (one_hot(4), 999_990 * E32)
    healthy = account_sums(contracts(200 * E8, 1000 * E8), SNAPSHOT)  # equity == requirement: not counted
    assert (healthy.below_by_size, healthy.shortfall_by_size_e32) == ((0,) * 5, (0,) * 5)
    totals = book_totals([*CENSUS_ACCOUNTS, *ACCOUNTS], SNAPSHOT)
    assert totals.census_adds_up() and totals.below_by_size == (3, 2, 0, 0, 1)


def test_sum_names_list_the_census_after_the_book_wide_figures():
    names = sum_names(2)
    assert names[:7] == ("accounts", "deposits_e8[0]", "deposits_e8[1]", "pnl_owed_e32", "bad_debt_e32",
                         "below_maintenance", "shortfall_e32")
    assert names[7:] == (*(f"below_maintenance[{j}]" for j in range(5)), *(f"shortfall_e32[{j}]" for j in range(5)))
    sums = account_sums(MID, SNAPSHOT)
    assert len(sums.as_fields()) == len(sums.leaf_bits()) == len(names)
    assert sums_from_fields(sums.as_fields(), 2) == sums


# ----- the batch circuit ---------------------------------------------------------------------------------------

def test_honest_census_batch_satisfies_and_matches_the_reference():
    public, witness, sums = honest(CIRCUIT, CENSUS_ACCOUNTS)
    assert sums == book_totals(CENSUS_ACCOUNTS, SNAPSHOT)
    assert sums.below_by_size == (1, 2, 0, 0, 1)
    assert broken(CIRCUIT, solve(CIRCUIT, public, witness)) == []


@pytest.mark.parametrize(("slot", "claimed", "stopped_by"), [
    (0, 0, "below_upper"),  # requirement == 1e3 claimed under 1e3 (the exact boundary)
    (1, 1, "from_lower"),  # requirement 1e3 - 5e-8 claimed at 1e3 or more
    (2, 0, "below_upper"),  # one bucket below
    (2, 2, "from_lower"),  # one bucket above
    (3, 3, "below_upper"),  # requirement == 1e6 claimed in the last bounded bucket (the exact boundary)
])
def test_a_bucket_claimed_one_off_is_refused(monkeypatch, slot, claimed, stopped_by):
    real = size_bucket(account_requirement(CENSUS_ACCOUNTS[slot]))
    assert abs(claimed - real) == 1
    z = lying_flags(monkeypatch, CENSUS_ACCOUNTS, slot, lambda _: one_hot(claimed))
    honest_count = account_sums(CENSUS_ACCOUNTS[slot], SNAPSHOT)
    assert honest_count.below_maintenance == 1  # the lie moves a margin call from one bucket to another
    assert z[public_index(f"below_maintenance[{claimed}]")] == book_totals(
        CENSUS_ACCOUNTS, SNAPSHOT).below_by_size[claimed] + 1
    assert broken(CIRCUIT, z) == [f"slot[{slot}]/census/{stopped_by}/pack"]


# Instrument I0 with a zero maintenance rate: a long bought above the mark is below maintenance with size 0.
ZERO_RATE = make_snapshot([(100 * E8, 0, E8), (20 * E8, 10**7, E8)], [(E8, 0), (3000 * E8, 10**7)])
SIZE_ZERO = make_account({0: (E8, 150 * E8)}, {0: 10 * E8})  # equity -40, requirement 0: shortfall 40
ON_I1 = tuple(make_account({1: (q * E8, 20 * E8)}, {0: E8}) for q in (-2, 3, 5))  # sizes 4, 6, 10


@pytest.mark.parametrize("index", [-1, CENSUS_BUCKETS])
@pytest.mark.parametrize(("snapshot", "accounts", "stopped_by"), [
    (ZERO_RATE, (SIZE_ZERO, *ON_I1), ["slot[0]/census/one_bucket"]),
    (SNAPSHOT, CENSUS_ACCOUNTS, ["slot[0]/census/one_bucket", "slot[0]/census/below_upper/pack"])])
def test_a_bucket_index_out_of_range_is_refused(monkeypatch, index, snapshot, accounts, stopped_by):
    """An index -1 or J has no flag (all zero): the margin call would count book-wide and in no bucket.
    For a size of 0 (a zero maintenance rate) sum_j f_j = 1 is the only rule that stops it."""
    assert account_sums(accounts[0], snapshot).below_maintenance == 1
    z = lying_flags(monkeypatch, accounts, 0, lambda _: one_hot(index), snapshot)
    in_buckets = sum(z[public_index(f"below_maintenance[{j}]")] for j in range(CENSUS_BUCKETS))
    assert in_buckets == z[public_index("below_maintenance")] - 1  # the census would not add up
    assert broken(CIRCUIT, z) == stopped_by


def test_non_boolean_flags_are_refused(monkeypatch):
    """Flags (-1, 2, 0, 0, 0) sum to 1 and pass both range checks for MID (size 5e3): bucket 0 would count r - 1
    margin calls and bucket 1 two. Only the booleanity of the flags stops it."""
    z = lying_flags(monkeypatch, CENSUS_ACCOUNTS, 2, lambda _: (R - 1, 2, 0, 0, 0))
    honest_sums = book_totals(CENSUS_ACCOUNTS, SNAPSHOT)
    assert z[public_index("below_maintenance[0]")] == (honest_sums.below_by_size[0] - 1) % R
    assert broken(CIRCUIT, z) == ["slot[2]/census/bucket[0]/bool", "slot[2]/census/bucket[1]/bool"]


def test_a_padding_slot_cannot_count_in_a_bucket(monkeypatch):
    """A padding slot (present = 0) claiming a margin call in bucket 0: its below is zeroed before the census."""
    public, witness, _ = honest(CIRCUIT, CENSUS_ACCOUNTS[:3])
    CIRCUIT.compile()
    lie(monkeypatch, "slot[3]/census/below[0]", lambda _: 1)
    z = settle_public(CIRCUIT, solve(CIRCUIT, public, witness))
    assert z[public_index("below_maintenance[0]")] == 2
    assert broken(CIRCUIT, z) == ["slot[3]/census/below[0]"]


def test_a_bucket_shortfall_that_would_wrap_is_refused(monkeypatch):
    """Slot 2's shortfall in its bucket as r - 1 (a "negative" shortfall that would cut the bucket's total modulo r)."""
    public, witness, _ = honest(CIRCUIT, CENSUS_ACCOUNTS)
    CIRCUIT.compile()
    lie(monkeypatch, "slot[2]/census/shortfall[1]", lambda _: -1)
    z = settle_public(CIRCUIT, solve(CIRCUIT, public, witness))
    assert broken(CIRCUIT, z) == ["slot[2]/census/shortfall[1]"]


def test_a_public_bucket_sum_at_or_above_r_is_refused_before_any_pairing():
    public, _, sums = honest(CIRCUIT, CENSUS_ACCOUNTS)
    wrapped = list(sums.as_fields())
    wrapped[sum_names(2).index("below_maintenance[1]")] += R
    with pytest.raises(PublicInputError):
        CIRCUIT.public_inputs(SNAPSHOT, public.commitment, public.context, wrapped)


@pytest.mark.parametrize("seed", range(3))
def test_circuit_and_reference_census_agree_on_random_batches(seed):
    """Random sizes across every bucket, healthy or not, with padding: the reference's sums satisfy the circuit."""
    rng = random.Random(seed)
    accounts = []
    for _ in range(rng.randint(1, 4)):
        size_e8 = rng.choice([rng.randint(1, 300 * E8), rng.randint(100 * E8, 300_000 * E8)])
        accounts.append(contracts(size_e8, rng.randint(0, size_e8 * 6)))
    public, witness, sums = honest(CIRCUIT, accounts)
    assert sums == book_totals(accounts, SNAPSHOT) and sums.census_adds_up()
    assert broken(CIRCUIT, solve(CIRCUIT, public, witness)) == []


# ----- the tree (plain Python: the trader's path and the auditor's top) ------------------------------------------

@pytest.mark.parametrize("change", [
    {"below_by_size": (0, 0, 0, 0, 0)},  # a margin call in no bucket
    {"below_by_size": (1, 1, 0, 0, 0), "below_maintenance": 1},  # two in buckets, one book-wide
    {"shortfall_by_size_e32": (E32, 0, 0, 0, 0)},  # the shortfall moved out of its bucket and cut
])
def test_a_sibling_whose_census_does_not_add_up_is_refused(change):
    """A sibling hashed into a root the venue computes with the same node hash, whose census differs from its
    book-wide figures: only the check that the census adds up refuses the path."""
    circuit = book_circuit("book-cross-n2-k2-b2")
    other = account_sums(MID, SNAPSHOT)
    odd = replace(other, **change)
    assert not odd.census_adds_up()
    path = forged_sibling_path(circuit, ACCOUNTS[0], 7, odd)
    with pytest.raises(EncodingError, match="does not lead"):
        check_own_leaf(circuit, ACCOUNTS[0], SNAPSHOT, 7, path, path.root)
    with pytest.raises(EncodingError, match="census"):
        parent(1, path.leaf, path.siblings[0])
    check_sums(0, other)  # the honest sibling passes


@pytest.mark.parametrize(("field", "value"), [("below_by_size", (0, R - 1, 0, 0, 0)),
                                              ("shortfall_by_size_e32", (0, 2**231, 0, 0, 0))])
def test_a_sibling_bucket_sum_out_of_bounds_is_refused(field, value):
    """A bucket's count r - 1 (a "negative" count a field sum would wrap) or a shortfall above 2^230 at a leaf."""
    sums = replace(account_sums(MID, SNAPSHOT), **{field: value})
    with pytest.raises(EncodingError, match="height 0"):
        check_sums(0, sums)


@pytest.mark.parametrize("buckets", [CENSUS_BUCKETS - 1, CENSUS_BUCKETS + 1])
def test_sums_with_another_number_of_buckets_are_refused(buckets):
    """A census of another length (built directly, never parsed) is refused, not truncated by a zip."""
    sums = replace(zero_sums(2), below_by_size=(0,) * buckets, shortfall_by_size_e32=(0,) * buckets)
    with pytest.raises(EncodingError, match="figures, not"):
        check_sums(3, sums)
    with pytest.raises(EncodingError, match="figures"):
        sums_from_fields(sums.as_fields(), 2)
