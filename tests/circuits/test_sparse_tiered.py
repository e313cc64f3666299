"""Sparse tiered (circuits/sparse_tiered.py): hand-built witnesses that must not satisfy it first (index and bracket
range and aliasing, bits, a split position, zero slots, tampered heads and brackets, another table), then agreement
with the tiered engine and with dense tiered, then the registry id."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from tests.circuits.sparse_builders import (
    CONTEXT,
    assert_another_table_fails,
    first_failure,
    honest_failure,
    raw_commitment,
    solve,
    variable,
)
from zkmargin.circuits import sparse_parts, sparse_tiered
from zkmargin.circuits.circuit import Circuit
from zkmargin.circuits.registry import CIRCUIT_ID_PATTERN, circuit_from_id
from zkmargin.circuits.sparse_tiered import SparseTieredStatement, SparseTieredWitness, pack_bracket
from zkmargin.circuits.tiered import TieredStatement
from zkmargin.errors import CircuitError
from zkmargin.field import R
from zkmargin.margin.models import Account, AssetQuote, Collateral, InstrumentQuote, Position, Snapshot, Tier
from zkmargin.margin.tiered import compute_tiered_margin

E8 = 10**8
SALT = 777
# 0.5% to 50k, 1% (amount 250) to 250k, 2.5% (amount 4,000) above: a venue-style table.
TIERS = (Tier(0, 50_000 * E8, E8 // 200, 0), Tier(50_000 * E8, 250_000 * E8, E8 // 100, 250 * E8),
         Tier(250_000 * E8, 2**64 - 1, E8 // 40, 4_000 * E8))
ETH_TIERS = (Tier(0, 20_000 * E8, E8 // 100, 0), Tier(20_000 * E8, 2**64 - 1, E8 // 20, 800 * E8))
ASSETS = (AssetQuote("USD", E8, 0), AssetQuote("BTC", 60_000 * E8, E8 // 10))
SNAPSHOT = Snapshot("s", "v", "2026-11-24T00:00:00Z", ASSETS,
                    (InstrumentQuote("BTC-PERP", 50_000 * E8, E8 // 200, E8, TIERS),
                     InstrumentQuote("SOL-PERP", 150 * E8, E8 // 50, E8),
                     InstrumentQuote("ETH-PERP", 2_500 * E8, E8 // 100, E8, ETH_TIERS)))
SMALL = Circuit(SparseTieredStatement(3, 3, 2))
# 1.6 BTC long (80k notional, bracket 1) and 10 ETH short (25k notional, bracket 1).
ACCOUNT = Account("acct", (Collateral("USD", 5_000 * E8),),
                  (Position("BTC-PERP", 16 * E8 // 10, 50_000 * E8), Position("ETH-PERP", -10 * E8, 2_500 * E8)))


def account(positions: dict[str, tuple[int, int]], usd_e8: int) -> Account:
    """An account from {instrument: (quantity_e8, entry_e8)} and a USD balance."""
    return Account("acct", (Collateral("USD", usd_e8),),
                   tuple(Position(name, q, e) for name, (q, e) in positions.items()))


def forged(indices, quantities, entries, tiers, amounts=(5_000 * E8, 0), snapshot: Snapshot = SNAPSHOT,
           circuit: Circuit = SMALL) -> SparseTieredWitness:
    """A hand-built witness with the snapshot's layout digest."""
    return SparseTieredWitness(tuple(indices), tuple(quantities), tuple(entries), tuple(amounts), SALT,
                               circuit.statement.layout_digest(snapshot), tuple(tiers))


def honest() -> SparseTieredWitness:
    return SMALL.witness(ACCOUNT, SNAPSHOT, SALT)


# ----- adversarial witnesses (no setup) ------------------------------------------------------------------------
def test_an_honest_held_witness_satisfies_the_statement():
    w = honest()
    assert (w.indices, w.quantities_e8, w.tier_indices) == ((0, 2, 0), (16 * E8 // 10, -10 * E8, 0), (1, 1, 0))
    assert first_failure(SMALL, w, SNAPSHOT) is None


@pytest.mark.parametrize("index", [3, 2 + 3, R - 1])  # N, index + N aliasing instrument 2, -1
def test_an_index_outside_the_table_is_refused(index):
    w = forged((0, index, 0), (16 * E8 // 10, -10 * E8, 0), (50_000 * E8, 2_500 * E8, 0), (1, 1, 0))
    assert (first_failure(SMALL, w, SNAPSHOT) or "").startswith("held[1]/index/")


@pytest.mark.parametrize("alias", [2 + R, R])
def test_an_index_at_or_above_r_is_refused_before_it_is_reduced(alias):
    w = forged((0, alias, 0), (16 * E8 // 10, -10 * E8, 0), (50_000 * E8, 2_500 * E8, 0), (1, 1, 0))
    with pytest.raises(CircuitError, match="index must be a field element"):
        solve(SMALL, w, SNAPSHOT, commitment=1)


@pytest.mark.parametrize("tier", [4, 1 + 4, R - 1])  # T = 4: T itself, tier + T aliasing tier 1, -1
def test_a_bracket_outside_the_row_is_refused(tier):
    w = forged((0, 2, 0), (16 * E8 // 10, -10 * E8, 0), (50_000 * E8, 2_500 * E8, 0), (tier, 1, 0))
    assert first_failure(SMALL, w, SNAPSHOT) == "held[0]/tier/bits/pack"


def test_bracket_bits_that_are_not_boolean_are_refused():
    """Bracket 2 as bits (2, 0): they still sum to 2, but a bit is no bit."""
    w = forged((0, 2, 0), (16 * E8 // 10, -10 * E8, 0), (50_000 * E8, 2_500 * E8, 0), (2, 1, 0))
    cs = solve(SMALL, w, SNAPSHOT)
    cs.set_value(variable(cs, "held[0]/tier/bits[0]"), 2)
    cs.set_value(variable(cs, "held[0]/tier/bits[1]"), 0)
    assert cs.which_is_unsatisfied() == "held[0]/tier/bits[0]/bool"


def test_index_bits_that_are_not_boolean_are_refused():
    cs = solve(SMALL, honest(), SNAPSHOT)
    assert cs.which_is_unsatisfied() is None
    cs.set_value(variable(cs, "held[1]/index/bits[0]"), 2)
    cs.set_value(variable(cs, "held[1]/index/bits[1]"), 0)
    assert cs.which_is_unsatisfied() == "held[1]/index/bits[0]/bool"


@pytest.mark.parametrize("tier,label", [(0, "held[0]/notional_below_cap/pack"),
                                        (2, "held[0]/notional_at_least_floor/pack")])
def test_a_bracket_that_does_not_hold_the_notional_is_refused(tier, label):
    """80k of BTC is in bracket 1: bracket 0 (cheaper) and bracket 2 both fail their bounds."""
    w = replace(honest(), tier_indices=(tier, 1, 0))
    assert first_failure(SMALL, w, SNAPSHOT) == label


def test_a_split_position_cannot_dodge_its_bracket():
    """1.6 BTC (80k, 1% less 250 = 550) split into two 0.8 BTC halves (40k each, 0.5% = 200 each, 400 in all)."""
    trader = account({"BTC-PERP": (16 * E8 // 10, 50_000 * E8)}, 500 * E8)
    assert not compute_tiered_margin(trader, SNAPSHOT).healthy
    w = SMALL.witness(trader, SNAPSHOT, SALT)
    assert first_failure(SMALL, w, SNAPSHOT) == "solvency/equity_covers_maintenance/pack"
    split = forged((0, 0, 0), (8 * E8 // 10, 8 * E8 // 10, 0), (50_000 * E8,) * 2 + (0,), (0, 0, 0), (500 * E8, 0))
    assert first_failure(SMALL, split, SNAPSHOT) == "held[1]/indices_increase/pack"


@pytest.mark.parametrize(
    "indices,quantities,entries,tiers,label",
    [
        ((0, 2, 0), (E8, 0, 0), (50_000 * E8, 0, 0), (1, 0, 0), "held[1]/unused_index_is_zero"),
        ((0, 0, 0), (E8, 0, 0), (50_000 * E8, 0, 0), (1, 1, 0), "held[1]/unused_tier_is_zero"),
        ((0, 0, 2), (E8, 0, -E8), (50_000 * E8, 0, 2_500 * E8), (1, 0, 0), "held[2]/used_slots_first"),
    ],
)
def test_zero_quantity_only_as_an_unused_slot(indices, quantities, entries, tiers, label):
    assert first_failure(SMALL, forged(indices, quantities, entries, tiers), SNAPSHOT) == label


def forge_brackets(monkeypatch, index: int, tier: int, edit) -> None:
    """Make the solver read edit(true bracket) wherever a slot names (index, tier) (a prover editing its bracket)."""
    honest_hint = sparse_tiered.bracket_hint

    def lying(table, at_index, at_tier):
        true = honest_hint(table, at_index, at_tier)
        return edit(true) if (at_index.value, at_tier.value) == (index, tier) else true

    monkeypatch.setattr(sparse_tiered, "bracket_hint", lying)


def test_an_unused_slot_carries_no_maintenance_amount(monkeypatch):
    """Unused slots read (row 0, bracket 0) unlooked-up: an amount there would lower the maintenance."""
    trader = account({"ETH-PERP": (-10 * E8, 2_500 * E8)}, 5_000 * E8)
    w = SMALL.witness(trader, SNAPSHOT, SALT)
    assert first_failure(SMALL, w, SNAPSHOT) is None
    forge_brackets(monkeypatch, 0, 0, lambda true: true + (10**6 * E8 << 128))
    assert first_failure(SMALL, w, SNAPSHOT) == "held[1]/unused_amount_is_zero"


@pytest.mark.parametrize(
    "edit",
    [
        lambda true: pack_bracket(20_000 * E8, 2**64 - 1, E8 // 100, 800 * E8),  # a lower rate
        lambda true: pack_bracket(20_000 * E8, 2**64 - 1, E8 // 20, 5_000 * E8),  # a larger amount
        lambda true: pack_bracket(TIERS[0].notional_floor_e8, TIERS[0].notional_cap_e8,  # BTC's bracket 0
                                  TIERS[0].maintenance_rate_e8, TIERS[0].maintenance_amount_e8),
        lambda true: true + 1,
    ],
)
def test_a_tampered_bracket_fails_the_bracket_lookup(monkeypatch, edit):
    """Slot 1 (ETH, row 2, bracket 1) reads an edited bracket, or BTC's bracket 0: the lookup's sums differ."""
    w = honest()
    assert first_failure(SMALL, w, SNAPSHOT) is None
    forge_brackets(monkeypatch, 2, 1, edit)
    assert first_failure(SMALL, w, SNAPSHOT) == "bracket_lookup/sums_agree"


def test_a_tampered_head_fails_the_head_lookup(monkeypatch):
    """Slot 1 reads ETH at a lower mark: the head lookup refuses it."""
    honest_hint = sparse_parts.row_hint
    monkeypatch.setattr(sparse_parts, "row_hint",
                        lambda rows, i: honest_hint(rows, i) - (i.value == 2) * 100 * E8)
    assert first_failure(SMALL, honest(), SNAPSHOT) == "lookup/sums_agree"


def test_a_reordered_table_or_another_snapshot_fails_through_the_layout_digest():
    w = honest()
    assert_another_table_fails(SMALL, w, SNAPSHOT)
    assert raw_commitment(SMALL, w) == SMALL.commitment(w)  # the forgeries' packing is the statement's


def test_more_brackets_than_the_row_holds_is_refused():
    narrow = Circuit(SparseTieredStatement(3, 3, 2, n_tiers=2))
    with pytest.raises(Exception, match="has 3 brackets"):
        narrow.snapshot_inputs(SNAPSHOT)


# ----- agreement ---------------------------------------------------------------------------------------------
def random_pair(rng: random.Random, n_rows: int, n_held: int) -> tuple[Account, Snapshot]:
    quotes = []
    for i in range(n_rows):
        mark = rng.randint(1, 10**5) * E8
        tiers = ()
        if rng.random() < 0.7:
            caps = sorted(rng.sample(range(1, 10**6), rng.randint(1, 3)))
            floors = [0, *caps]
            rates = sorted(rng.randint(1, E8 // 10) for _ in floors)
            amounts = [0]
            for b in range(1, len(floors)):
                amounts.append(amounts[-1] + floors[b] * (rates[b] - rates[b - 1]) // E8)
            tiers = tuple(Tier(floors[b] * E8, caps[b] * E8 if b < len(caps) else 2**64 - 1, rates[b], amounts[b] * E8)
                          for b in range(len(floors)))
        quotes.append(InstrumentQuote(f"I{i}", mark, rng.randint(0, E8 // 4), rng.choice([E8, E8 // 100]), tiers))
    snapshot = Snapshot("r", "v", "2026-11-24T00:00:00Z", ASSETS, tuple(quotes))
    held = rng.sample(range(n_rows), rng.randint(0, n_held))
    positions = {f"I{i}": (rng.randint(-(10**3), 10**3) * E8 // 10 or E8, rng.randint(1, 10**5) * E8) for i in held}
    return account(positions, rng.randint(0, 10**6) * E8), snapshot


@pytest.mark.parametrize("seed", range(10))
def test_sparse_agrees_with_the_engine_and_with_dense_tiered(seed):
    rng = random.Random(seed)
    trader, snapshot = random_pair(rng, 5, 3)
    healthy = compute_tiered_margin(trader, snapshot).healthy
    failing = honest_failure(Circuit(SparseTieredStatement(5, 3, 2)), trader, snapshot)
    dense_failing = honest_failure(Circuit(TieredStatement(5, 2, 4)), trader, snapshot)
    assert (failing is None) == healthy == (dense_failing is None)
    if not healthy:
        assert failing == "solvency/equity_covers_maintenance/pack"


def test_the_agreement_sample_has_both_verdicts_and_upper_brackets():
    verdicts, brackets = set(), set()
    for seed in range(10):
        trader, snapshot = random_pair(random.Random(seed), 5, 3)
        verdicts.add(compute_tiered_margin(trader, snapshot).healthy)
        brackets.update(Circuit(SparseTieredStatement(5, 3, 2)).witness(trader, snapshot, SALT).tier_indices)
    assert verdicts == {True, False} and max(brackets) >= 1


# ----- registry ----------------------------------------------------------------------------------------------
def test_the_sparse_tiered_id_parses_and_matches_the_schema_pattern():
    import re

    circuit = circuit_from_id("tiered-n3-p3-k2")
    assert isinstance(circuit.statement, SparseTieredStatement)
    assert circuit.circuit_id == "tiered-n3-p3-k2" and circuit.statement.n_tiers == 4
    assert re.fullmatch(CIRCUIT_ID_PATTERN, "tiered-n1024-p16-k8")
    assert circuit.compile().digest() == SMALL.compile().digest()


def test_cost_follows_the_held_slots_not_the_table():
    wide, wider = Circuit(SparseTieredStatement(64, 4, 2)), Circuit(SparseTieredStatement(128, 4, 2))
    dense = Circuit(TieredStatement(128, 2, 4))
    assert wider.compile().num_constraints < dense.compile().num_constraints / 4
    # A row costs its head and T = 4 brackets in the lookups (2 each) and their public-input bindings: about 15.
    assert wider.compile().num_constraints - wide.compile().num_constraints < 64 * 16


# ----- a real proof, both curve backends ---------------------------------------------------------------------
def test_a_real_sparse_tiered_proof_verifies_alike_on_both_backends():
    """Proved with arkworks; the key and proof decoded by py_ecc give the same bytes and the same verdicts."""
    from zkmargin.backends import get_backend
    from zkmargin.circuits.proving import prove_account
    from zkmargin.groth16 import setup, verify
    from zkmargin.groth16.serialization import proof_from_bytes, proof_to_bytes, vk_from_bytes, vk_to_bytes

    ark, ecc = get_backend("arkworks"), get_backend("py_ecc")
    pk = setup(SMALL.compile(), random.Random(5), ark)
    proof, public = prove_account(SMALL, pk, ACCOUNT, SNAPSHOT, SALT, CONTEXT, ark)
    vk_ecc = vk_from_bytes(vk_to_bytes(pk.vk, ark), ecc)
    proof_ecc = proof_from_bytes(proof_to_bytes(proof, ark), ecc)
    assert (vk_to_bytes(vk_ecc, ecc), proof_to_bytes(proof_ecc, ecc)) == (vk_to_bytes(pk.vk, ark),
                                                                           proof_to_bytes(proof, ark))
    inputs = public.as_list()
    moved = [*inputs[:1], inputs[1] + 1, *inputs[2:]]  # another context
    assert [verify(pk.vk, x, proof, ark) for x in (inputs, moved)] == [True, False]
    assert [verify(vk_ecc, x, proof_ecc, ecc) for x in (inputs, moved)] == [True, False]
