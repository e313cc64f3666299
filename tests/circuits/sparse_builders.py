"""Shared sparse-cross fixtures for the tests: a three-instrument table, an account, hand-built witnesses that open
their commitment (forgeries included) and check-mode solving; test modules import these, never each other."""

from __future__ import annotations

from dataclasses import replace

from tests.circuits.builders import E8, make_account, make_snapshot
from zkmargin.circuits import sparse_parts
from zkmargin.circuits.circuit import Circuit
from zkmargin.circuits.sparse_cross import SparseCrossStatement, SparseWitness
from zkmargin.circuits.sparse_parts import SELECTIONS
from zkmargin.field import R
from zkmargin.gadgets.poseidon import poseidon_hash
from zkmargin.margin.commitment import QUANTITY_OFFSET, amount_elements, commitment_domain_tag
from zkmargin.margin.models import Snapshot
from zkmargin.r1cs import ConstraintSystem, LinearCombination

CONTEXT = 5
SALT = 12345
# Three instruments (N = 3 is not a power of two, so the index needs its upper bound) and two assets.
TABLE = [(100 * E8, E8 // 10, E8), (20 * E8, E8 // 20, 10 * E8), (7 * E8, E8 // 4, E8)]
SNAPSHOT = make_snapshot(TABLE, [(E8, 0), (60_000 * E8, E8 // 10)])
ACCOUNT = make_account({0: (E8, 95 * E8), 2: (-3 * E8, 8 * E8)}, {0: 500 * E8})


def sparse(n_rows: int, n_held: int, n_collateral: int, selection: str = "lookup") -> Circuit:
    """The sparse cross statement at this capacity."""
    return Circuit(SparseCrossStatement(n_rows, n_held, n_collateral, selection))


SMALL = sparse(3, 3, 2)
SMALLS = {selection: sparse(3, 3, 2, selection) for selection in SELECTIONS}
POW2 = sparse(4, 2, 2)


def raw_commitment(circuit: Circuit, w: SparseWitness) -> int:
    """The commitment a sparse cross (or tiered: same packing) circuit computes, for ANY witness (no range checks: forgeries open too)."""
    slots = [
        ((q + QUANTITY_OFFSET) + (e << 64) + (i << 128)) % R
        for i, q, e in zip(w.indices, w.quantities_e8, w.entry_prices_e8)
    ]
    tag = commitment_domain_tag(len(w.indices), len(w.amounts_e8), circuit.statement.statement_tag)
    return poseidon_hash([w.layout_digest, *slots, *amount_elements(w.amounts_e8), w.salt], tag)


def solve(circuit: Circuit, w: SparseWitness, snapshot: Snapshot = SNAPSHOT, commitment: int | None = None):
    """Check-mode constraint system for a (possibly forged) witness whose commitment opens."""
    commitment = raw_commitment(circuit, w) if commitment is None else commitment
    cs = ConstraintSystem("check")
    circuit.synthesize(cs, circuit.public_inputs(snapshot, commitment, CONTEXT), w)
    return cs


def first_failure(circuit: Circuit, w: SparseWitness, snapshot: Snapshot = SNAPSHOT) -> str | None:
    return solve(circuit, w, snapshot).which_is_unsatisfied()


def forged(circuit: Circuit, indices, quantities, entries, amounts=(500 * E8, 0), snapshot: Snapshot = SNAPSHOT):
    """A hand-built witness with the snapshot's layout digest."""
    return SparseWitness(
        tuple(indices),
        tuple(quantities),
        tuple(entries),
        tuple(amounts),
        SALT,
        circuit.statement.layout_digest(snapshot),
    )


def variable(cs: ConstraintSystem, label: str) -> LinearCombination:
    """The variable allocated under this full label (tests tamper with solved values)."""
    return LinearCombination({cs._names.index(label): 1}, None)


def assert_another_table_fails(circuit: Circuit, w, snapshot: Snapshot) -> None:
    """The same table reversed or renamed has another layout digest: the witness no longer satisfies, and with
    the order kept (renamed) it is the commitment's opening that fails."""
    commitment = circuit.commitment(w)
    reordered = replace(snapshot, instruments=tuple(reversed(snapshot.instruments)))
    renamed = replace(snapshot, instruments=tuple(replace(q, instrument=q.instrument + "X") for q in snapshot.instruments))
    for other in (reordered, renamed):
        assert circuit.statement.layout_digest(other) != w.layout_digest
        assert solve(circuit, w, other, commitment).which_is_unsatisfied() is not None
    assert solve(circuit, w, renamed, commitment).which_is_unsatisfied() == "commitment/opens"


def honest_failure(circuit: Circuit, account, snapshot: Snapshot) -> str | None:
    """The first unsatisfied constraint of the account's honest witness and commitment (None: it proves); any
    statement, dense or sparse."""
    w = circuit.witness(account, snapshot, SALT)
    return solve(circuit, w, snapshot, circuit.commitment(w)).which_is_unsatisfied()


def forge_rows(monkeypatch, index: int, packed_row) -> None:
    """Make the solver read packed_row(true_row) wherever a held slot names `index` (a prover editing its row)."""
    honest = sparse_parts.row_hint

    def lying(rows, at_index):
        true = honest(rows, at_index)
        return packed_row(true) if at_index.value == index else true

    monkeypatch.setattr(sparse_parts, "row_hint", lying)
