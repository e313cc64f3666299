"""Cross-margin circuit: agrees with the reference engine; satisfiable exactly when healthy."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.circuits.builders import E8, MAX64, cross_circuit, make_account, make_snapshot
from zkmargin.circuits.cross import require_healthy
from zkmargin.circuits.parts import SLACK_BITS
from zkmargin.circuits.proving import prove_account, verify_account_proof
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.errors import CircuitError, MarginCallError, PublicInputError
from zkmargin.field import R
from zkmargin.margin.engine import compute_margin
from zkmargin.margin.models import (
    Account,
    Snapshot,
)
from zkmargin.r1cs import ConstraintSystem


def solve(circuit, account: Account, snapshot: Snapshot, context: int = 5):
    """Check-mode constraint system for this account: (cs, public)."""
    witness = circuit.witness(account, snapshot, salt=12345)
    public = circuit.public_inputs(snapshot, circuit.commitment(witness), context)
    cs = ConstraintSystem("check")
    circuit.synthesize(cs, public, witness)
    return cs, public


def agrees(circuit, account, snapshot) -> bool:
    """The circuit is satisfied exactly when the engine says healthy; returns healthy."""
    report = compute_margin(account, snapshot)
    cs, _ = solve(circuit, account, snapshot)
    failing = cs.which_is_unsatisfied()
    if report.healthy:
        assert failing is None, failing
    else:
        assert failing is not None and failing.startswith("solvency/equity_covers_maintenance"), failing
    return report.healthy


SMALL = cross_circuit(3, 2)


def boundary_pair():
    """One long at mark == entry with maintenance 10 USD, and collateral of exactly 10 USD."""
    snapshot = make_snapshot([(100 * E8, E8 // 10, E8)], [(E8, 0)])
    return snapshot, 10 * E8


def test_equity_equal_to_maintenance_is_healthy():
    snapshot, amount = boundary_pair()
    assert agrees(cross_circuit(1, 1), make_account({0: (E8, 100 * E8)}, {0: amount}), snapshot)


def test_one_unit_below_is_a_margin_call():
    snapshot, amount = boundary_pair()
    assert not agrees(cross_circuit(1, 1), make_account({0: (E8, 100 * E8)}, {0: amount - 1}), snapshot)


def test_empty_account_is_healthy():
    snapshot = make_snapshot([(100 * E8, E8 // 10, E8)] * 3, [(E8, 0)] * 2)
    assert agrees(SMALL, make_account({}, {}), snapshot)


def test_all_short_account():
    snapshot = make_snapshot([(100 * E8, E8 // 20, E8), (50 * E8, E8 // 10, 10 * E8), (7 * E8, E8 // 4, E8)],
                             [(E8, 0), (60000 * E8, E8 // 10)])
    account = make_account({0: (-5 * E8, 110 * E8), 1: (-2 * E8, 40 * E8), 2: (-E8, 7 * E8)}, {0: 200 * E8})
    agrees(SMALL, account, snapshot)


@pytest.mark.parametrize(
    "q,entry,mark,size,rate,amount,price,haircut",
    [
        (-(2**63), 0, MAX64, MAX64, E8, MAX64, MAX64, 0),          # biggest short loss
        (2**63 - 1, MAX64, 0, MAX64, E8, MAX64, MAX64, 0),         # biggest long loss
        (2**63 - 1, 0, MAX64, MAX64, 0, 0, 0, E8),                 # biggest gain, no maintenance
        (-(2**63), MAX64, 0, MAX64, E8, MAX64, MAX64, E8),         # short gain, full haircut
        (2**63 - 1, MAX64, MAX64, MAX64, E8, MAX64, MAX64, 0),     # biggest maintenance
    ],
)
def test_extreme_corners_do_not_wrap(q, entry, mark, size, rate, amount, price, haircut):
    """Every slot at its extreme: the field result must equal the integer result (no wrap mod r)."""
    n = 3
    snapshot = make_snapshot([(mark, rate, size)] * n, [(price, haircut)] * 2)
    account = make_account({i: (q, entry) for i in range(n)}, {0: amount, 1: amount})
    agrees(SMALL, account, snapshot)


def test_slack_bound_covers_the_largest_possible_slack():
    """1024 slots of at most 2^218 each stay below 2^SLACK_BITS, and r - 2^228 exceeds it."""
    assert 1024 * 2**218 <= 2**SLACK_BITS
    assert R - 1024 * 2**218 > 2**SLACK_BITS


values = st.integers(0, 10**6)


@st.composite
def accounts(draw):
    n = draw(st.integers(1, 3))
    k = draw(st.integers(1, 2))
    instruments = [
        (draw(st.integers(1, 10**5)) * E8 // 100, draw(st.integers(0, E8 // 5)), draw(st.sampled_from([E8, 10 * E8, E8 // 100])))
        for _ in range(n)
    ]
    assets = [(draw(st.integers(1, 10**5)) * E8 // 100, draw(st.integers(0, E8 // 2))) for _ in range(k)]
    positions = {
        i: (draw(st.integers(-(10**4), 10**4)) * E8 // 10, draw(st.integers(0, 10**5)) * E8 // 100)
        for i in range(n) if draw(st.booleans())
    }
    collateral = {j: draw(st.integers(0, 10**6)) * E8 // 100 for j in range(k) if draw(st.booleans())}
    return make_snapshot(instruments, assets), make_account(positions, collateral)


@settings(max_examples=200, deadline=None)
@given(accounts())
def test_circuit_agrees_with_engine_on_random_accounts(pair):
    snapshot, account = pair
    agrees(SMALL, account, snapshot)


def test_modes_have_identical_shape():
    snapshot = make_snapshot([(100 * E8, E8 // 10, E8)] * 3, [(E8, 0)] * 2)
    cs, public = solve(SMALL, make_account({0: (E8, 90 * E8)}, {0: 500 * E8}), snapshot)
    setup_cs = ConstraintSystem("setup")
    SMALL.synthesize(setup_cs)
    assert (cs.num_constraints, cs.num_public, cs.num_private) == (
        setup_cs.num_constraints, setup_cs.num_public, setup_cs.num_private)
    assert cs.num_public == SMALL.num_public == len(public.as_list())


def test_wrong_commitment_breaks_the_opening():
    snapshot = make_snapshot([(100 * E8, E8 // 10, E8)] * 3, [(E8, 0)] * 2)
    account = make_account({0: (E8, 90 * E8)}, {0: 500 * E8})
    witness = SMALL.witness(account, snapshot, salt=1)
    public = SMALL.public_inputs(snapshot, SMALL.commitment(witness) + 1, 0)
    cs = ConstraintSystem("check")
    SMALL.synthesize(cs, public, witness)
    assert cs.which_is_unsatisfied() == "commitment/opens"


def test_out_of_range_quantity_is_caught_by_the_range_check():
    """A quantity of 2^63 passes no signed 64-bit check, even if the arithmetic would balance."""
    snapshot = make_snapshot([(100 * E8, 0, E8)] * 3, [(E8, 0)] * 2)
    account = make_account({0: (E8, 100 * E8)}, {0: 0})
    witness = SMALL.witness(account, snapshot, salt=1)
    from dataclasses import replace

    forged = replace(witness, quantities_e8=(2**63, 0, 0))
    public = SMALL.public_inputs(snapshot, 0, 0)
    cs = ConstraintSystem("check")
    SMALL.synthesize(cs, public, forged)
    assert "positions[0]/quantity_range" in (cs.which_is_unsatisfied() or "")


@pytest.mark.parametrize(
    "instruments,assets",
    [
        ([(2**64, 0, E8)], [(E8, 0)]),
        ([(E8, E8 + 1, E8)], [(E8, 0)]),
        ([(E8, 0, 2**64)], [(E8, 0)]),
        ([(E8, 0, E8)], [(E8, E8 + 1)]),
        ([(E8, 0, E8)], [(-1, 0)]),
    ],
)
def test_public_values_outside_the_overflow_argument_are_refused(instruments, assets):
    with pytest.raises(PublicInputError):
        cross_circuit(1, 1).public_inputs(make_snapshot(instruments, assets), 0, 0)


@pytest.mark.parametrize("bad", ["cross", "cross-n0-k1", "cross-n1-k0", "cross-n1024-k1", "tiered-n1-k1", "cross-n01-k1"])
def test_circuit_ids(bad):
    with pytest.raises(CircuitError):
        circuit_from_id(bad)


def test_snapshot_larger_than_capacity_is_refused():
    snapshot = make_snapshot([(E8, 0, E8)] * 4, [(E8, 0)])
    with pytest.raises(CircuitError, match="capacity"):
        SMALL.witness(make_account({}, {}), snapshot, 1)


def test_real_proof_for_healthy_account_and_refusal_for_margin_call():
    from zkmargin.backends import get_backend
    from zkmargin.groth16 import setup

    backend = get_backend("arkworks")
    circuit = cross_circuit(2, 1)
    snapshot = make_snapshot([(100 * E8, E8 // 10, E8), (20 * E8, E8 // 20, E8)], [(E8, 0)])
    pk = setup(circuit.compile(), random.Random(3), backend)
    healthy = make_account({0: (E8, 95 * E8), 1: (-3 * E8, 21 * E8)}, {0: 100 * E8})
    proof, public = prove_account(circuit, pk, healthy, snapshot, 77, 9, backend)
    assert verify_account_proof(circuit, pk.vk, snapshot, public.commitment, 9, proof, backend)
    assert not verify_account_proof(circuit, pk.vk, snapshot, public.commitment, 10, proof, backend)
    assert not verify_account_proof(circuit, pk.vk, snapshot, public.commitment + 1, 9, proof, backend)
    moved = make_snapshot([(101 * E8, E8 // 10, E8), (20 * E8, E8 // 20, E8)], [(E8, 0)])
    assert not verify_account_proof(circuit, pk.vk, moved, public.commitment, 9, proof, backend)
    broke = make_account({0: (E8, 95 * E8)}, {0: 1})
    with pytest.raises(MarginCallError, match="equity .* < maintenance"):
        require_healthy(broke, snapshot)
    with pytest.raises(MarginCallError):
        prove_account(circuit, pk, broke, snapshot, 77, 9, backend)
