"""Isolated margin: circuit and reference engine agree; isolation stays private; proofs verify."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.circuits.builders import E8, MAX64, isolated_circuit, make_snapshot
from zkmargin.circuits.proving import prove_account, verify_account_proof
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.errors import FormatError, MarginCallError
from zkmargin.margin.engine import compute_margin
from zkmargin.margin.isolated import compute_isolated_margin
from zkmargin.margin.models import (
    Account,
    Collateral,
    Position,
    account_to_json,
    parse_account,
)
from zkmargin.r1cs import ConstraintSystem

CIRCUIT = isolated_circuit(3, 2)


def solve(account, snapshot):
    witness = CIRCUIT.witness(account, snapshot, salt=777)
    public = CIRCUIT.public_inputs(snapshot, CIRCUIT.commitment(witness), 3)
    cs = ConstraintSystem("check")
    CIRCUIT.synthesize(cs, public, witness)
    return cs


def agrees(account, snapshot) -> bool:
    report = compute_isolated_margin(account, snapshot)
    failing = solve(account, snapshot).which_is_unsatisfied()
    if report.healthy:
        assert failing is None, failing
    else:
        assert failing is not None and failing.endswith("covers_maintenance/pack"), failing
    return report.healthy


SNAPSHOT = make_snapshot([(100 * E8, E8 // 10, E8), (50 * E8, E8 // 20, E8), (10 * E8, E8 // 4, E8)],
                         [(E8, 0), (2 * E8, E8 // 2)])


def iso(instrument: int, q: int, entry: int, asset: int, amount: int) -> Position:
    return Position(f"I{instrument}", q, entry, f"A{asset}", amount)


def test_isolated_position_exactly_covered_and_one_unit_short():
    # long 1 @ 100, mark 100, rate 10%: maintenance 10; allocated 10 units of A0 (price 1, no haircut).
    assert agrees(Account("a", (), (iso(0, E8, 100 * E8, 0, 10 * E8),)), SNAPSHOT)
    assert not agrees(Account("a", (), (iso(0, E8, 100 * E8, 0, 10 * E8 - 1),)), SNAPSHOT)


def test_pool_cannot_borrow_from_an_isolated_allocation():
    # The isolated position is over-collateralised but the cross position has nothing behind it.
    account = Account("a", (), (iso(0, E8, 100 * E8, 0, 1000 * E8), Position("I1", E8, 50 * E8)))
    assert not agrees(account, SNAPSHOT)
    assert compute_margin(Account("a", (Collateral("A0", 1000 * E8),), (Position("I0", E8, 100 * E8),
                                                                        Position("I1", E8, 50 * E8))), SNAPSHOT).healthy


def test_haircut_applies_to_the_allocation():
    # 10 units of A1 at price 2 with a 50% haircut are worth 10: exactly the maintenance.
    assert agrees(Account("a", (), (iso(0, E8, 100 * E8, 1, 10 * E8),)), SNAPSHOT)
    assert not agrees(Account("a", (), (iso(0, E8, 100 * E8, 1, 10 * E8 - 1),)), SNAPSHOT)


def test_cross_model_refuses_isolated_positions():
    with pytest.raises(FormatError, match="isolated"):
        compute_margin(Account("a", (), (iso(0, E8, 100 * E8, 0, 10 * E8),)), SNAPSHOT)


def test_format_round_trip_with_isolation():
    account = Account("a", (Collateral("A0", 5),), (iso(2, -3 * E8, 7 * E8, 1, 42),))
    assert parse_account(account_to_json(account)) == account


def test_a_lying_flag_cannot_move_allocation_into_the_pool():
    """Claiming an isolated slot is cross while keeping its allocation breaks 'no_allocation_unless_isolated'."""
    from dataclasses import replace

    account = Account("a", (), (iso(0, E8, 100 * E8, 0, 10 * E8),))
    witness = CIRCUIT.witness(account, SNAPSHOT, salt=1)
    forged = replace(witness, isolated_flags=(0, 0, 0))
    public = CIRCUIT.public_inputs(SNAPSHOT, CIRCUIT.commitment(forged), 0)
    cs = ConstraintSystem("check")
    CIRCUIT.synthesize(cs, public, forged)
    assert cs.which_is_unsatisfied() == "positions[0]/no_allocation_unless_isolated"


def test_extreme_corners():
    snapshot = make_snapshot([(MAX64, E8, MAX64)] * 3, [(MAX64, 0), (MAX64, E8)])
    account = Account("a", (Collateral("A0", MAX64),),
                      (iso(0, -(2**63), 0, 0, MAX64), iso(1, 2**63 - 1, MAX64, 1, MAX64), Position("I2", -(2**63), MAX64)))
    agrees(account, snapshot)


@st.composite
def accounts(draw):
    positions = []
    for i in range(3):
        if draw(st.booleans()):
            q = draw(st.integers(-100, 100)) * E8 // 10
            entry = draw(st.integers(1, 200)) * E8
            if draw(st.booleans()):
                positions.append(iso(i, q, entry, draw(st.integers(0, 1)), draw(st.integers(0, 3000)) * E8 // 10))
            else:
                positions.append(Position(f"I{i}", q, entry))
    collateral = tuple(Collateral(f"A{j}", draw(st.integers(0, 5000)) * E8 // 10) for j in range(2) if draw(st.booleans()))
    return Account("a", collateral, tuple(positions))


@settings(max_examples=200, deadline=None)
@given(accounts())
def test_circuit_agrees_with_engine_on_random_accounts(account):
    agrees(account, SNAPSHOT)


def test_real_proof_and_refusal():
    from zkmargin.backends import get_backend
    from zkmargin.groth16 import setup

    backend = get_backend("arkworks")
    circuit = circuit_from_id("isolated-n3-k2")
    pk = setup(circuit.compile(), random.Random(9), backend)
    healthy = Account("a", (Collateral("A0", 100 * E8),), (iso(0, E8, 100 * E8, 0, 10 * E8), Position("I1", E8, 50 * E8)))
    proof, public = prove_account(circuit, pk, healthy, SNAPSHOT, 5, 6, backend)
    assert verify_account_proof(circuit, pk.vk, SNAPSHOT, public.commitment, 6, proof, backend)
    assert not verify_account_proof(circuit, pk.vk, SNAPSHOT, public.commitment, 7, proof, backend)
    short = Account("a", (Collateral("A0", 100 * E8),), (iso(0, E8, 100 * E8, 0, 9 * E8),))
    with pytest.raises(MarginCallError, match="isolated position I0"):
        prove_account(circuit, pk, short, SNAPSHOT, 5, 6, backend)
