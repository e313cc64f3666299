"""The sparse book batch `book-cross-n<N>-p<P>-k<K>-b<B>`: the sparse cross statement's attacks inside a batch, a padding
slot that holds something, the dense-vs-sparse commitment mixup, and the same leaf figures as the dense batch.

Written before the statement was trusted. Each forged slot opens its commitment (the commitment is computed the way
the circuit packs it, without the witness builder's checks) and the public root and sums are set to what the forged
assignment computes (settle_public), so only the rule that stops the attack breaks; each test names that rule.
"""

from __future__ import annotations

import random
import re

import pytest

import zkmargin.circuits.sparse_parts as sparse_parts
from tests.book.builders import ACCOUNTS, HEALTHY, SNAPSHOT, UNDER, book_circuit, honest, settle_public, statement
from tests.circuits.assignments import broken, solve
from tests.circuits.builders import E8, make_account
from tests.circuits.sparse_builders import raw_commitment
from zkmargin.book.reference import CENSUS_BUCKETS, account_sums, book_totals, sum_names
from zkmargin.circuits.book_batch import BookBatchWitness
from zkmargin.circuits.book_proving import account_leaf
from zkmargin.circuits.book_sparse import SparseBookBatchStatement
from zkmargin.circuits.circuit import Circuit
from zkmargin.circuits.cross import CrossStatement
from zkmargin.circuits.registry import BOOK_BATCH_IDS, circuit_from_id
from zkmargin.circuits.sparse_cross import SparseCrossStatement
from zkmargin.circuits.sparse_parts import SparseWitness, pack_row
from zkmargin.errors import CircuitError
from zkmargin.field import R
from zkmargin.r1cs import ConstraintSystem

SPARSE_ID = "book-cross-n2-p2-k2-b4"
CIRCUIT = book_circuit(SPARSE_ID)
DENSE = book_circuit()  # book-cross-n2-k2-b4: the same snapshot's dense batch


def held(indices, quantities, entries, amounts=(50 * E8, 0), salt=7) -> SparseWitness:
    """A hand-built held-slot witness in the snapshot's sparse layout."""
    return SparseWitness(tuple(indices), tuple(quantities), tuple(entries), tuple(amounts), salt,
                         statement(CIRCUIT).cross.layout_digest(SNAPSHOT))


def open_anything(monkeypatch) -> None:
    """The commitment a slot opens is whatever its (forged) held slots pack to: the attack is not the opening."""
    monkeypatch.setattr(SparseCrossStatement, "commitment", lambda self, w: raw_commitment(Circuit(self), w))


def forged_batch(monkeypatch, slot: int, w: SparseWitness) -> list[int]:
    """The honest batch of ACCOUNTS with slot `slot` replaced by w, solved and settled."""
    open_anything(monkeypatch)
    public, witness, _ = honest(CIRCUIT, ACCOUNTS)
    slots = list(witness.slots)
    slots[slot] = w
    return settle_public(CIRCUIT, solve(CIRCUIT, public, BookBatchWitness(tuple(slots), witness.identities)))


def test_honest_sparse_batch_satisfies_and_matches_the_reference():
    # Three of the four accounts hold instrument 0: its row is read three times in one batch-wide lookup.
    public, witness, sums = honest(CIRCUIT, ACCOUNTS)
    assert sums == book_totals(ACCOUNTS, SNAPSHOT)
    assert broken(CIRCUIT, solve(CIRCUIT, public, witness)) == []
    public, witness, sums = honest(CIRCUIT, ACCOUNTS[:2])
    assert sums.accounts == 2
    assert broken(CIRCUIT, solve(CIRCUIT, public, witness)) == []


def slot_figures_of(circuit: Circuit, account, salt: int = 99) -> list[int]:
    """The in-circuit leaf figures of slot 0 of a one-account batch."""
    public, witness, _ = honest(circuit, [account])
    cs = ConstraintSystem("check")
    circuit.synthesize(cs, public, witness)
    assert cs.which_is_unsatisfied() is None
    z = cs.assignment()
    # The census figures are the census gadget's products (circuits.book_census), the others the leaf's sums.
    labels = [*(f"slot[0]/sums/{name}" for name in sum_names(2)[:-2 * CENSUS_BUCKETS]),
              *(f"slot[0]/census/{kind}[{j}]" for kind in ("below", "shortfall") for j in range(CENSUS_BUCKETS))]
    return [z[cs._names.index(label)] for label in labels]


def random_account(rng: random.Random):
    positions = {i: (rng.choice((-1, 1)) * rng.randint(1, 5 * E8), rng.randint(1, 150) * E8)
                 for i in rng.sample(range(2), rng.randint(0, 2))}
    return make_account(positions, {j: rng.randint(0, 10**12) for j in rng.sample(range(2), rng.randint(1, 2))})


def test_the_same_account_has_the_same_leaf_figures_dense_and_sparse():
    rng = random.Random(27)
    for account in (*ACCOUNTS, *(random_account(rng) for _ in range(4))):
        sparse, dense = slot_figures_of(CIRCUIT, account), slot_figures_of(DENSE, account)
        assert sparse == dense == list(account_sums(account, SNAPSHOT, 2).as_fields())


def test_the_leaf_binds_the_sparse_commitment_the_trader_proves_against():
    commitment, sums = account_leaf(CIRCUIT, HEALTHY, SNAPSHOT, 5)
    trader = circuit_from_id("cross-n2-p2-k2")
    assert commitment == trader.commitment(trader.witness(HEALTHY, SNAPSHOT, 5))
    dense_commitment, dense_sums = account_leaf(DENSE, HEALTHY, SNAPSHOT, 5)
    assert sums == dense_sums and commitment != dense_commitment


def test_a_held_index_outside_the_table_is_refused_inside_a_batch(monkeypatch):
    z = forged_batch(monkeypatch, 1, held((2, 0), (E8, 0), (90 * E8, 0)))
    assert broken(CIRCUIT, z) == ["slot[1]/held[0]/index/bits/pack", "lookup/sums_agree"]


@pytest.mark.parametrize("alias", [R, R + 1])
def test_an_index_at_or_above_r_is_refused_before_it_is_reduced(monkeypatch, alias):
    with pytest.raises(CircuitError, match="index must be a field element"):
        forged_batch(monkeypatch, 2, held((alias, 0), (E8, 0), (90 * E8, 0)))


def forge_rows(monkeypatch, index: int, edit) -> None:
    """The solver reads edit(true row) wherever a held slot names `index` (a prover editing its row)."""
    honest_hint = sparse_parts.row_hint

    def lying(rows, at_index):
        true = honest_hint(rows, at_index)
        return edit(true) if at_index.value == index else true

    monkeypatch.setattr(sparse_parts, "row_hint", lying)


@pytest.mark.parametrize("edit", [
    lambda true: true - 5 * E8,  # a lower mark for UNDER's short
    lambda true: pack_row(20 * E8, 0, E8),  # its maintenance rate 0: UNDER would not be below maintenance
    lambda true: pack_row(100 * E8, 5 * 10**6, E8),  # row 0's values under index 1
])
def test_a_tampered_row_fails_the_batch_lookup(monkeypatch, edit):
    public, witness, _ = honest(CIRCUIT, ACCOUNTS)
    forge_rows(monkeypatch, 1, lambda true: true)
    assert broken(CIRCUIT, solve(CIRCUIT, public, witness)) == []
    forge_rows(monkeypatch, 1, edit)
    z = settle_public(CIRCUIT, solve(CIRCUIT, public, witness))
    assert broken(CIRCUIT, z) == ["lookup/sums_agree"]


def test_a_split_position_is_refused_inside_a_batch(monkeypatch):
    # HEALTHY's long of 2 on instrument 0 held as two slots of 1 naming the same row.
    z = forged_batch(monkeypatch, 0, held((0, 0), (E8, E8), (90 * E8, 90 * E8)))
    assert [label for label in broken(CIRCUIT, z) if not label.startswith("lookup/")] == \
        ["slot[0]/held[1]/indices_increase/pack"]


def test_a_zero_quantity_in_a_slot_that_names_an_instrument_is_refused_inside_a_batch(monkeypatch):
    z = forged_batch(monkeypatch, 0, held((0, 1), (2 * E8, 0), (90 * E8, 0)))
    assert broken(CIRCUIT, z) == ["slot[0]/held[1]/unused_index_is_zero"]


def test_a_padding_slot_holds_nothing(monkeypatch):
    held_position = held((0, 0), (2 * E8, 0), (90 * E8, 0))
    monkeypatch.setattr(SparseBookBatchStatement, "padding", lambda self, digest: held_position)
    open_anything(monkeypatch)
    public, witness, _ = honest(CIRCUIT, ACCOUNTS[:3])
    z = settle_public(CIRCUIT, solve(CIRCUIT, public, witness))
    assert broken(CIRCUIT, z) == ["slot[3]/padding_holds_nothing[0]"]


def test_a_dense_commitment_in_a_sparse_batch_is_refused(monkeypatch):
    dense_statement = statement(DENSE)
    dense = {1000 + i: dense_statement.cross.commitment(dense_statement.entry(a, SNAPSHOT, 1000 + i))
             for i, a in enumerate(ACCOUNTS)}
    monkeypatch.setattr(SparseCrossStatement, "commitment", lambda self, w: dense.get(w.salt, 0))
    public, witness, _ = honest(CIRCUIT, ACCOUNTS)
    z = settle_public(CIRCUIT, solve(CIRCUIT, public, witness))
    assert broken(CIRCUIT, z) == [f"slot[{s}]/commitment/opens" for s in range(4)]


def test_a_sparse_commitment_in_a_dense_batch_is_refused(monkeypatch):
    sparse_statement = statement(CIRCUIT)
    sparse = {1000 + i: sparse_statement.cross.commitment(sparse_statement.entry(a, SNAPSHOT, 1000 + i))
              for i, a in enumerate(ACCOUNTS)}
    monkeypatch.setattr(CrossStatement, "commitment", lambda self, w: sparse.get(w.salt, 0))
    public, witness, _ = honest(DENSE, ACCOUNTS)
    z = settle_public(DENSE, solve(DENSE, public, witness))
    assert broken(DENSE, z) == [f"slot[{s}]/commitment/opens" for s in range(4)]


def test_multiplicities_are_counts_in_their_range():
    public, witness, _ = honest(CIRCUIT, ACCOUNTS)
    cs = ConstraintSystem("check")
    CIRCUIT.synthesize(cs, public, witness)
    m0 = cs._names.index("lookup/multiplicity[0]")
    assert cs.assignment()[m0] == 3  # HEALTHY, UNDERWATER and FLAT read row 0
    z = cs.assignment()
    z[m0] = 8  # 2^3: outside the 3-bit range of a batch of 4, so the absorbed packing is not injective
    assert "lookup/multiplicity[0]/range/pack" in broken(CIRCUIT, z)


@pytest.mark.parametrize("circuit_id", ["book-cross-n4-p1-k1-b4", "book-cross-n1024-p16-k8-b64"])
def test_sparse_book_ids_parse_and_match_the_schema_pattern(circuit_id):
    circuit = circuit_from_id(circuit_id)
    assert circuit.circuit_id == circuit_id
    assert isinstance(circuit.statement, SparseBookBatchStatement)
    assert re.fullmatch(BOOK_BATCH_IDS, circuit_id)


@pytest.mark.parametrize("circuit_id", ["book-cross-n4-p1-k1-b3", "book-cross-n4-p1-k1-b1", "book-cross-n4-p5-k1-b4",
                                        "book-cross-n4-p1-k1-b2048", "book-tiered-n4-p1-k1-b4"])
def test_bad_sparse_book_ids_are_refused(circuit_id):
    with pytest.raises(CircuitError):
        circuit_from_id(circuit_id)


def test_under_maintenance_and_deposits_come_from_the_held_rows():
    # UNDER is the only account below maintenance; its figure needs row 1's rate, read through the lookup.
    public, witness, sums = honest(CIRCUIT, [UNDER])
    assert sums.below_maintenance == 1 and sums.shortfall_e32 > 0
    assert broken(CIRCUIT, solve(CIRCUIT, public, witness)) == []
