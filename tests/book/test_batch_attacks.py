"""Adversarial review of the book batch statement (issue 27, item 2), written before the statement was trusted.

Each test is an attack, written to PASS when the attack FAILS. A dishonest prover is modelled by
solving the assignment with one rule of the honest solver changed (a patched gadget or a tampered
product, allocating the same variables in the same order), so everything downstream of the lie
(sums, leaf hashes, the batch tree) is consistent with it; the public root and sums are then set
to what that assignment computes (settle_public). The assignment is checked against the compiled
circuit keys are made from, and each test asserts WHICH constraints break: the one rule that stops it.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

import zkmargin.circuits.book_batch as book_batch
from tests.book.builders import (
    ACCOUNTS,
    HEALTHY,
    SNAPSHOT,
    UNDER,
    UNDERWATER,
    book_circuit,
    entries,
    honest,
    random_accounts,
    settle_public,
    statement,
)
from tests.circuits.assignments import broken, solve
from tests.circuits.builders import E8, make_account
from zkmargin.book.batches import batch_context
from zkmargin.book.reference import book_totals, sum_names
from zkmargin.circuits.book_batch import batch_witness
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.errors import CircuitError, PublicInputError
from zkmargin.field import R
from zkmargin.gadgets.poseidon import poseidon_hash
from zkmargin.margin.commitment import AMOUNTS_PER_ELEMENT, QUANTITY_OFFSET
from zkmargin.r1cs import ConstraintSystem, LinearCombination

CIRCUIT = book_circuit()


def public_index(name: str) -> int:
    """Index in z of a public input (z[0] is the constant one)."""
    return 1 + CIRCUIT.compile().public_names.index(name)


def test_honest_batch_satisfies_and_matches_the_reference():
    public, witness, sums = honest(CIRCUIT, ACCOUNTS)
    assert sums == book_totals(ACCOUNTS, SNAPSHOT)
    assert broken(CIRCUIT, solve(CIRCUIT, public, witness)) == []


def test_padding_slots_add_nothing():
    public, witness, sums = honest(CIRCUIT, ACCOUNTS[:3])
    assert sums.accounts == 3
    assert broken(CIRCUIT, solve(CIRCUIT, public, witness)) == []


@pytest.mark.parametrize("name", sum_names(2))
def test_every_understated_or_overstated_sum_is_refused(name):
    public, witness, _ = honest(CIRCUIT, ACCOUNTS)
    z = solve(CIRCUIT, public, witness)
    for delta in (-1, 1):
        bad = list(z)
        bad[public_index(name)] = (bad[public_index(name)] + delta) % R
        assert broken(CIRCUIT, bad) == [f"root/{name}"]


def test_a_sum_at_or_above_r_is_refused_before_any_pairing():
    public, _, sums = honest(CIRCUIT, ACCOUNTS)
    wrapped = list(sums.as_fields())
    wrapped[1] += R  # the same field element, another integer: refused at the boundary
    with pytest.raises(PublicInputError):
        CIRCUIT.public_inputs(SNAPSHOT, public.commitment, public.context, wrapped)


def patched_commitment(monkeypatch):
    """A prover that commits to whatever slots it holds: the sponge over their packing modulo r, no range check."""
    def commitment(self, w):
        positions = [(q + QUANTITY_OFFSET + (e << 64)) % R for q, e in zip(w.quantities_e8, w.entry_prices_e8)]
        amounts = [sum(a << (64 * j) for j, a in enumerate(w.amounts_e8[i:i + AMOUNTS_PER_ELEMENT])) % R
                   for i in range(0, len(w.amounts_e8), AMOUNTS_PER_ELEMENT)]
        return poseidon_hash([w.layout_digest, *positions, *amounts, w.salt], self.domain_tag)

    monkeypatch.setattr(type(statement(CIRCUIT).cross), "commitment", commitment)


@pytest.mark.parametrize("amount", [R - E8, R - 1, 1 << 64])
def test_a_negative_or_wrapping_balance_is_refused(monkeypatch, amount):
    """A deposit of -1 (r - 1e8), r - 1 or 2^64 would cut the deposit total modulo r; the 64-bit range check stops it."""
    public, witness, _ = honest(CIRCUIT, ACCOUNTS)
    slots = list(witness.slots)
    slots[2] = replace(slots[2], amounts_e8=(amount, 0))
    patched_commitment(monkeypatch)
    z = settle_public(CIRCUIT, solve(CIRCUIT, public, replace(witness, slots=tuple(slots))))
    labels = broken(CIRCUIT, z)
    assert labels and all(label.startswith("slot[2]/collateral[0]/amount_range") for label in labels), labels


def patched_sign(monkeypatch, label_part: str):
    """A prover that counts a signed figure as if it were >= 0 (so a loss would enter a liability sum)."""
    original = book_batch.positive_part

    def lying(cs, x, label):
        if label_part not in label:
            return original(cs, x, label)
        bits = book_batch.assert_signed(cs, x, book_batch.SIGNED_BITS, label)
        positive = cs.alloc(f"{label}/positive", lambda: x.value)
        return positive, bits[-1]

    monkeypatch.setattr(book_batch, "positive_part", lying)


def test_a_fake_account_with_negative_value_cannot_offset_pnl_owed(monkeypatch):
    """The fake account's upnl (-51) counted as P&L owed would cut the total; the sign decomposition stops it."""
    public, witness, sums = honest(CIRCUIT, [HEALTHY, UNDERWATER])
    patched_sign(monkeypatch, "pnl_sign")
    z = settle_public(CIRCUIT, solve(CIRCUIT, public, witness))
    assert z[public_index("pnl_owed_e32")] != sums.pnl_owed_e32  # the lie reached the public total
    labels = broken(CIRCUIT, z)
    assert labels and all(label.startswith(("slot[1]/pnl_sign", "slot[2]/pnl_sign", "slot[3]/pnl_sign"))
                          for label in labels), labels


def test_negative_equity_cannot_be_booked_as_negative_bad_debt(monkeypatch):
    public, witness, _ = honest(CIRCUIT, [HEALTHY, UNDERWATER])
    patched_sign(monkeypatch, "equity_sign")
    z = settle_public(CIRCUIT, solve(CIRCUIT, public, witness))
    labels = broken(CIRCUIT, z)
    assert labels and all("equity_sign" in label for label in labels), labels


def tampered_product(monkeypatch, suffix: str, slot: int, delta: int):
    """A prover that adds delta to one product (label ending in suffix) of one slot."""
    original = ConstraintSystem.mul

    def mul(self, a, b, label="mul"):
        out = original(self, a, b, label)
        if self.has_values and self._label(label).startswith(f"slot[{slot}]/") and self._label(label).endswith(suffix):
            self.set_value(out, (out.value + delta) % R)
            return LinearCombination(out.terms, (out.value + delta) % R)
        return out

    monkeypatch.setattr(ConstraintSystem, "mul", mul)


@pytest.mark.parametrize(("suffix", "what"), [("collateral[0]/after_haircut", "equity"),
                                              ("positions[1]/maintenance", "requirement")])
def test_misstated_equity_or_requirement_is_refused(monkeypatch, suffix, what):
    """UNDER (slot 1) is below maintenance; inflating its equity or cutting its requirement would hide it."""
    public, witness, sums = honest(CIRCUIT, ACCOUNTS)
    delta = 10**40 if what == "equity" else -(10**32)
    tampered_product(monkeypatch, suffix, 1, delta)
    z = settle_public(CIRCUIT, solve(CIRCUIT, public, witness))
    assert z[public_index("below_maintenance")] == sums.below_maintenance - 1  # the lie hides one account
    assert broken(CIRCUIT, z) == [f"slot[1]/{suffix}"]


def test_a_padding_slot_cannot_carry_figures(monkeypatch):
    """present = 0 zeroes a slot's sums: a prover that keeps them breaks the product that zeroes them."""
    public, witness, _ = honest(CIRCUIT, ACCOUNTS[:3])
    tampered_product(monkeypatch, "sums/deposits_e8[0]", 3, -E8)  # a padding slot with a negative deposit
    z = settle_public(CIRCUIT, solve(CIRCUIT, public, witness))
    assert broken(CIRCUIT, z) == ["slot[3]/sums/deposits_e8[0]"]


def test_a_leaf_cannot_be_dropped_or_counted_twice_inside_a_batch():
    """Public sums of a batch with one account fewer (or one twice) do not match the committed slots."""
    public, witness, _ = honest(CIRCUIT, ACCOUNTS)
    z = solve(CIRCUIT, public, witness)
    for accounts in (ACCOUNTS[:3], (*ACCOUNTS[:3], ACCOUNTS[0])):
        other, _, _ = honest(CIRCUIT, accounts)
        bad = list(z)
        for i, value in enumerate(other.header):
            bad[1 + i] = value
        assert "root/batch_root" in broken(CIRCUIT, bad)


def test_a_commitment_of_another_layout_does_not_open():
    """Slots read under another capacity's layout digest give another commitment: the leaf would not be the attested one."""
    public, witness, _ = honest(CIRCUIT, ACCOUNTS)
    other = statement(book_circuit("book-cross-n3-k2-b4"))
    slots = list(witness.slots)
    foreign = other.entry(ACCOUNTS[0], SNAPSHOT, 1000)
    slots[0] = replace(slots[0], layout_digest=foreign.layout_digest)
    z = solve(CIRCUIT, public, replace(witness, slots=tuple(slots)))
    assert any(label.startswith("slot[0]/commitment/opens") for label in broken(CIRCUIT, z))


def test_context_binds_the_snapshot_digest_and_the_batch_place():
    later = replace(SNAPSHOT, timestamp="2026-11-25T00:00:00Z")  # same prices and names, another snapshot
    contexts = {batch_context(SNAPSHOT, 0), batch_context(SNAPSHOT, 1), batch_context(later, 0)}
    assert len(contexts) == 3
    assert CIRCUIT.snapshot_inputs(later) == CIRCUIT.snapshot_inputs(SNAPSHOT)  # only the context tells them apart
    assert "context" in CIRCUIT.compile().public_names


def test_batch_witness_refuses_too_many_accounts():
    with pytest.raises(Exception, match="do not fit"):
        batch_witness(statement(CIRCUIT), entries(CIRCUIT, [*ACCOUNTS, make_account({}, {0: E8})]), range(5))


def test_unhealthy_accounts_are_counted_not_refused():
    public, witness, sums = honest(CIRCUIT, [UNDER, UNDERWATER])
    assert sums.below_maintenance == 2
    assert broken(CIRCUIT, solve(CIRCUIT, public, witness)) == []


@pytest.mark.parametrize("seed", range(3))
def test_circuit_and_reference_agree_on_random_batches(seed):
    """Random accounts (profits, losses, underwater, padding): the reference's root and sums satisfy the circuit."""
    accounts = random_accounts(random.Random(seed), 4)
    public, witness, sums = honest(CIRCUIT, accounts)
    assert sums == book_totals(accounts, SNAPSHOT)
    assert broken(CIRCUIT, solve(CIRCUIT, public, witness)) == []


@pytest.mark.parametrize("circuit_id", ["book-cross-n2-k2-b3", "book-cross-n2-k2-b1", "book-cross-n2-k2-b2048",
                                        "book-cross-n2-k2", "book-cross-n0-k2-b4"])
def test_registry_refuses_book_ids_without_a_power_of_two_batch(circuit_id):
    with pytest.raises(CircuitError):
        circuit_from_id(circuit_id)


def test_registry_builds_book_ids_with_the_batch_header_first():
    circuit = circuit_from_id("book-cross-n16-k4-b8")
    assert (circuit.circuit_id, statement(circuit).batch_size) == ("book-cross-n16-k4-b8", 8)
    assert circuit.header == ("batch_root", "context", *sum_names(4), "attested_root")
