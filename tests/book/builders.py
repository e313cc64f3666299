"""Shared builders for the book tests: a small snapshot, accounts of every kind, batch statements and assignments."""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from typing import Any

from tests.circuits.assignments import dot
from tests.circuits.builders import E8, make_account, make_snapshot
from zkmargin.book.batches import batch_context, batch_node
from zkmargin.book.reference import BookSums, account_sums
from zkmargin.circuits.book_batch import BookBatchStatement, BookBatchWitness, batch_witness
from zkmargin.circuits.circuit import Circuit
from zkmargin.circuits.layout import StatementPublic
from zkmargin.circuits.parts import SlotValues
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.field import R
from zkmargin.margin.models import Account, Snapshot

SNAPSHOT = make_snapshot([(100 * E8, 5 * 10**6, E8), (20 * E8, 10**7, E8)], [(E8, 0), (3000 * E8, 10**7)])
HEALTHY = make_account({0: (2 * E8, 90 * E8)}, {0: 50 * E8})  # profit 20, pnl owed
UNDER = make_account({1: (-2 * E8, 19 * E8)}, {0: 3 * E8, 1: E8 // 1000})  # equity 3.7 < requirement 4
UNDERWATER = make_account({0: (-1 * E8, 50 * E8)}, {0: E8})  # equity -49: bad debt
FLAT = make_account({0: (E8, 100 * E8)}, {0: 5 * E8})  # equity 5, requirement 5: healthy at the boundary
ACCOUNTS = (HEALTHY, UNDER, UNDERWATER, FLAT)
BATCH_ID = "book-cross-n2-k2-b4"


@functools.cache
def book_circuit(circuit_id: str = BATCH_ID) -> Circuit[Any]:
    """A registered book batch circuit (cached: its compile is cached per circuit object)."""
    return circuit_from_id(circuit_id)


def statement(circuit: Circuit[Any]) -> BookBatchStatement:
    """The batch statement of a book circuit."""
    st = circuit.statement
    assert isinstance(st, BookBatchStatement)
    return st


def entries(circuit: Circuit[Any], accounts: Sequence[Account], snapshot: Snapshot = SNAPSHOT) -> list[SlotValues]:
    """Each account's slot values under salt 1000 + i."""
    return [statement(circuit).entry(a, snapshot, 1000 + i) for i, a in enumerate(accounts)]


def honest(circuit: Circuit[Any], accounts: Sequence[Account], snapshot: Snapshot = SNAPSHOT,
           batch_index: int = 0) -> tuple[StatementPublic, BookBatchWitness, BookSums]:
    """The public inputs (from the reference figures and tree) and the witness of an honest batch."""
    st = statement(circuit)
    slots = entries(circuit, accounts, snapshot)
    node = batch_node([(st.cross.commitment(e), account_sums(a, snapshot, st.n_collateral))
                       for e, a in zip(slots, accounts)], st.batch_depth, st.n_collateral)
    public = circuit.public_inputs(snapshot, node.hash, batch_context(snapshot, batch_index),
                                   () if st.hidden_sums else node.sums.as_fields())
    return public, batch_witness(st, slots), node.sums


def random_accounts(rng: random.Random, most: int) -> list[Account]:
    """1 .. most random accounts of SNAPSHOT: profits, losses, underwater, no position or no balance."""
    accounts = []
    for _ in range(rng.randint(1, most)):
        positions = {i: (rng.randint(-50 * E8, 50 * E8), rng.randint(1, 300 * E8)) for i in range(2) if rng.random() < .7}
        accounts.append(make_account(positions, {k: rng.randint(0, 100 * E8) for k in range(2) if rng.random() < .8}))
    return accounts


def settle_public(circuit: Circuit[Any], z: Sequence[int], prefix: str = "root/") -> list[int]:
    """z with the public batch root and sums (the public inputs of constraints labelled prefix...) set to what the
    private part computes: a prover that states its own (dishonest) figures, so only the rule that stops the
    attack stays broken."""
    compiled = circuit.compile()
    out = list(z)
    for a, label in zip(compiled.a, compiled.labels):
        if label.startswith(prefix):
            publics = [var for var, coeff in a if 1 <= var <= compiled.num_public and coeff == R - 1]
            assert len(publics) == 1, label
            out[publics[0]] = (out[publics[0]] + dot(a, out)) % R
    return out
