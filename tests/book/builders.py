"""Shared builders for the book tests: a small snapshot, accounts of every kind, batch statements and assignments."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from typing import Any

from tests.circuits.assignments import dot
from tests.circuits.builders import E8, make_account, make_snapshot
from zkmargin.book.batches import attested_batch_root, batch_context, batch_node
from zkmargin.book.reference import BookSums, account_sums
from zkmargin.book.tree import BookNode, BookPath, book_tag, leaf_hash
from zkmargin.circuits.book_batch import BookBatchStatement, BookBatchWitness, batch_witness
from zkmargin.circuits.book_proving import BookStatement, account_leaf
from zkmargin.circuits.book_sparse import SparseBookBatchStatement
from zkmargin.circuits.circuit import Circuit
from zkmargin.circuits.layout import StatementPublic
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.field import R
from zkmargin.gadgets.merkle import identity_commitment
from zkmargin.gadgets.poseidon import poseidon_hash
from zkmargin.margin.models import Account, Snapshot
from zkmargin.r1cs import ConstraintSystem

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


def statement(circuit: Circuit[Any]) -> BookStatement:
    """The batch statement of a book circuit (dense or sparse accounts)."""
    st = circuit.statement
    assert isinstance(st, BookBatchStatement | SparseBookBatchStatement)
    return st


def entries(circuit: Circuit[Any], accounts: Sequence[Account], snapshot: Snapshot = SNAPSHOT) -> list[Any]:
    """Each account's slot values under salt 1000 + i."""
    return [statement(circuit).entry(a, snapshot, 1000 + i) for i, a in enumerate(accounts)]


def identity(i: int) -> int:
    """The venue-tree identity of test account i (distinct per i; never 0 nor secret 0's)."""
    return identity_commitment(7000 + i)


def honest(circuit: Circuit[Any], accounts: Sequence[Account], snapshot: Snapshot = SNAPSHOT,
           batch_index: int = 0, identities: Sequence[int] | None = None
           ) -> tuple[StatementPublic, BookBatchWitness[Any], BookSums]:
    """The public inputs (from the reference figures, tree and venue subtree) and the witness of an honest batch;
    account i's identity is identity(i) unless given."""
    st = statement(circuit)
    slots = entries(circuit, accounts, snapshot)
    ids = [identity(i) for i in range(len(accounts))] if identities is None else list(identities)
    commitments = [st.cross.commitment(e) for e in slots]
    node = batch_node([(c, account_sums(a, snapshot, st.n_collateral)) for c, a in zip(commitments, accounts)],
                      st.batch_depth, st.n_collateral)
    attested = attested_batch_root(list(zip(commitments, ids)), st.batch_depth)
    public = circuit.public_inputs(snapshot, node.hash, batch_context(snapshot, batch_index),
                                   [*(() if st.hidden_sums else node.sums.as_fields()), attested])
    return public, batch_witness(st, slots, ids), node.sums


def lie(monkeypatch: Any, label: str, change: Callable[[int], int]) -> None:
    """A prover that allocates change(honest value) for the variable labelled `label` (solving only)."""
    original = ConstraintSystem._new_variable

    def new_variable(self, name, value, public):
        if value is not None and self.has_values and self._label(name) == label:
            value = change(value) % R
        return original(self, name, value, public)

    monkeypatch.setattr(ConstraintSystem, "_new_variable", new_variable)


def forged_sibling_path(circuit: Circuit[Any], account: Account, salt: int, sibling_sums: BookSums) -> BookPath:
    """The account's leaf with one leaf-level sibling (hash 5) carrying sibling_sums, under the root a venue
    computes with the same node hash and no check of the sibling's sums: what only the tree's checks refuse."""
    commitment, sums = account_leaf(circuit, account, SNAPSHOT, salt)
    leaf = BookNode(leaf_hash(commitment, sums), sums)
    digest = poseidon_hash([leaf.hash, *sums.as_fields(), 5, *sibling_sums.as_fields()], book_tag(1, sums.n_assets))
    return BookPath(0, leaf, (BookNode(5, sibling_sums),), BookNode(digest, sums + sibling_sums))


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


def spy_verify_batch(monkeypatch: Any) -> list[tuple[int, int]]:
    """(items, pairing checks) of every SnapshotVerifier.verify_batch call from now on (the one verdict path)."""
    from zkmargin.circuits.verification import SnapshotVerifier

    calls: list[tuple[int, int]] = []
    original = SnapshotVerifier.verify_batch

    def spy(self: SnapshotVerifier, items: Any, *args: Any, **kwargs: Any) -> Any:
        report = original(self, items, *args, **kwargs)
        calls.append((len(items), report.pairing_checks))
        return report

    monkeypatch.setattr(SnapshotVerifier, "verify_batch", spy)
    return calls
