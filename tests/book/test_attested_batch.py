"""The batch statement's tie to the venue's attested set (attested_root), attacked in the circuit without setup.

A dishonest prover is modelled as in test_batch_attacks: one value of the honest solve is changed (everything
downstream follows it), the public inputs it controls are settled to what it computes, and each test names the
one constraint that stops it. The public attested_root stays the venue's (the verifier folds it to the signed
root, tests/book/test_attested_book.py), unless the attack is about it.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from tests.book.builders import ACCOUNTS, SNAPSHOT, book_circuit, honest, identity, settle_public
from tests.circuits.assignments import broken, solve
from tests.circuits.builders import E8, make_account
from zkmargin.book.batches import attested_batch_root, attested_top
from zkmargin.book.reference import book_totals, sum_names
from zkmargin.errors import EncodingError, PublicInputError
from zkmargin.field import R
from zkmargin.gadgets.merkle import EMPTY_LEAF, member_leaf, merkle_subtree_gadget
from zkmargin.r1cs import ConstraintSystem, LinearCombination
from zkmargin.venue.tree import member_leaves, merkle_root, subtree_root

CIRCUIT = book_circuit()


def public_index(name: str) -> int:
    """Index in z of a public input (z[0] is the constant one)."""
    return 1 + CIRCUIT.compile().public_names.index(name)


def forced_value(monkeypatch, label: str, value: int) -> None:
    """A prover whose product labelled `label` (full label) takes `value` instead of the honest one."""
    original = ConstraintSystem.mul

    def mul(self, a, b, name="mul"):
        out = original(self, a, b, name)
        if self.has_values and self._label(name) == label:
            self.set_value(out, value % R)
            return LinearCombination(out.terms, value % R)
        return out

    monkeypatch.setattr(ConstraintSystem, "mul", mul)


def lying_input(monkeypatch, label: str, value: int) -> None:
    """A prover that allocates `value` for the private input labelled `label`."""
    original = ConstraintSystem._new_variable

    def new_variable(self, name, given, public):
        if given is not None and self.has_values and self._label(name) == label:
            given = value % R
        return original(self, name, given, public)

    monkeypatch.setattr(ConstraintSystem, "_new_variable", new_variable)


def test_the_public_attested_root_is_the_venue_subtree_over_the_slots():
    public, witness, _ = honest(CIRCUIT, ACCOUNTS)
    z = solve(CIRCUIT, public, witness)
    commitments = [CIRCUIT.statement.cross.commitment(s) for s in witness.slots]
    leaves = member_leaves([(str(i), c, identity(i)) for i, c in enumerate(commitments)])
    # A full batch is a whole venue tree of depth b: the venue run's own tree code gives the same root.
    assert z[public_index("attested_root")] == merkle_root(leaves, 2) == subtree_root(leaves, 0, 2)
    assert broken(CIRCUIT, z) == []


def test_a_slot_bound_to_another_accounts_identity_is_refused():
    """Real commitments, identities of slots 0 and 1 swapped: their venue leaves are not the attested ones."""
    public, witness, _ = honest(CIRCUIT, ACCOUNTS)
    swapped = (identity(1), identity(0), *witness.identities[2:])
    assert broken(CIRCUIT, solve(CIRCUIT, public, replace(witness, identities=swapped))) == ["root/attested_root"]


def test_a_slot_cannot_stand_for_an_account_it_does_not_open(monkeypatch):
    """The venue's leaf of account 0 with the figures of an invented account: the commitment the attested leaf
    hashes is the one the slot opens, so claiming account 0's commitment breaks the opening."""
    public, witness, _ = honest(CIRCUIT, ACCOUNTS)
    invented = make_account({}, {0: E8})
    slots = (CIRCUIT.statement.entry(invented, SNAPSHOT, 1000), *witness.slots[1:])
    lying_input(monkeypatch, "slot[0]/commitment", CIRCUIT.statement.cross.commitment(witness.slots[0]))
    z = settle_public(CIRCUIT, solve(CIRCUIT, public, replace(witness, slots=slots)))
    assert z[public_index("attested_root")] == public.extra[-1]  # the lie reaches the venue's attested root
    labels = broken(CIRCUIT, z)
    assert labels and all(label.startswith("slot[0]/commitment/") for label in labels), labels


def test_a_padding_slot_cannot_carry_a_venue_leaf(monkeypatch):
    """Three accounts and a padding slot whose venue leaf is a fourth account's: the book would leave that account
    out (its figures zeroed) while the attested subtree counts it. present = 0 forces EMPTY_LEAF."""
    public, witness, _ = honest(CIRCUIT, ACCOUNTS[:3])
    full, full_witness, _ = honest(CIRCUIT, ACCOUNTS)
    dropped = CIRCUIT.statement.cross.commitment(full_witness.slots[3])
    forced_value(monkeypatch, "slot[3]/attested/leaf", member_leaf(dropped, identity(3)))
    z = settle_public(CIRCUIT, solve(CIRCUIT, public, witness))
    assert z[public_index("attested_root")] == full.extra[-1]  # what the venue signed over four accounts
    assert z[public_index("accounts")] == 3
    assert broken(CIRCUIT, z) == ["slot[3]/attested/leaf"]


def test_a_present_slot_cannot_pass_as_empty(monkeypatch):
    """An invented account counted in the book (present) whose venue leaf is claimed EMPTY_LEAF (the venue tree
    has only three accounts): the product present * leaf breaks."""
    public, witness, _ = honest(CIRCUIT, ACCOUNTS)
    three, _, _ = honest(CIRCUIT, ACCOUNTS[:3])
    forced_value(monkeypatch, "slot[3]/attested/leaf", EMPTY_LEAF)
    z = settle_public(CIRCUIT, solve(CIRCUIT, public, witness))
    assert z[public_index("attested_root")] == three.extra[-1]
    assert broken(CIRCUIT, z) == ["slot[3]/attested/leaf"]


@pytest.mark.parametrize("delta", [1, R - 1])
def test_every_other_attested_root_is_refused(delta):
    public, witness, _ = honest(CIRCUIT, ACCOUNTS)
    z = solve(CIRCUIT, public, witness)
    z[public_index("attested_root")] = (z[public_index("attested_root")] + delta) % R
    assert broken(CIRCUIT, z) == ["root/attested_root"]


def test_an_attested_root_at_or_above_r_is_refused_before_any_pairing():
    public, _, _ = honest(CIRCUIT, ACCOUNTS)
    with pytest.raises(PublicInputError, match="attested_root"):
        CIRCUIT.public_inputs(SNAPSHOT, public.commitment, public.context, [*public.extra[:-1], public.extra[-1] + R])


def test_the_attested_root_is_the_last_per_batch_input():
    names = CIRCUIT.compile().public_names
    last_sum = sum_names(CIRCUIT.statement.n_collateral)[-1]  # the census's last figure since the census
    assert names.index("attested_root") == len(CIRCUIT.header) - 1 == names.index(last_sum) + 1


@pytest.mark.parametrize("seed", range(3))
def test_circuit_and_reference_agree_on_random_books(seed):
    """Random accounts, identities and padding: the reference root, sums and attested root satisfy the circuit."""
    rng = random.Random(100 + seed)
    accounts = []
    for _ in range(rng.randint(1, 4)):
        positions = {i: (rng.randint(-50 * E8, 50 * E8), rng.randint(1, 300 * E8)) for i in range(2) if rng.random() < .7}
        accounts.append(make_account(positions, {k: rng.randint(0, 100 * E8) for k in range(2) if rng.random() < .8}))
    identities = [identity(rng.randrange(10**6)) for _ in accounts]
    public, witness, sums = honest(CIRCUIT, accounts, identities=identities)
    assert sums == book_totals(accounts, SNAPSHOT)
    assert broken(CIRCUIT, solve(CIRCUIT, public, witness)) == []
    commitments = [CIRCUIT.statement.cross.commitment(s) for s in witness.slots[:len(accounts)]]
    assert public.extra[-1] == attested_batch_root(list(zip(commitments, identities)), 2)


@pytest.mark.parametrize("b", [0, 1, 2, 3])
def test_the_subtree_gadget_matches_the_venue_tree(b):
    rng = random.Random(b)
    leaves = [rng.randrange(R) for _ in range(1 << b)]
    cs = ConstraintSystem("check")
    root = merkle_subtree_gadget(cs, [cs.private_input(f"leaf{i}", v) for i, v in enumerate(leaves)])
    assert root.value == (leaves[0] if b == 0 else subtree_root(leaves, 0, b))
    assert cs.num_constraints == ((1 << b) - 1) * 243


def test_the_top_fold_refuses_batches_deeper_than_the_venue_tree():
    with pytest.raises(EncodingError, match="at most the venue tree's"):
        attested_top([1], 3, 2)
    with pytest.raises(EncodingError, match="fit a tree of depth 3"):
        attested_top([1, 2, 3], 2, 3)
