"""Sparse isolated (circuits/sparse_isolated.py): agrees with the isolated engine and dense isolated; an unused slot
is never isolated, a flag cannot move an allocation into the pool, held-slot rules as in sparse cross; a real proof."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.circuits.builders import E8, MAX64, isolated_circuit, make_snapshot
from zkmargin.circuits.circuit import Circuit
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.circuits.sparse_isolated import SparseIsolatedStatement
from zkmargin.errors import CapacityError, CircuitError, MarginCallError
from zkmargin.margin.isolated import compute_isolated_margin
from zkmargin.margin.models import Account, Collateral, Position
from zkmargin.r1cs import ConstraintSystem

CIRCUIT = Circuit(SparseIsolatedStatement(3, 2, 2))
DENSE = isolated_circuit(3, 2)
SNAPSHOT = make_snapshot(
    [(100 * E8, E8 // 10, E8), (50 * E8, E8 // 20, E8), (10 * E8, E8 // 4, E8)], [(E8, 0), (2 * E8, E8 // 2)]
)


def iso(instrument: int, q: int, entry: int, asset: int, amount: int) -> Position:
    return Position(f"I{instrument}", q, entry, f"A{asset}", amount)


def first_failure(circuit, witness, snapshot=SNAPSHOT, commitment=None):
    commitment = circuit.commitment(witness) if commitment is None else commitment
    cs = ConstraintSystem("check")
    circuit.synthesize(cs, circuit.public_inputs(snapshot, commitment, 3), witness)
    return cs.which_is_unsatisfied()


def agrees(account, snapshot=SNAPSHOT, circuit=CIRCUIT) -> bool:
    report = compute_isolated_margin(account, snapshot)
    failing = first_failure(circuit, circuit.witness(account, snapshot, 777), snapshot)
    dense = DENSE.witness(account, snapshot, 777)
    dense_failing = first_failure(DENSE, dense, snapshot)
    assert (failing is None) == report.healthy == (dense_failing is None), (failing, dense_failing)
    if not report.healthy:
        assert failing.endswith("covers_maintenance/pack"), failing
    return report.healthy


def test_isolated_position_exactly_covered_and_one_unit_short():
    assert agrees(Account("a", (), (iso(2, E8, 10 * E8, 0, 25 * E8 // 10),)))
    assert not agrees(Account("a", (), (iso(2, E8, 10 * E8, 0, 25 * E8 // 10 - 1),)))


def test_pool_cannot_borrow_from_an_isolated_allocation():
    account = Account("a", (), (iso(0, E8, 100 * E8, 0, 1000 * E8), Position("I1", E8, 50 * E8)))
    assert not agrees(account)


def test_witness_keeps_isolation_with_its_held_slot():
    account = Account("a", (Collateral("A1", 5 * E8),), (Position("I0", E8, 90 * E8), iso(2, -E8, 11 * E8, 1, 7)))
    w = CIRCUIT.witness(account, SNAPSHOT, 1)
    assert (w.indices, w.isolated_flags, w.isolated_amounts_e8, w.isolated_asset_slots) == (
        (0, 2),
        (0, 1),
        (0, 7),
        (0, 1),
    )


def test_an_unused_slot_is_never_isolated():
    """A zero slot flagged isolated with an allocation: refused (it would be a second commitment of one state)."""
    account = Account("a", (Collateral("A0", 100 * E8),), (Position("I0", E8, 100 * E8),))
    w = CIRCUIT.witness(account, SNAPSHOT, 1)
    forged = replace(w, isolated_flags=(0, 1), isolated_amounts_e8=(0, 5), isolated_asset_slots=(0, 0))
    assert first_failure(CIRCUIT, forged) == "held[1]/unused_is_not_isolated"


def test_a_lying_flag_cannot_move_allocation_into_the_pool():
    account = Account("a", (), (iso(0, E8, 100 * E8, 0, 10 * E8),))
    w = CIRCUIT.witness(account, SNAPSHOT, 1)
    forged = replace(w, isolated_flags=(0, 0))
    assert first_failure(CIRCUIT, forged) == "held[0]/no_allocation_unless_isolated"


def test_held_slot_rules_hold_here_too():
    account = Account("a", (Collateral("A0", 100 * E8),), (Position("I1", E8, 50 * E8),))
    w = CIRCUIT.witness(account, SNAPSHOT, 1)
    doubled = replace(w, indices=(1, 1), quantities_e8=(E8, E8), entry_prices_e8=(50 * E8, 50 * E8))
    assert first_failure(CIRCUIT, doubled) == "held[1]/indices_increase/pack"
    outside = replace(w, indices=(3,))
    with pytest.raises(CircuitError):
        first_failure(CIRCUIT, outside, commitment=1)
    beyond = replace(w, indices=(3, 0))
    assert first_failure(CIRCUIT, beyond, commitment=1) == "held[0]/index/below_rows/pack"


def test_more_held_positions_than_slots_is_refused():
    account = Account("a", (), tuple(Position(f"I{i}", E8, E8) for i in range(3)))
    with pytest.raises(CapacityError):
        CIRCUIT.witness(account, SNAPSHOT, 1)


def test_extreme_corners():
    snapshot = make_snapshot([(MAX64, E8, MAX64)] * 3, [(MAX64, 0), (MAX64, E8)])
    account = Account(
        "a", (Collateral("A0", MAX64),), (iso(0, -(2**63), 0, 0, MAX64), iso(1, 2**63 - 1, MAX64, 1, MAX64))
    )
    agrees(account, snapshot)


@st.composite
def accounts(draw):
    positions = []
    for i in draw(st.lists(st.integers(0, 2), max_size=2, unique=True)):
        q = draw(st.integers(-100, 100)) * E8 // 10
        entry = draw(st.integers(1, 200)) * E8
        if draw(st.booleans()):
            positions.append(iso(i, q, entry, draw(st.integers(0, 1)), draw(st.integers(0, 3000)) * E8 // 10))
        else:
            positions.append(Position(f"I{i}", q, entry))
    collateral = tuple(
        Collateral(f"A{j}", draw(st.integers(0, 5000)) * E8 // 10) for j in range(2) if draw(st.booleans())
    )
    return Account("a", collateral, tuple(positions))


@settings(max_examples=25, deadline=None)
@given(accounts())
def test_sparse_isolated_agrees_with_the_engine_and_dense_isolated(account):
    agrees(account)


def test_registry_and_membership_ids():
    assert circuit_from_id("isolated-n3-p2-k2").circuit_id == "isolated-n3-p2-k2"
    member = circuit_from_id("isolated-n3-p2-k2-m2")
    assert member.is_membership and member.statement.inner == CIRCUIT.statement


def test_mux_variant_agrees():
    mux = Circuit(SparseIsolatedStatement(3, 2, 2, "mux"))
    assert agrees(Account("a", (), (iso(2, E8, 10 * E8, 0, 25 * E8 // 10),)), circuit=mux)


def test_real_proof_and_refusal():
    from zkmargin.backends import get_backend
    from zkmargin.circuits.proving import prove_account, verify_account_proof
    from zkmargin.groth16 import setup

    backend = get_backend("arkworks")
    pk = setup(CIRCUIT.compile(), random.Random(4), backend)
    healthy = Account(
        "a", (Collateral("A0", 100 * E8),), (iso(0, E8, 100 * E8, 1, 10 * E8), Position("I2", -E8, 10 * E8))
    )
    proof, public = prove_account(CIRCUIT, pk, healthy, SNAPSHOT, 5, 9, backend)
    assert verify_account_proof(CIRCUIT, pk.vk, SNAPSHOT, public.commitment, 9, proof, backend)
    assert not verify_account_proof(CIRCUIT, pk.vk, SNAPSHOT, public.commitment, 8, proof, backend)
    with pytest.raises(MarginCallError, match="isolated position I0"):
        prove_account(CIRCUIT, pk, Account("a", (), (iso(0, E8, 100 * E8, 0, E8),)), SNAPSHOT, 5, 9, backend)
