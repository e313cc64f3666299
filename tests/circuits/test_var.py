"""VaR / ES statement: adversarial witnesses for the threshold trick first, then circuit == engine, then real proofs."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

import pytest

from zkmargin.circuits.circuit import AnyCircuit
from zkmargin.circuits.proving import prove_account, verify_account_proof
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.circuits.var import DIFF_BITS, THRESHOLD_BITS, RiskWitness, assert_risk_covers, check_in_range
from zkmargin.errors import CircuitError, MarginCallError, PublicInputError
from zkmargin.field import R
from zkmargin.margin.models import (
    Account,
    AssetQuote,
    Collateral,
    InstrumentQuote,
    Position,
    ScenarioSet,
    Snapshot,
)
from zkmargin.margin.var import compute_risk_margin, es_k, var_k
from zkmargin.r1cs import ConstraintSystem, LinearCombination

Tamper = Callable[[ConstraintSystem, LinearCombination, list, list], None]
"""Changes a solved witness (cs, threshold, bits, excesses) before the constraints are checked."""
E8 = 10**8
E16 = 10**16


# ----- the threshold gadget on its own: free equity and losses as public values -----------------
def solve(model: str, free_e32: int, losses_e16: list[int], k: int, threshold: int | None = None,
          flags: tuple[int, ...] | None = None, tamper: Tamper | None = None) -> str | None:
    """Label of the first broken constraint (None: satisfied) for the given, possibly forged, hints."""
    cs = ConstraintSystem("check")
    free = cs.public_input("free", free_e32)
    losses = [cs.public_input(f"loss[{s}]", v) for s, v in enumerate(losses_e16)]
    k_var = cs.public_input("k", k)
    hints = RiskWitness((), (), (), 0, 0, threshold, flags)
    t, bits, excess = assert_risk_covers(cs, free, losses, k_var, hints, model)
    if tamper is not None:
        tamper(cs, t, bits, excess)
    return cs.which_is_unsatisfied()


def es_e32(losses: list[int], k: int) -> float:
    return sum(sorted(losses, reverse=True)[:k]) * E16 / k


LOSSES = [50, -20, 70, 70, 10, -5, 30, 0]  # ties at the top on purpose


@pytest.mark.parametrize("k", range(1, len(LOSSES) + 1))
def test_es_honest_boundary(k):
    top = sum(sorted(LOSSES, reverse=True)[:k]) * E16
    need = -(-top // k)  # the smallest free equity with k * free >= top
    assert solve("es", need, LOSSES, k) is None
    assert solve("es", need - 1, LOSSES, k) is not None


@pytest.mark.parametrize("k", range(1, len(LOSSES) + 1))
def test_var_honest_boundary(k):
    var = sorted(LOSSES, reverse=True)[k - 1]
    need = max(0, var) * E16
    assert solve("var", need, LOSSES, k) is None
    assert solve("var", need - 1, LOSSES, k) is not None


CANDIDATE_THRESHOLDS = sorted({*LOSSES, *(v + 1 for v in LOSSES), *(v - 1 for v in LOSSES), 0, -1000, 10**6,
                               -(2**99), 2**99, -(2**139), 2**139 - 1})


@pytest.mark.parametrize("t", CANDIDATE_THRESHOLDS)
@pytest.mark.parametrize("k", [1, 3, 8])
def test_es_no_threshold_proves_an_account_one_unit_short(t, k):
    """Any t (not the k-th largest, negative, extreme) with its own consistent flags only loosens the bound."""
    top = sum(sorted(LOSSES, reverse=True)[:k]) * E16
    short = -(-top // k) - 1
    assert solve("es", short, LOSSES, k, threshold=t) is not None


@pytest.mark.parametrize("t", CANDIDATE_THRESHOLDS)
@pytest.mark.parametrize("k", [1, 3, 8])
def test_var_no_threshold_proves_an_account_one_unit_short(t, k):
    var = sorted(LOSSES, reverse=True)[k - 1]
    short = max(0, var) * E16 - 1
    assert solve("var", short, LOSSES, k, threshold=t) is not None


def test_all_flag_patterns_fail_for_an_unhealthy_account():
    """Brute force over every flag vector and every candidate t: nothing proves ES for free = ES - 1."""
    losses, k = [5, 9, 9, -3], 2
    short = (9 + 9) * E16 // 2 - 1
    for t in (-4, -3, 0, 5, 8, 9, 10):
        for pattern in range(2 ** len(losses)):
            flags = tuple((pattern >> s) & 1 for s in range(len(losses)))
            assert solve("es", short, losses, k, threshold=t, flags=flags) is not None
            assert solve("var", 9 * E16 - 1, losses, k, threshold=t, flags=flags) is not None


def test_a_flag_that_lies_about_the_sign_is_caught():
    # t = 30: scenario 0 (loss 50) exceeds it; claiming it does not must break the sign check.
    honest = tuple(1 if v > 30 else 0 for v in LOSSES)
    lying = (0, *honest[1:])
    assert solve("es", 10**40, LOSSES, 3, threshold=30, flags=honest) is None
    assert solve("es", 10**40, LOSSES, 3, threshold=30, flags=lying).endswith("flag_matches_sign/pack")
    # Claiming a loss below t exceeds it is caught too (it would make e_s negative).
    over = tuple(1 if s == 1 else b for s, b in enumerate(honest))
    assert solve("es", 10**40, LOSSES, 3, threshold=30, flags=over).endswith("flag_matches_sign/pack")


@pytest.mark.parametrize("bad_flag", [2, R - 1, pow(2, -1, R)])
def test_a_flag_that_is_not_a_bit_is_caught(bad_flag):
    flags = tuple(bad_flag if s == 5 else (1 if v > 30 else 0) for s, v in enumerate(LOSSES))
    assert solve("es", 10**40, LOSSES, 3, threshold=30, flags=flags).endswith("exceeds_is_bit")


def test_forged_excess_terms_are_caught():
    """e_s is a product: a prover setting it below max(0, L_s - t) breaks its defining constraint."""
    top = sum(sorted(LOSSES, reverse=True)[:3]) * E16
    short = -(-top // 3) - 1

    def shrink(cs: ConstraintSystem, t: LinearCombination, bits: list, excess: list) -> None:
        for e in excess:
            cs.set_value(e, 0)

    assert solve("es", short, LOSSES, 3, tamper=shrink).endswith("excess")

    def negative(cs: ConstraintSystem, t: LinearCombination, bits: list, excess: list) -> None:
        cs.set_value(excess[1], -(10**6))  # a negative 'excess' wraps to r - 1e6

    assert solve("es", 10**40, LOSSES, 3, tamper=negative) is not None


def test_threshold_outside_its_range_and_aliases():
    # t far from the losses breaks check (1) (completeness only: such a t proves nothing) ...
    assert "flag_matches_sign" in solve("es", 10**60, LOSSES, 3, threshold=-(2**139))
    # ... and a t within 2^100 of every loss gives a loose but sound bound.
    assert solve("es", 10**60, LOSSES, 3, threshold=-(2**90)) is None
    assert solve("es", 10**60, LOSSES, 3, threshold=2**90) is None
    # ... one past the edge is not: the range check on t breaks first.
    for t in (2**139, -(2**139) - 1):
        assert "threshold_range" in solve("es", 10**60, LOSSES, 3, threshold=t)
    # t + r is the same field element as t: aliasing gives the prover nothing new.
    assert solve("es", 10**60, LOSSES, 3, threshold=30 + R) == solve("es", 10**60, LOSSES, 3, threshold=30)
    honest = -(-sum(sorted(LOSSES, reverse=True)[:3]) * E16 // 3)
    assert solve("es", honest - 1, LOSSES, 3, threshold=70 + R) is not None


def test_a_negative_free_equity_never_proves():
    # All scenarios gain: ES and VaR are negative, yet free equity must still be >= 0 (the max(0, .)).
    gains = [-5, -9, -1]
    for model in ("es", "var"):
        assert solve(model, 0, gains, 1) is None
        assert solve(model, -1, gains, 1).endswith("free_equity_not_negative/pack")
        assert solve(model, R - 1, gains, 1) is not None  # the same element written as r - 1


def test_count_check_var():
    # k = 2, t = 30: three scenarios (50, 70, 70) exceed it, which (3) must refuse even with free huge.
    assert solve("var", 10**60, LOSSES, 2, threshold=30).endswith("fewer_than_k_exceed/pack")
    assert solve("var", 10**60, LOSSES, 4, threshold=30) is None


def test_extreme_losses_at_the_edge_of_the_range():
    """|L_s - t| < 2^100 proves at both extremes; one unit further is a completeness failure, never a false proof."""
    edge = 2**99 - 1
    losses = [edge, -edge, 0]  # spread 2^100 - 2 around the worst loss
    for model, k in (("es", 1), ("var", 1), ("es", 3), ("var", 3)):
        top = sum(sorted(losses, reverse=True)[:k])
        need = max(0, -(-top * E16 // k)) if model == "es" else max(0, sorted(losses, reverse=True)[k - 1]) * E16
        assert solve(model, need, losses, k) is None, (model, k)
        assert solve(model, need - 1, losses, k) is not None, (model, k)
    wide = [edge + 1, -edge - 1, 0]  # spread exactly 2^100
    assert "flag_matches_sign" in solve("es", 10**70, wide, 1)
    check_in_range(losses, 1)
    with pytest.raises(CircuitError, match="beyond this statement's range"):
        check_in_range(wide, 1)
    assert (THRESHOLD_BITS, DIFF_BITS) == (140, 100)


def test_a_book_beyond_the_range_is_refused_before_proving():
    """Healthy by the engine, but its scenario P&L spreads over more than 2^100 / 1e16: a clear error, no proof."""
    snapshot = Snapshot("s", "v", "2026-11-25T00:00:00Z", (AssetQuote("USD", 2**63, 0),),
                        (InstrumentQuote("I0", E8, 0, E8, scenario_pnl_e8=(2**53, -(2**53))),),
                        ScenarioSet(2, 50 * 10**6, 0))
    account = Account("a", (Collateral("USD", 2**63),), (Position("I0", 10**6 * E8, E8),))
    assert compute_risk_margin(account, snapshot, "es").healthy
    with pytest.raises(CircuitError, match="beyond this statement's range"):
        circuit_from_id("es-n1-k1-s2").require_healthy(account, snapshot)


# ----- the full statement: circuit == engine ---------------------------------------------------
def risk_snapshot(rng: random.Random, n: int, k_assets: int, count: int, confidence_e8: int) -> Snapshot:
    spread = rng.choice([1, 2, 1000])
    assets = tuple(AssetQuote(f"A{j}", rng.randint(1, 10**5) * E8, rng.choice([0, E8 // 10]),
                              tuple(rng.randint(-spread, spread) * E8 for _ in range(count)) if j else ())
                   for j in range(k_assets))
    instruments = tuple(InstrumentQuote(f"I{i}", rng.randint(1, 10**5) * E8, 0, rng.choice([E8, E8 // 10]),
                                        scenario_pnl_e8=tuple(rng.randint(-spread, spread) * E8 for _ in range(count)))
                        for i in range(n))
    return Snapshot("s", "v", "2026-11-25T00:00:00Z", assets, instruments,
                    ScenarioSet(count, confidence_e8, rng.choice([0, 5 * E8])))


def check_agreement(circuit: AnyCircuit, account: Account, snapshot: Snapshot) -> bool:
    report = compute_risk_margin(account, snapshot, circuit.model)
    witness = circuit.witness(account, snapshot, salt=11)
    public = circuit.public_inputs(snapshot, circuit.commitment(witness), 0)
    cs = ConstraintSystem("check")
    circuit.synthesize(cs, public, witness)
    failing = cs.which_is_unsatisfied()
    assert (failing is None) == report.healthy, (failing, report.healthy, report.requirement_e32, report.equity_e32)
    return report.healthy


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("model", ["var", "es"])
def test_circuit_agrees_with_engine(model, seed):
    rng = random.Random(seed)
    count = rng.choice([1, 2, 5, 8])
    confidence = rng.choice([1, E8 // 2, 80 * 10**6, 99 * 10**6])
    snapshot = risk_snapshot(rng, 2, 2, count, confidence)
    circuit = circuit_from_id(f"{model}-n2-k2-s{count}")
    positions = tuple(Position(f"I{i}", rng.randint(-30, 30) * E8, rng.randint(1, 10**5) * E8) for i in range(2))
    # Collateral near the requirement so both outcomes occur.
    probe = compute_risk_margin(Account("p", (), positions), snapshot, model)
    price = snapshot.assets[0].price_e8 * (E8 - snapshot.assets[0].haircut_e8) * E8
    amount = max(0, -(-(probe.requirement_e32 - probe.equity_e32) // price)) + rng.choice([-1, 0, 0, 1])
    account = Account("a", (Collateral("A0", max(0, amount)),), positions)
    check_agreement(circuit, account, snapshot)


@pytest.mark.parametrize("model", ["var", "es"])
def test_equity_exactly_at_the_requirement_and_one_unit_below(model):
    snapshot = Snapshot("s", "v", "2026-11-25T00:00:00Z", (AssetQuote("USD", E8, 0),),
                        (InstrumentQuote("I0", 100 * E8, 0, E8, scenario_pnl_e8=(-7 * E8, 3 * E8, -7 * E8, -2 * E8)),),
                        ScenarioSet(4, 50 * 10**6, 3 * E8))
    circuit = circuit_from_id(f"{model}-n1-k1-s4")
    position = (Position("I0", 2 * E8, 100 * E8),)
    # Losses of 2 contracts: 14, -6, 14, 4; k_var = 3 -> 4; k_es = 2 -> 14. Add-on 3.
    need = (4 if model == "var" else 14) + 3
    assert check_agreement(circuit, Account("a", (Collateral("USD", need * E8),), position), snapshot)
    assert not check_agreement(circuit, Account("a", (Collateral("USD", need * E8 - 1),), position), snapshot)


def test_capacity_and_scenario_count_must_match():
    snapshot = risk_snapshot(random.Random(1), 2, 2, 5, 90 * 10**6)
    with pytest.raises(PublicInputError, match="needs 6"):
        circuit_from_id("es-n2-k2-s6").public_inputs(snapshot, 0, 0)
    with pytest.raises(CircuitError, match="capacity"):
        circuit_from_id("es-n1-k2-s5").public_inputs(snapshot, 0, 0)
    bad = replace(snapshot, instruments=(replace(snapshot.instruments[0], scenario_pnl_e8=(2**63,) * 5),
                                         snapshot.instruments[1]))
    with pytest.raises(PublicInputError, match="64 signed bits"):
        circuit_from_id("es-n2-k2-s5").public_inputs(bad, 0, 0)


def test_k_comes_from_the_verifiers_snapshot():
    snapshot = risk_snapshot(random.Random(3), 2, 2, 250, 975 * 10**5)
    values = circuit_from_id("es-n2-k2-s250").snapshot_inputs(snapshot)
    assert values[-2:] == [es_k(250, 975 * 10**5), snapshot.scenarios.add_on_e8] == [6, snapshot.scenarios.add_on_e8]
    assert circuit_from_id("var-n2-k2-s250").snapshot_inputs(replace(
        snapshot, scenarios=ScenarioSet(250, 99 * 10**6, 0)))[-2] == var_k(250, 99 * 10**6) == 3


def test_risk_ids_parse():
    assert circuit_from_id("var-n1-k1-s1").statement.n_scenarios == 1
    assert circuit_from_id("es-n1000-k24-s1000").circuit_id == "es-n1000-k24-s1000"
    for bad in ("es-n1-k1", "es-n1-k1-s0", "es-n1-k1-s1001", "var-n1-k1-t2", "cross-n1-k1-s5"):
        with pytest.raises(CircuitError):
            circuit_from_id(bad)


# ----- real proofs -------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["es", "var"])
def test_real_proof_and_a_different_snapshot_rejects(model):
    from zkmargin.backends import get_backend
    from zkmargin.groth16 import setup

    backend = get_backend("arkworks")
    rng = random.Random(21)
    snapshot = risk_snapshot(rng, 2, 2, 8, 75 * 10**6)
    circuit = circuit_from_id(f"{model}-n2-k2-s8")
    pk = setup(circuit.compile(), random.Random(7), backend)
    marks = [q.mark_price_e8 for q in snapshot.instruments]
    account = Account("a", (Collateral("A0", 10**6 * E8),),
                      (Position("I0", 3 * E8, marks[0]), Position("I1", -2 * E8, marks[1])))
    assert compute_risk_margin(replace(account, collateral=()), snapshot, model).requirement_e32 > 0
    proof, public = prove_account(circuit, pk, account, snapshot, 8, 9, backend)
    assert len(public.as_list()) == circuit.num_public == 3 + (2 + 8) * 4 + 2
    assert verify_account_proof(circuit, pk.vk, snapshot, public.commitment, 9, proof, backend)
    # A verifier whose snapshot differs in one scenario value, or in the confidence (so k), rejects.
    moved = replace(snapshot, instruments=(replace(snapshot.instruments[0], scenario_pnl_e8=(
        snapshot.instruments[0].scenario_pnl_e8[0] - 1, *snapshot.instruments[0].scenario_pnl_e8[1:])),
        snapshot.instruments[1]))
    assert not verify_account_proof(circuit, pk.vk, moved, public.commitment, 9, proof, backend)
    looser = replace(snapshot, scenarios=replace(snapshot.scenarios, confidence_e8=E8 // 10))
    assert not verify_account_proof(circuit, pk.vk, looser, public.commitment, 9, proof, backend)
    with pytest.raises(MarginCallError, match="scenarios, k ="):
        prove_account(circuit, pk, replace(account, collateral=()), snapshot, 1, 1, backend)


def test_engine_registry_and_circuit_registry_list_the_same_models():
    from zkmargin.circuits.registry import MODEL_NAMES
    from zkmargin.margin.registry import MARGIN_MODELS

    assert MODEL_NAMES == MARGIN_MODELS
