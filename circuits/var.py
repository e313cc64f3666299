"""VaR and expected shortfall over published historical scenarios, without sorting.

Public inputs: commitment, context, the layout digest; per instrument slot the mark price, contract
size and the S-entry vector scenario_pnl (signed, as field elements: r - |x| for
a loss); per asset slot the price, haircut and the S-entry vector
scenario_value_change; then k (from the verifier's own snapshot: var_k or es_k of
zkmargin.margin.var) and the add-on. Private: the cross witness, plus hints the
prover chooses freely: a threshold t and one flag bit b_s per scenario.

With free = equity - add_on (scale 1e32) and the scenario losses at scale 1e16,
  L_s = -(sum_i q_i pnl_is + sum_k amount_k dv_ks),
the circuit computes d_s = L_s - t and e_s = b_s d_s and range-checks
  (2 b_s - 1) d_s = 2 e_s - d_s  in [0, 2^DIFF_BITS)            (1)
which forces b_s = 1 when L_s > t, b_s = 0 when L_s < t, and so e_s = max(0, L_s - t)
EXACTLY, whatever the prover picked. Then, for both models, free >= 0, and
  es:  k * free - 1e16 * (k t + sum_s e_s)  >= 0                 (2)
  var: free - 1e16 * t >= 0   and   k - 1 - sum_s b_s >= 0         (3)

Why (2) is sound for ANY t (the argument of the issue): for the k largest losses
T (ties broken arbitrarily), sum_{s in T} L_s = sum_{s in T} (t + (L_s - t))
<= k t + sum_{s in T} max(0, L_s - t) <= k t + sum_s max(0, L_s - t) = k t + sum_s e_s,
so (2) gives k * free >= 1e16 * (sum of the k largest) = k * 1e16 * ES, i.e.
free >= ES; with free >= 0, free >= max(0, ES). A t other than the k-th largest
loss only loosens the bound. For t = the k-th largest, with b_s = 1 exactly when
L_s > t, the bound is the sum of the k largest, so every healthy account proves.
Why (3) is sound: every scenario with L_s > t has b_s = 1 by (1), so fewer than k
scenarios lose more than t, so the k-th largest loss (the VaR) is at most t, and
1e16 * t <= free. The honest t is the VaR itself.

Overflow argument (r > 2^254), from the ranges the verifier's snapshot_values
enforces (|pnl|, |dv| < 2^63, k <= 1000 < 2^10, add_on < 2^64) and the circuit's
own checks (|q| <= 2^63, amount < 2^64, t in [-2^139, 2^139)):
  * |q pnl| <= 2^126 and |amount dv| < 2^127, so |L_s| < 1024 * 2^127 = 2^137;
  * |d_s| < 2^137 + 2^139 < 2^140, so (1) is SOUND for any width up to 252: a
    negative d_s is r - |d_s| > 2^253 as a field element and has no decomposition;
  * the width DIFF_BITS = 100 sets COMPLETENESS only: the honest witness needs
    |L_s - t| < 2^100 for every s with t the k-th largest loss, i.e. every scenario
    within 2^100 / 1e16 (about 1.27e14 units of the quote currency) of it. The
    prover checks this before proving (check_in_range) and refuses a wider book
    with a CircuitError; 100 rather than 140 bits saves 40 constraints per scenario;
  * e_s in [0, 2^100), so |k t + sum e_s| < 2^149 + 1000 * 2^100 < 2^150, and
    1e16 times it is below 2^204;
  * |equity| < 2^228 as in cross, add_on * 1e24 < 2^144, so |free| < 2^229 and
    |k * free| < 2^239; every slack of (2), (3) and free >= 0 is below 2^240 in
    absolute value and SLACK_BITS = 241 separates the signs (r - 2^240 > 2^241);
  * sum b_s <= S <= 1000, so k - 1 - sum b_s lies in (-2^10, 2^10) and COUNT_BITS
    = 11 separates its signs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from zkmargin.circuits.layout import AllocatedPublic, PublicLayout, at
from zkmargin.circuits.parts import (
    SCALE_E8,
    SlotValues,
    assert_covers,
    check_bound,
    check_capacity,
    check_fits,
    collateral_terms,
    open_commitment,
    packed_position,
    position_core,
    slot_values,
    snapshot_layout_digest,
    sum_lcs,
)
from zkmargin.errors import CircuitError, MarginCallError, PublicInputError
from zkmargin.field import R
from zkmargin.gadgets.range import assert_signed, assert_unsigned
from zkmargin.margin.commitment import commit, commitment_domain_tag
from zkmargin.margin.engine import format_e32
from zkmargin.margin.models import (
    MAX_SCENARIOS,
    RATE_MAX_E8,
    SIGNED_MAX_E8,
    SIGNED_MIN_E8,
    UNSIGNED_MAX_E8,
    Account,
    Snapshot,
)
from zkmargin.margin.var import RISK_MODELS, compute_risk_margin, model_k, require_scenarios
from zkmargin.r1cs import ConstraintSystem, LinearCombination

THRESHOLD_BITS = 140
"""t is range-checked signed: [-2^139, 2^139)."""
DIFF_BITS = 100
"""Width of check (1): sound at any width, complete while |L_s - t| < 2^100 (see the module docstring)."""
SLACK_BITS = 241
COUNT_BITS = 11
E16 = 10**16
ADD_ON_TO_E32 = 10**24
STATEMENT_TAGS = {"var": 5, "es": 6}
"""Commitment domain-tag numbers: a commitment never opens under another statement."""

V = TypeVar("V")


@dataclass(frozen=True)
class ScenarioInstrument(Generic[V]):
    """Public inputs of one instrument slot; P&L entries signed, as field elements (r - |x| for a loss)."""

    mark_price_e8: V
    contract_size_e8: V
    scenario_pnl_e8: tuple[V, ...]


@dataclass(frozen=True)
class ScenarioAsset(Generic[V]):
    """Public inputs of one collateral slot; value changes signed, as field elements."""

    price_e8: V
    haircut_e8: V
    scenario_value_change_e8: tuple[V, ...]


@dataclass(frozen=True)
class RiskInputs(Generic[V]):
    """The snapshot part of the public inputs: layout digest, slots, then k and the add-on."""

    layout_digest: V
    instruments: tuple[ScenarioInstrument[V], ...]
    assets: tuple[ScenarioAsset[V], ...]
    k: V
    add_on_e8: V


@dataclass(frozen=True)
class RiskWitness(SlotValues):
    """The slot values plus the prover's free hints; None means 'compute the honest ones'."""

    threshold_e16: int | None = None
    flags: tuple[int, ...] | None = None


def _signed(value: int) -> int:
    return value - R if value > R // 2 else value


@dataclass(frozen=True)
class RiskStatement:
    """VaR (model 'var') or expected shortfall ('es') over n_scenarios published scenarios."""

    n_positions: int
    n_collateral: int
    n_scenarios: int = 250
    model: str = "es"

    def __post_init__(self) -> None:
        check_capacity(self.n_positions, self.n_collateral)
        if self.model not in RISK_MODELS:
            raise CircuitError(f"risk model must be var or es, got {self.model!r}")
        if not 1 <= self.n_scenarios <= MAX_SCENARIOS:
            raise CircuitError(f"scenario count must lie in [1, {MAX_SCENARIOS}]")

    @property
    def circuit_id(self) -> str:
        """<var|es>-n<N>-k<K>-s<S>."""
        return f"{self.model}-n{self.n_positions}-k{self.n_collateral}-s{self.n_scenarios}"

    @functools.cached_property
    def layout(self) -> PublicLayout[RiskInputs[Any]]:
        """digest; per instrument mark, size, S P&L; per asset price, haircut, S changes; k, add-on."""
        S = self.n_scenarios
        return PublicLayout(RiskInputs(0, (ScenarioInstrument(0, 0, (0,) * S),) * self.n_positions,
                                       (ScenarioAsset(0, 0, (0,) * S),) * self.n_collateral, 0, 0))

    def snapshot_values(self, snapshot: Snapshot) -> RiskInputs[int]:
        """From the verifier's snapshot: every vector mod r, |entries| < 2^63, k from its own confidence."""
        check_fits(snapshot, self.n_positions, self.n_collateral)
        scenarios = require_scenarios(snapshot)
        S = self.n_scenarios
        if scenarios.count != S:
            raise PublicInputError(f"snapshot publishes {scenarios.count} scenarios; {self.circuit_id} needs {S}")
        instruments = [ScenarioInstrument(check_bound(q.mark_price_e8, UNSIGNED_MAX_E8, f"mark_price_e8[{i}]"),
                                          check_bound(q.contract_size_e8, UNSIGNED_MAX_E8, f"contract_size_e8[{i}]"),
                                          _vector(q.scenario_pnl_e8, S, f"scenario_pnl_e8[{i}]"))
                       for i, q in enumerate(snapshot.instruments)]
        instruments += [ScenarioInstrument(0, 0, (0,) * S)] * (self.n_positions - len(instruments))
        assets = [ScenarioAsset(check_bound(a.price_e8, UNSIGNED_MAX_E8, f"asset_price_e8[{j}]"),
                                check_bound(a.haircut_e8, RATE_MAX_E8, f"haircut_e8[{j}]"),
                                _vector(a.scenario_value_change_e8 or (0,) * S, S, f"scenario_value_change_e8[{j}]"))
                  for j, a in enumerate(snapshot.assets)]
        assets += [ScenarioAsset(0, 0, (0,) * S)] * (self.n_collateral - len(assets))
        k = model_k(self.model, scenarios)
        if not 1 <= k <= S:
            raise PublicInputError(f"k = {k} outside [1, {S}]")
        return RiskInputs(self.layout_digest(snapshot), tuple(instruments), tuple(assets), k,
                          check_bound(scenarios.add_on_e8, UNSIGNED_MAX_E8, "add_on_e8"))

    def synthesize(self, cs: ConstraintSystem, inputs: AllocatedPublic[RiskInputs[Any]],
                   witness: RiskWitness | None) -> LinearCombination:
        """Positions, collateral, scenario losses, opening, then the tail bound of the module docstring."""
        w = witness
        S = self.n_scenarios
        equity = cs.constant(0)
        gains: list[LinearCombination] = [cs.constant(0) for _ in range(S)]  # -L_s, scale 1e16
        packed = []
        for i, slot in enumerate(inputs.snapshot.instruments):
            with cs.namespace(f"positions[{i}]"):
                core = position_core(cs, at(w and w.quantities_e8, i), at(w and w.entry_prices_e8, i),
                                     slot.mark_price_e8, slot.contract_size_e8, with_notional=False)
                equity = equity + core.upnl * SCALE_E8
                for s in range(S):
                    gains[s] = gains[s] + cs.mul(core.quantity, slot.scenario_pnl_e8[s], f"scenario_pnl[{s}]")
                packed.append(packed_position(core))
        amounts: list[LinearCombination] = []
        equity = equity + collateral_terms(cs, w and w.amounts_e8, inputs.snapshot.assets, packed, amounts)
        for j, asset in enumerate(inputs.snapshot.assets):
            with cs.namespace(f"collateral[{j}]"):
                for s in range(S):
                    gains[s] = gains[s] + cs.mul(amounts[j], asset.scenario_value_change_e8[s],
                                                 f"scenario_value_change[{s}]")
        salt_var = open_commitment(cs, inputs.commitment, inputs.snapshot.layout_digest, packed, w and w.salt,
                                   self.domain_tag)
        free = equity - inputs.snapshot.add_on_e8 * ADD_ON_TO_E32
        with cs.namespace("solvency"):
            assert_risk_covers(cs, free, [-g for g in gains], inputs.snapshot.k, w, self.model)
        return salt_var

    def layout_digest(self, snapshot: Snapshot) -> int:
        """The slot layout this statement binds: model, statement tag, capacity (N, K, S), ordered names."""
        return snapshot_layout_digest(self.model, STATEMENT_TAGS[self.model],
                                      (self.n_positions, self.n_collateral, self.n_scenarios), snapshot)

    @property
    def domain_tag(self) -> int:
        """Commitment domain tag: statement 5 (var) or 6 (es) and the capacity."""
        return commitment_domain_tag(self.n_positions, self.n_collateral, STATEMENT_TAGS[self.model])

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> RiskWitness:
        """The slot values; the hints are computed while solving."""
        base = slot_values(account, snapshot, self.n_positions, self.n_collateral, salt, self.layout_digest(snapshot))
        return RiskWitness(base.quantities_e8, base.entry_prices_e8, base.amounts_e8, base.salt, base.layout_digest)

    def commitment(self, witness: RiskWitness) -> int:
        """The commitment this witness opens (the cross packing under this statement's tag)."""
        return commit(witness.quantities_e8, witness.entry_prices_e8, witness.amounts_e8, witness.salt,
                      witness.layout_digest, STATEMENT_TAGS[self.model])

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Raise MarginCallError when the VaR / ES engine says margin call, CircuitError when out of range."""
        report = compute_risk_margin(account, snapshot, self.model)
        if not report.healthy:
            raise MarginCallError(
                "account is subject to a margin call: "
                f"equity {format_e32(report.equity_e32)} < requirement {format_e32(report.requirement_e32)} "
                f"({self.model} over {len(report.losses_e32)} scenarios, k = {report.k})")
        check_in_range([v // E16 for v in report.losses_e32], report.k)


def check_in_range(losses_e16: list[int], k: int) -> None:
    """CircuitError unless every loss lies within 2^DIFF_BITS of the k-th largest (the honest witness's range)."""
    threshold = sorted(losses_e16, reverse=True)[k - 1]
    if any(abs(loss - threshold) >= 1 << DIFF_BITS for loss in losses_e16):
        raise CircuitError(f"scenario losses spread beyond this statement's range (2^{DIFF_BITS} / 1e16, about "
                           f"{(1 << DIFF_BITS) // E16:.3e} currency units, around the k-th largest); no proof")


def _vector(values: tuple[int, ...], count: int, where: str) -> tuple[int, ...]:
    if len(values) != count:
        raise PublicInputError(f"{where}: {len(values)} scenario values, expected {count}")
    if any(not SIGNED_MIN_E8 <= v <= SIGNED_MAX_E8 for v in values):
        raise PublicInputError(f"{where}: a scenario value exceeds 64 signed bits")
    return tuple(v % R for v in values)


def assert_risk_covers(cs: ConstraintSystem, free: LinearCombination, losses: list[LinearCombination],
                       k: LinearCombination, hints: RiskWitness | None, model: str
                       ) -> tuple[LinearCombination, list[LinearCombination], list[LinearCombination]]:
    """free >= 0 and (2) for 'es' or (3) for 'var' of the module docstring; returns (t, flags, excesses).

    Preconditions (the module's overflow argument): |free| < 2^229 (scale 1e32),
    |L_s| < 2^137 (scale 1e16), 1 <= k <= 1000 supplied by the verifier.
    Cost: tail_terms, plus 2 x (SLACK_BITS + 2), plus 2 products (es) or COUNT_BITS + 1 (var).
    """
    t, flags, excess = tail_terms(cs, losses, k, hints)
    assert_covers(cs, free, cs.constant(0), SLACK_BITS, "free_equity_not_negative")
    if model == "es":
        k_free = cs.mul(k, free, "k_times_free")
        bound = cs.mul(k, t, "k_times_t") + sum_lcs(cs, excess)
        assert_covers(cs, k_free, bound * E16, SLACK_BITS, "k_free_covers_tail_bound")
    else:
        assert_covers(cs, free, t * E16, SLACK_BITS, "free_covers_threshold")
        with cs.namespace("count"):
            assert_unsigned(cs, k - 1 - sum_lcs(cs, flags), COUNT_BITS, "fewer_than_k_exceed")
    return t, flags, excess


def tail_terms(cs: ConstraintSystem, losses: list[LinearCombination], k: LinearCombination, hints: RiskWitness | None
               ) -> tuple[LinearCombination, list[LinearCombination], list[LinearCombination]]:
    """Threshold t, flags b_s and excesses e_s = max(0, L_s - t), enforced by (1) of the module docstring.

    Cost: THRESHOLD_BITS + 1 for t, then per scenario 1 (boolean) + 1 (product) + DIFF_BITS + 1.
    Precondition: |L_s| < 2^137 (the module's overflow argument); hints may be anything. Complete
    only while |L_s - t| < 2^DIFF_BITS for every s (check_in_range).
    """
    values = [_signed(loss.value) for loss in losses] if cs.has_values else None  # type: ignore[arg-type]

    def honest_threshold() -> int:
        if hints is not None and hints.threshold_e16 is not None:
            return hints.threshold_e16
        return sorted(values or [0], reverse=True)[min(max(k.value or 1, 1), len(losses)) - 1]

    t = cs.alloc("threshold_e16", honest_threshold if cs.has_values else None)
    assert_signed(cs, t, THRESHOLD_BITS, "threshold_range")
    flags, excess = [], []
    for s, loss in enumerate(losses):
        with cs.namespace(f"scenario[{s}]"):
            def flag(s: int = s) -> int:
                if hints is not None and hints.flags is not None:
                    return hints.flags[s]
                return 1 if values[s] > _signed(t.value) else 0  # type: ignore[index, arg-type]

            b = cs.alloc("exceeds", flag if cs.has_values else None)
            cs.assert_bool(b, "exceeds_is_bit")
            d = loss - t
            e = cs.mul(b, d, "excess")
            assert_unsigned(cs, e * 2 - d, DIFF_BITS, "flag_matches_sign")
            flags.append(b)
            excess.append(e)
    return t, flags, excess
