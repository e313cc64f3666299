"""One exception type per kind of failure, the same wherever the failure is found."""

from __future__ import annotations

import pytest

from zkmargin.circuits.registry import circuit_from_id
from zkmargin.errors import CapacityError, CircuitError, FormatError, PublicInputError
from zkmargin.margin.models import (
    Account,
    AssetQuote,
    InstrumentQuote,
    Position,
    RiskParams,
    Snapshot,
    slot_layout,
)
from zkmargin.margin.portfolio import compute_portfolio_margin, risk_array
from zkmargin.r1cs import ConstraintSystem

E8 = 10**8
EMPTY = Account("a", (), ())


def snapshot(instruments=1, assets=1, quote=None) -> Snapshot:
    quotes = tuple(quote) if quote else tuple(InstrumentQuote(f"I{i}", E8, 0, E8) for i in range(instruments))
    return Snapshot("s", "v", "2026-11-25T00:00:00Z", tuple(AssetQuote(f"A{j}", E8, 0) for j in range(assets)), quotes)


@pytest.mark.parametrize("find", [
    lambda s: slot_layout(EMPTY, s, 1, 1),
    lambda s: circuit_from_id("cross-n1-k1").witness(EMPTY, s, 1),
    lambda s: circuit_from_id("portfolio-n1-k1").snapshot_inputs(s),
    lambda s: circuit_from_id("tiered-n1-k1-t1").public_inputs(s, 0, 0),
])
@pytest.mark.parametrize("shape", [(2, 1), (1, 2)])
def test_a_snapshot_larger_than_the_capacity_is_a_capacity_error_everywhere(find, shape):
    with pytest.raises(CapacityError, match="capacity"):
        find(snapshot(*shape))


def test_capacity_error_is_a_circuit_error():
    assert issubclass(CapacityError, CircuitError)


HUGE = InstrumentQuote("BIG", 2**64 - 1, 0, 2**64 - 1,
                       risk=RiskParams("future", 2**64 - 1, E8, 0, 3 * E8, E8))


@pytest.mark.parametrize("find", [
    lambda: risk_array(HUGE),
    lambda: compute_portfolio_margin(Account("a", (), (Position("BIG", E8, E8),)), snapshot(quote=[HUGE])),
    lambda: circuit_from_id("portfolio-n1-k1").snapshot_inputs(snapshot(quote=[HUGE])),
])
def test_a_risk_array_beyond_64_bits_is_a_public_input_error_everywhere(find):
    with pytest.raises(PublicInputError, match="64 signed bits"):
        find()


def test_circuit_misuse_is_a_circuit_error():
    with pytest.raises(CircuitError, match="mode"):
        ConstraintSystem("nonsense")  # type: ignore[arg-type]


def test_an_oversized_batch_is_a_format_error():
    from zkmargin.groth16.batch import MAX_BATCH_ITEMS, verify_batch

    with pytest.raises(FormatError, match="at most"):
        verify_batch(None, [None] * (MAX_BATCH_ITEMS + 1))  # type: ignore[arg-type]
