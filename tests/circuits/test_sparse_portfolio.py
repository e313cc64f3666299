"""Sparse portfolio (circuits/sparse_portfolio.py): hand-built witnesses that must not satisfy it first (index range
and aliasing, duplicates, zero slots, tampered risk-array columns, another table), then agreement with the portfolio
engine and with dense portfolio, then the registry id and the cost."""

from __future__ import annotations

import random
import re
from dataclasses import replace

import pytest

from tests.circuits.builders import CALL, FUTURE, PUT
from tests.circuits.sparse_builders import (
    assert_another_table_fails,
    first_failure,
    honest_failure,
    solve,
    variable,
)
from zkmargin.circuits import sparse_portfolio
from zkmargin.circuits.circuit import Circuit
from zkmargin.circuits.portfolio import PortfolioStatement
from zkmargin.circuits.registry import CIRCUIT_ID_PATTERN, circuit_from_id
from zkmargin.circuits.sparse_parts import SparseWitness
from zkmargin.circuits.sparse_portfolio import N_COLUMNS, SparsePortfolioStatement, pack_columns
from zkmargin.errors import CircuitError
from zkmargin.field import R
from zkmargin.margin.models import Account, AssetQuote, Collateral, Position, Snapshot
from zkmargin.margin.portfolio import compute_portfolio_margin

E8 = 10**8
SALT = 4242
MARCH = replace(FUTURE, instrument="ES-MAR27", mark_price_e8=5050 * E8)
SNAPSHOT = Snapshot("p", "v", "2026-11-24T00:00:00Z", (AssetQuote("USD", E8, 0),), (FUTURE, CALL, PUT, MARCH))
SMALL = Circuit(SparsePortfolioStatement(4, 3, 1))
# Long 2 futures, short 3 calls: the short option minimum and the up-moves both count.
ACCOUNT = Account("acct", (Collateral("USD", 150_000 * E8),),
                  (Position(FUTURE.instrument, 2 * E8, 4_990 * E8), Position(CALL.instrument, -3 * E8, CALL.mark_price_e8)))


def forged(indices, quantities, entries, usd_e8: int = 150_000 * E8) -> SparseWitness:
    """A hand-built witness with the snapshot's layout digest."""
    return SparseWitness(tuple(indices), tuple(quantities), tuple(entries), (usd_e8,), SALT,
                         SMALL.statement.layout_digest(SNAPSHOT))


def failure(w: SparseWitness, snapshot: Snapshot = SNAPSHOT) -> str | None:
    return first_failure(SMALL, w, snapshot)


# ----- adversarial witnesses (no setup) ------------------------------------------------------------------------
def test_an_honest_held_witness_satisfies_the_statement():
    w = SMALL.witness(ACCOUNT, SNAPSHOT, SALT)
    assert (w.indices, w.quantities_e8) == ((0, 1, 0), (2 * E8, -3 * E8, 0))
    assert compute_portfolio_margin(ACCOUNT, SNAPSHOT).healthy
    assert failure(w) is None


@pytest.mark.parametrize("index", [4, 1 + 4, R - 1])  # N, index + N aliasing the call, -1
def test_an_index_outside_the_table_is_refused(index):
    w = forged((0, index, 0), (2 * E8, -3 * E8, 0), (4_990 * E8, CALL.mark_price_e8, 0))
    assert failure(w) == "held[1]/index/bits/pack"


@pytest.mark.parametrize("alias", [1 + R, R])
def test_an_index_at_or_above_r_is_refused_before_it_is_reduced(alias):
    w = forged((0, alias, 0), (2 * E8, -3 * E8, 0), (4_990 * E8, CALL.mark_price_e8, 0))
    with pytest.raises(CircuitError, match="index must be a field element"):
        solve(SMALL, w, SNAPSHOT, commitment=1)


def test_index_bits_that_are_not_boolean_are_refused():
    cs = solve(SMALL, SMALL.witness(ACCOUNT, SNAPSHOT, SALT), SNAPSHOT)
    cs.set_value(variable(cs, "held[1]/index/bits[0]"), R - 1)  # -1 + 2 * 1 = 1: the sum still holds
    cs.set_value(variable(cs, "held[1]/index/bits[1]"), 1)
    assert cs.which_is_unsatisfied() == "held[1]/index/bits[0]/bool"


@pytest.mark.parametrize("indices", [(1, 1, 0), (1, 0, 0)])
def test_two_held_slots_never_name_one_instrument_or_go_down(indices):
    w = forged(indices, (-E8, -2 * E8, 0), (CALL.mark_price_e8,) * 2 + (0,))
    assert failure(w) == "held[1]/indices_increase/pack"


@pytest.mark.parametrize(
    "indices,quantities,entries,label",
    [
        ((0, 2, 0), (2 * E8, 0, 0), (4_990 * E8, 0, 0), "held[1]/unused_index_is_zero"),
        ((0, 0, 0), (2 * E8, 0, 0), (4_990 * E8, 7, 0), "held[1]/unused_entry_is_zero"),
        ((0, 0, 1), (2 * E8, 0, -E8), (4_990 * E8, 0, CALL.mark_price_e8), "held[2]/used_slots_first"),
    ],
)
def test_zero_quantity_only_as_an_unused_slot(indices, quantities, entries, label):
    assert failure(forged(indices, quantities, entries)) == label


def forge_columns(monkeypatch, index: int, edit) -> None:
    """Make the solver read edit(column, true value) wherever a slot names row `index` (a prover editing its row)."""
    honest = sparse_portfolio.column_hint

    def lying(table, at_index, column):
        true = honest(table, at_index, column)
        return edit(column, true) if at_index.value == index else true

    monkeypatch.setattr(sparse_portfolio, "column_hint", lying)


def test_the_honest_column_hint_through_the_same_hook_still_satisfies(monkeypatch):
    forge_columns(monkeypatch, 1, lambda column, true: true)
    assert failure(SMALL.witness(ACCOUNT, SNAPSHOT, SALT)) is None


@pytest.mark.parametrize(
    "edit",
    [
        lambda column, true: true - 1 if column == 0 else true,  # a lower short option minimum
        lambda column, true: true - (E8 << 64) if column == 1 else true,  # a smaller loss in scenario 1
        lambda column, true: pack_columns((0,) * 17)[column],  # an all-zero row
        lambda column, true: SMALL.snapshot_inputs(SNAPSHOT)[2 + 2 * (1 + N_COLUMNS) + 1 + column],  # the put's
    ],
)
def test_a_tampered_risk_array_column_fails_the_column_lookup(monkeypatch, edit):
    """The short call (row 1) reads edited columns: every definition holds, the challenge is honest, the sums differ."""
    w = SMALL.witness(ACCOUNT, SNAPSHOT, SALT)
    forge_columns(monkeypatch, 1, edit)
    assert failure(w) == "column_lookup/sums_agree"


def test_an_unused_slot_reads_nothing_that_changes_the_result(monkeypatch):
    """Unused slots read row 0 without a lookup: whatever values they carry, their quantity 0 cancels them."""
    only_put = Account("p", (Collateral("USD", 20_000 * E8),), (Position(PUT.instrument, -E8, PUT.mark_price_e8),))
    w = SMALL.witness(only_put, SNAPSHOT, SALT)
    assert w.indices == (2, 0, 0)
    healthy = failure(w) is None
    forge_columns(monkeypatch, 0, lambda column, true: pack_columns((2**64 - 1,) * 17)[column])
    assert (failure(w) is None) == healthy == compute_portfolio_margin(only_put, SNAPSHOT).healthy


def test_a_reordered_table_or_another_snapshot_fails_through_the_layout_digest():
    w = SMALL.witness(ACCOUNT, SNAPSHOT, SALT)
    assert_another_table_fails(SMALL, w, SNAPSHOT)


# ----- agreement ---------------------------------------------------------------------------------------------
def random_account(rng: random.Random) -> Account:
    held = rng.sample(SNAPSHOT.instruments, rng.randint(0, 3))
    positions = tuple(Position(q.instrument, rng.choice([-1, 1]) * rng.randint(1, 20) * E8, q.mark_price_e8)
                      for q in held)
    return Account("r", (Collateral("USD", rng.randint(0, 200_000) * E8),), positions)


@pytest.mark.parametrize("seed", range(12))
def test_sparse_agrees_with_the_engine_and_with_dense_portfolio(seed):
    trader = random_account(random.Random(seed))
    healthy = compute_portfolio_margin(trader, SNAPSHOT).healthy
    failing = honest_failure(SMALL, trader, SNAPSHOT)
    assert (failing is None) == healthy == (honest_failure(Circuit(PortfolioStatement(4, 1)), trader, SNAPSHOT) is None)
    if not healthy:
        assert failing is not None and failing.startswith("solvency/")


def test_the_agreement_sample_has_both_verdicts():
    verdicts = {compute_portfolio_margin(random_account(random.Random(seed)), SNAPSHOT).healthy for seed in range(12)}
    assert verdicts == {True, False}


# ----- registry and cost -------------------------------------------------------------------------------------
def test_the_sparse_portfolio_id_parses_and_matches_the_schema_pattern():
    circuit = circuit_from_id("portfolio-n4-p3-k1")
    assert isinstance(circuit.statement, SparsePortfolioStatement)
    assert circuit.sizes == {"N": 4, "P": 3, "K": 1}
    assert re.fullmatch(CIRCUIT_ID_PATTERN, "portfolio-n4096-p16-k8")
    assert circuit.compile().digest() == SMALL.compile().digest()


def test_cost_follows_the_held_slots_not_the_table():
    """A table row costs its lookup entries (about 19 constraints); a dense slot a whole position (about 260)."""

    def size(statement) -> int:
        return Circuit(statement).compile().num_constraints

    per_row = (size(SparsePortfolioStatement(128, 4, 1)) - size(SparsePortfolioStatement(64, 4, 1))) / 64
    per_slot = (size(PortfolioStatement(16, 1)) - size(PortfolioStatement(8, 1))) / 8
    assert per_row * 10 < per_slot
