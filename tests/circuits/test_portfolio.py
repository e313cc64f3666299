"""Portfolio margin: risk arrays, the requirement, and circuit == engine on random portfolios."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.circuits.builders import CALL, FUTURE, PUT
from zkmargin.circuits.proving import prove_account, verify_account_proof
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.errors import FormatError, MarginCallError, PublicInputError
from zkmargin.margin.engine import compute_margin
from zkmargin.margin.models import (
    Account,
    AssetQuote,
    Collateral,
    InstrumentQuote,
    Position,
    RiskParams,
    Snapshot,
    parse_snapshot,
    snapshot_to_json,
)
from zkmargin.margin.portfolio import (
    SCENARIO_COUNT,
    compute_portfolio_margin,
    risk_array,
)
from zkmargin.margin.samples import sample_snapshot
from zkmargin.r1cs import ConstraintSystem

E8 = 10**8
SNAPSHOT = Snapshot("p", "v", "2026-11-24T00:00:00Z", (AssetQuote("USD", E8, 0),), (FUTURE, CALL, PUT))
CIRCUIT = circuit_from_id("portfolio-n3-k1")


def test_future_risk_array_is_linear_with_covered_extremes():
    array = risk_array(FUTURE)
    # A long contract loses 1/3 of the 5% scan of 5000 times the multiplier 50 when the price falls 1/3.
    assert array[4] == -(-5000 * 5 * 50 * E8 // 300)  # 4166.66666666... rounded up
    assert array[0] == array[1] == 0  # no price move, volatility irrelevant
    assert array[2] == -array[4] + 1  # the gain rounds up too (towards more margin)
    # Extreme down move: 2 x the range, counted at 35%.
    assert array[15] == 5000 * 10 * 50 * 35 * E8 // 10000


def test_option_arrays_use_black76_and_volatility():
    call = risk_array(CALL)
    assert call[0] < 0 < call[1]  # vol up helps a long option, vol down hurts it
    assert call[10] < call[12]  # price up is a gain for the call, price down a loss
    put = risk_array(PUT)
    assert put[12] < put[10]


def test_requirement_is_worst_scenario_plus_short_option_minimum():
    account = Account("a", (Collateral("USD", 10**6 * E8),), (Position("ES-C5100", -2 * E8, CALL.mark_price_e8),))
    report = compute_portfolio_margin(account, SNAPSHOT)
    assert report.short_option_minimum_e32 == 2 * 10 * 10**32
    assert report.requirement_e32 == max(report.scenario_losses_e32) + report.short_option_minimum_e32


def test_boundary():
    probe = compute_portfolio_margin(Account("a", (), (Position("ES-DEC26", E8, 5000 * E8),)), SNAPSHOT)
    need_e8 = -(-probe.requirement_e32 // 10**24)
    assert need_e8 * 10**24 == probe.requirement_e32  # the arrays are whole 1e-8 amounts
    exact = Account("a", (Collateral("USD", need_e8),), (Position("ES-DEC26", E8, 5000 * E8),))
    below = Account("a", (Collateral("USD", need_e8 - 1),), (Position("ES-DEC26", E8, 5000 * E8),))
    assert agrees(exact) and not agrees(below)


def test_risk_parameters_are_validated():
    doc = snapshot_to_json(SNAPSHOT)
    assert parse_snapshot(doc) == SNAPSHOT
    del doc["instruments"][1]["risk"]["strike"]
    with pytest.raises(FormatError, match="strike"):
        parse_snapshot(doc)


def agrees(account) -> bool:
    report = compute_portfolio_margin(account, SNAPSHOT)
    witness = CIRCUIT.witness(account, SNAPSHOT, salt=3)
    public = CIRCUIT.public_inputs(SNAPSHOT, CIRCUIT.commitment(witness), 0)
    cs = ConstraintSystem("check")
    CIRCUIT.synthesize(cs, public, witness)
    failing = cs.which_is_unsatisfied()
    assert (failing is None) == report.healthy, (failing, report)
    return report.healthy


@st.composite
def portfolios(draw):
    positions = []
    for quote in (FUTURE, CALL, PUT):
        if draw(st.booleans()):
            positions.append(Position(quote.instrument, draw(st.integers(-20, 20)) * E8, quote.mark_price_e8))
    collateral = (Collateral("USD", draw(st.integers(0, 200_000)) * E8),) if draw(st.booleans()) else ()
    return Account("a", collateral, tuple(positions))


@settings(max_examples=200, deadline=None)
@given(portfolios())
def test_circuit_agrees_with_engine_on_random_portfolios(account):
    agrees(account)


def test_real_proof():
    from zkmargin.backends import get_backend
    from zkmargin.groth16 import setup

    backend = get_backend("arkworks")
    pk = setup(CIRCUIT.compile(), random.Random(7), backend)
    # Long future hedged by a long put: the put caps the downside scenarios.
    account = Account("a", (Collateral("USD", 40_000 * E8),),
                      (Position("ES-DEC26", E8, 5000 * E8), Position("ES-P4900", E8, PUT.mark_price_e8)))
    proof, public = prove_account(CIRCUIT, pk, account, SNAPSHOT, 8, 9, backend)
    assert verify_account_proof(CIRCUIT, pk.vk, SNAPSHOT, public.commitment, 9, proof, backend)
    assert len(public.as_list()) == CIRCUIT.num_public == 3 + 3 * (3 + SCENARIO_COUNT) + 2
    with pytest.raises(MarginCallError, match="worst scenario"):
        prove_account(CIRCUIT, pk, Account("a", (), (Position("ES-DEC26", 5 * E8, 5000 * E8),)), SNAPSHOT, 1, 1, backend)


@pytest.mark.parametrize("quantity_e8", [3 * E8, -7 * E8 // 2])
def test_an_instrument_without_risk_parameters_costs_its_cross_maintenance(quantity_e8):
    """Scanned over +-maintenance_rate at its mark, a lone position is charged exactly what cross margin charges."""
    snapshot = sample_snapshot()
    assert all(quote.risk is None for quote in snapshot.instruments)
    for quote in snapshot.instruments:
        account = Account("a", (), (Position(quote.instrument, quantity_e8, quote.mark_price_e8),))
        expected = compute_margin(account, snapshot).maintenance_e32
        assert expected > 0
        assert compute_portfolio_margin(account, snapshot).requirement_e32 == expected, quote.instrument


@settings(max_examples=200, deadline=None)
@given(
    price_e8=st.integers(0, 2**64 - 1),
    size_e8=st.integers(0, 2**40),
    scan_e8=st.integers(0, E8),
    multiple_e8=st.integers(0, 10 * E8),
    cover_e8=st.integers(0, E8),
)
def test_linear_risk_arrays_in_integers_equal_the_rational_definition(price_e8, size_e8, scan_e8, multiple_e8, cover_e8):
    """The integer path equals (price - max(price * (1 + move), 0)) * size [* cover], rounded up at 1e-8."""
    quote = InstrumentQuote("F", price_e8, 0, size_e8,
                            risk=RiskParams("future", price_e8, scan_e8, 0, multiple_e8, cover_e8))
    price, size, scan = Fraction(price_e8, E8), Fraction(size_e8, E8), Fraction(scan_e8, E8)
    expected = []
    for k, extreme in [(0, False)] * 2 + [(sign * k, False) for k in (1, 2, 3) for sign in (1, -1) for _ in "ud"] \
            + [(3, True), (-3, True)]:
        move = Fraction(k, 3) * scan * (Fraction(multiple_e8, E8) if extreme else 1)
        loss = (price - max(price * (1 + move), Fraction(0))) * size * (Fraction(cover_e8, E8) if extreme else 1)
        expected.append(math.ceil(loss * E8))
    if any(not -(2**63) <= v < 2**63 for v in expected):
        # The circuit's overflow argument needs 64-bit signed entries: such a contract is refused, not wrapped.
        with pytest.raises(PublicInputError, match="64 signed bits"):
            risk_array(quote)
    else:
        assert risk_array(quote) == tuple(expected)
