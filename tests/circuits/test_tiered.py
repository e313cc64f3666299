"""Tiered maintenance: bracket selection is enforced, circuit and engine agree, proofs verify."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkmargin.circuits.proving import prove_account, verify_account_proof
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.errors import CircuitError, FormatError, MarginCallError
from zkmargin.margin.models import (
    Account,
    AssetQuote,
    Collateral,
    InstrumentQuote,
    Position,
    Snapshot,
    Tier,
    parse_snapshot,
    snapshot_to_json,
)
from zkmargin.margin.tiered import compute_tiered_margin
from zkmargin.r1cs import ConstraintSystem

E8 = 10**8
# A venue-style table: 0.5% to 50k, 1% (amount 250) to 250k, 2.5% (amount 4,000) above.
TIERS = (Tier(0, 50_000 * E8, E8 // 200, 0), Tier(50_000 * E8, 250_000 * E8, E8 // 100, 250 * E8),
         Tier(250_000 * E8, 2**64 - 1, E8 // 40, 4_000 * E8))
SNAPSHOT = Snapshot("s", "v", "2026-11-24T00:00:00Z", (AssetQuote("USD", E8, 0), AssetQuote("BTC", 60_000 * E8, E8 // 10)),
                    (InstrumentQuote("BTC-PERP", 50_000 * E8, E8 // 200, E8, TIERS),
                     InstrumentQuote("ETH-PERP", 2_500 * E8, E8 // 100, E8)))
CIRCUIT = circuit_from_id("tiered-n3-k2-t3")


def solve(account, snapshot=SNAPSHOT, witness_change=None):
    witness = CIRCUIT.witness(account, snapshot, salt=5)
    if witness_change:
        witness = replace(witness, **witness_change)
    public = CIRCUIT.public_inputs(snapshot, CIRCUIT.commitment(witness), 1)
    cs = ConstraintSystem("check")
    CIRCUIT.synthesize(cs, public, witness)
    return cs.which_is_unsatisfied()


def agrees(account) -> bool:
    report = compute_tiered_margin(account, SNAPSHOT)
    failing = solve(account)
    assert (failing is None) == report.healthy, failing
    return report.healthy


def test_bracket_boundaries_follow_the_table():
    # 1 BTC at 50,000 is exactly the second bracket's floor: 50,000 * 1% - 250 = 250.
    report = compute_tiered_margin(Account("a", (), (Position("BTC-PERP", E8, 50_000 * E8),)), SNAPSHOT)
    assert report.positions[0].tier == 1 and report.maintenance_e32 == 250 * 10**32
    just_below = compute_tiered_margin(Account("a", (), (Position("BTC-PERP", E8 - 1, 50_000 * E8),)), SNAPSHOT)
    assert just_below.positions[0].tier == 0


def test_healthy_at_equality_and_not_one_unit_below():
    position = Position("BTC-PERP", E8, 50_000 * E8)
    assert agrees(Account("a", (Collateral("USD", 250 * E8),), (position,)))
    assert not agrees(Account("a", (Collateral("USD", 250 * E8 - 1),), (position,)))


@pytest.mark.parametrize("wrong_tier", [0, 2])
def test_a_lying_bracket_choice_is_caught(wrong_tier):
    """Claiming the cheaper (or any other) bracket fails the floor or cap range check."""
    account = Account("a", (Collateral("USD", 10**6 * E8),), (Position("BTC-PERP", 2 * E8, 50_000 * E8),))
    failing = solve(account, witness_change={"tier_indices": (wrong_tier, 0, 0)})
    assert failing is not None and ("notional_at_least_floor" in failing or "notional_below_cap" in failing)


def test_tier_tables_are_validated():
    doc = snapshot_to_json(SNAPSHOT)
    assert parse_snapshot(doc) == SNAPSHOT
    doc["instruments"][0]["tiers"][1]["notional_floor"] = "40000"
    with pytest.raises(FormatError, match="contiguous"):
        parse_snapshot(doc)
    doc = snapshot_to_json(SNAPSHOT)
    doc["instruments"][0]["tiers"][1]["maintenance_amount"] = "600"
    with pytest.raises(FormatError, match="negative"):
        parse_snapshot(doc)


def test_too_many_brackets_for_the_circuit():
    with pytest.raises(CircuitError, match="brackets"):
        circuit_from_id("tiered-n3-k2-t2").snapshot_inputs(SNAPSHOT)


@st.composite
def accounts(draw):
    positions = []
    if draw(st.booleans()):
        positions.append(Position("BTC-PERP", draw(st.integers(-1000, 1000)) * E8 // 100, draw(st.integers(40_000, 60_000)) * E8))
    if draw(st.booleans()):
        positions.append(Position("ETH-PERP", draw(st.integers(-500, 500)) * E8 // 10, draw(st.integers(2_000, 3_000)) * E8))
    collateral = (Collateral("USD", draw(st.integers(0, 300_000)) * E8),) if draw(st.booleans()) else ()
    return Account("a", collateral, tuple(positions))


@settings(max_examples=200, deadline=None)
@given(accounts())
def test_circuit_agrees_with_engine_on_random_accounts(account):
    agrees(account)


def test_real_proof():
    from zkmargin.backends import get_backend
    from zkmargin.groth16 import setup

    backend = get_backend("arkworks")
    pk = setup(CIRCUIT.compile(), random.Random(2), backend)
    account = Account("a", (Collateral("USD", 5_000 * E8),), (Position("BTC-PERP", 3 * E8, 49_000 * E8),))
    proof, public = prove_account(CIRCUIT, pk, account, SNAPSHOT, 11, 12, backend)
    assert verify_account_proof(CIRCUIT, pk.vk, SNAPSHOT, public.commitment, 12, proof, backend)
    steeper = replace(SNAPSHOT, instruments=(replace(SNAPSHOT.instruments[0], tiers=(
        Tier(0, 50_000 * E8, E8 // 100, 0), *TIERS[1:])), SNAPSHOT.instruments[1]))
    assert not verify_account_proof(CIRCUIT, pk.vk, steeper, public.commitment, 12, proof, backend)
    with pytest.raises(MarginCallError):
        prove_account(CIRCUIT, pk, Account("a", (), (Position("BTC-PERP", 3 * E8, 50_000 * E8),)), SNAPSHOT, 1, 1, backend)


def test_largest_notional_in_the_open_bracket_still_proves():
    """A notional just under the top cap (2^64 - 1 at 1e-8, ~2^117 at scale 1e24) fits BOUND_BITS."""
    top = 2**64 - 1
    snapshot = Snapshot("s", "v", "2026-11-24T00:00:00Z", (AssetQuote("USD", E8, 0),),
                        (InstrumentQuote("BIG", top - 1, 0, E8, (Tier(0, top, 0, 0),)),))
    account = Account("a", (), (Position("BIG", E8, top - 1),))
    circuit = circuit_from_id("tiered-n1-k1-t1")
    witness = circuit.witness(account, snapshot, salt=1)
    public = circuit.public_inputs(snapshot, circuit.commitment(witness), 0)
    cs = ConstraintSystem("check")
    circuit.synthesize(cs, public, witness)
    assert compute_tiered_margin(account, snapshot).healthy
    assert cs.which_is_unsatisfied() is None
