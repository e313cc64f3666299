"""VaR and expected shortfall over published historical scenarios, without sorting.

Public inputs: commitment, context; per instrument slot the mark price, contract
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

Overflow argument (r > 2^254), from the ranges the verifier's public_inputs
enforces (|pnl|, |dv| < 2^63, k <= 1000 < 2^10, add_on < 2^64) and the circuit's
own checks (|q| <= 2^63, amount < 2^64, t in [-2^139, 2^139)):
  * |q pnl| <= 2^126 and |amount dv| < 2^127, so |L_s| < 1024 * 2^127 = 2^137;
  * |d_s| < 2^137 + 2^139 < 2^140 = 2^DIFF_BITS, so (1) is complete; it is sound
    because a negative value is r - |x| > 2^253 and has no 140-bit decomposition;
  * e_s in [0, 2^140), so |k t + sum e_s| < 2^149 + 1000 * 2^140 < 2^151, and
    1e16 times it is below 2^205;
  * |equity| < 2^228 as in cross, add_on * 1e24 < 2^144, so |free| < 2^229 and
    |k * free| < 2^239; every slack of (2), (3) and free >= 0 is below 2^240 in
    absolute value and SLACK_BITS = 241 separates the signs (r - 2^240 > 2^241);
  * sum b_s <= S <= 1000, so k - 1 - sum b_s lies in (-2^10, 2^10) and COUNT_BITS
    = 11 separates its signs.
"""

from __future__ import annotations

from dataclasses import dataclass

from circuits.cross import (
    PUBLIC_HEADER,
    VALUE_BITS,
    AllocatedInputs,
    CrossWitness,
    ListedInputsCircuit,
    ListedPublic,
    assert_covers,
    haircut_value,
    open_commitment,
)
from zkmargin.errors import CircuitError, MarginCallError, PublicInputError
from zkmargin.field import R
from zkmargin.gadgets.range import assert_signed, assert_unsigned
from zkmargin.margin.commitment import AMOUNTS_PER_ELEMENT, QUANTITY_OFFSET
from zkmargin.margin.engine import format_e32
from zkmargin.margin.models import MAX_SCENARIOS, SIGNED_MAX_E8, SIGNED_MIN_E8, UNSIGNED_MAX_E8, Account, Snapshot
from zkmargin.margin.var import compute_risk_margin, model_k, require_scenarios
from zkmargin.r1cs import ConstraintSystem, LinearCombination

THRESHOLD_BITS = 140
"""t is range-checked signed: [-2^139, 2^139)."""
DIFF_BITS = 140
SLACK_BITS = 241
COUNT_BITS = 11
E16 = 10**16
ADD_ON_TO_E32 = 10**24


@dataclass(frozen=True)
class RiskWitness(CrossWitness):
    """The cross witness plus the prover's free hints; None means 'compute the honest ones'."""

    threshold_e16: int | None = None
    flags: tuple[int, ...] | None = None


def _signed(value: int) -> int:
    return value - R if value > R // 2 else value


@dataclass(frozen=True)
class RiskMarginCircuit(ListedInputsCircuit):
    """VaR (model 'var') or expected shortfall ('es') over n_scenarios published scenarios."""

    n_scenarios: int = 250
    risk_model: str = "es"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.risk_model not in ("var", "es"):
            raise CircuitError(f"risk model must be var or es, got {self.risk_model!r}")
        if not 1 <= self.n_scenarios <= MAX_SCENARIOS:
            raise CircuitError(f"scenario count must lie in [1, {MAX_SCENARIOS}]")

    @property
    def model(self) -> str:  # type: ignore[override]
        """'var' or 'es'."""
        return self.risk_model

    @property
    def MODEL_TAG(self) -> int:  # type: ignore[override]  # noqa: N802 - the name the base class reads
        """5 for var, 6 for es: a commitment never opens under the other statement."""
        return 5 if self.risk_model == "var" else 6

    @property
    def circuit_id(self) -> str:
        """<var|es>-n<N>-k<K>-s<S>."""
        return f"{self.risk_model}-n{self.n_positions}-k{self.n_collateral}-s{self.n_scenarios}"

    @property
    def num_public(self) -> int:
        """2 + (2 + S) per instrument slot + (2 + S) per asset slot + k and the add-on."""
        return len(PUBLIC_HEADER) + (2 + self.n_scenarios) * (self.n_positions + self.n_collateral) + 2

    def synthesize(  # type: ignore[override]  # its public inputs are a list, not CrossPublic
        self, cs: ConstraintSystem, public: ListedPublic | None = None, witness: RiskWitness | None = None
    ) -> None:
        """Add the statement's variables and constraints to cs."""
        S = self.n_scenarios
        commitment, next_public = self.allocate_header(cs, public, witness)
        instruments = []
        for i in range(self.n_positions):
            mark, size = next_public(f"mark_price_e8[{i}]"), next_public(f"contract_size_e8[{i}]")
            instruments.append((mark, size, [next_public(f"scenario_pnl_e8[{i}][{s}]") for s in range(S)]))
        prices, haircuts, changes = [], [], []
        for j in range(self.n_collateral):
            prices.append(next_public(f"asset_price_e8[{j}]"))
            haircuts.append(next_public(f"haircut_e8[{j}]"))
            changes.append([next_public(f"scenario_value_change_e8[{j}][{s}]") for s in range(S)])
        k, add_on = next_public("k"), next_public("add_on_e8")
        inputs = AllocatedInputs(commitment, [], [], [], prices, haircuts, witness if cs.has_values else None)
        wv = inputs.witness_value
        equity = cs.constant(0)
        gains = [cs.constant(0) for _ in range(S)]  # -L_s, scale 1e16
        packed = []
        for i, (mark, size, pnl) in enumerate(instruments):
            with cs.namespace(f"positions[{i}]"):
                q = cs.private_input("quantity_e8", wv("quantities_e8", i))
                entry = cs.private_input("entry_price_e8", wv("entry_prices_e8", i))
                assert_signed(cs, q, VALUE_BITS, "quantity_range")
                assert_unsigned(cs, entry, VALUE_BITS, "entry_range")
                q_size = cs.mul(q, size, "q_times_size")
                equity = equity + cs.mul(q_size, mark - entry, "upnl") * 10**8
                for s in range(S):
                    gains[s] = gains[s] + cs.mul(q, pnl[s], f"scenario_pnl[{s}]")
                packed.append(q + QUANTITY_OFFSET + entry * (1 << 64))
        collateral_value, amounts = collateral_with_amounts(cs, inputs, packed)
        equity = equity + collateral_value
        for j, change in enumerate(changes):
            with cs.namespace(f"collateral[{j}]"):
                for s in range(S):
                    gains[s] = gains[s] + cs.mul(amounts[j], change[s], f"scenario_value_change[{s}]")
        open_commitment(cs, inputs, packed, self.domain_tag)
        losses = [-g for g in gains]
        free = equity - add_on * ADD_ON_TO_E32
        with cs.namespace("solvency"):
            assert_risk_covers(cs, free, losses, k, witness if cs.has_values else None, self.risk_model)

    def snapshot_inputs(self, snapshot: Snapshot) -> list[int]:
        """Per instrument (mark, size, S pnl mod r), per asset (price, haircut, S changes mod r), k, add-on."""
        self.check_fits(snapshot)
        scenarios = require_scenarios(snapshot)
        if scenarios.count != self.n_scenarios:
            raise PublicInputError(f"snapshot publishes {scenarios.count} scenarios; {self.circuit_id} needs "
                                   f"{self.n_scenarios}")
        S = self.n_scenarios
        out: list[int] = []
        for i in range(self.n_positions):
            if i < len(snapshot.instruments):
                quote = snapshot.instruments[i]
                head, vector = [quote.mark_price_e8, quote.contract_size_e8], quote.scenario_pnl_e8
            else:
                head, vector = [0, 0], (0,) * S
            out += _checked(head, vector, S, f"instrument slot {i}")
        for j in range(self.n_collateral):
            if j < len(snapshot.assets):
                asset = snapshot.assets[j]
                if asset.haircut_e8 > 10**8:
                    raise PublicInputError(f"asset {asset.asset}: haircut above 1")
                head, vector = [asset.price_e8, asset.haircut_e8], asset.scenario_value_change_e8 or (0,) * S
            else:
                head, vector = [0, 0], (0,) * S
            out += _checked(head, vector, S, f"asset slot {j}")
        k = model_k(self.risk_model, scenarios)
        if not 1 <= k <= S or not 0 <= scenarios.add_on_e8 <= UNSIGNED_MAX_E8:
            raise PublicInputError("k or add-on out of range")
        return out + [k, scenarios.add_on_e8]

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> RiskWitness:  # type: ignore[override]
        """The cross witness; the hints are computed while solving."""
        base = super().witness(account, snapshot, salt)
        return RiskWitness(base.quantities_e8, base.entry_prices_e8, base.amounts_e8, base.salt)

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Raise MarginCallError when the VaR / ES engine says margin call."""
        report = compute_risk_margin(account, snapshot, self.risk_model)
        if not report.healthy:
            raise MarginCallError(
                "account is subject to a margin call: "
                f"equity {format_e32(report.equity_e32)} < requirement {format_e32(report.requirement_e32)} "
                f"({self.risk_model} over {len(report.losses_e32)} scenarios, k = {report.k})")


def _checked(head: list[int], vector: tuple[int, ...], count: int, where: str) -> list[int]:
    if len(vector) != count:
        raise PublicInputError(f"{where}: {len(vector)} scenario values, expected {count}")
    if any(not 0 <= v <= UNSIGNED_MAX_E8 for v in head):
        raise PublicInputError(f"{where}: value outside [0, 2^64)")
    if any(not SIGNED_MIN_E8 <= v <= SIGNED_MAX_E8 for v in vector):
        raise PublicInputError(f"{where}: a scenario value exceeds 64 signed bits")
    return head + [v % R for v in vector]


def _sum(cs: ConstraintSystem, terms: list[LinearCombination]) -> LinearCombination:
    total = cs.constant(0)
    for term in terms:
        total = total + term
    return total


def collateral_with_amounts(cs: ConstraintSystem, inputs: AllocatedInputs, packed: list[LinearCombination]
                            ) -> tuple[LinearCombination, list[LinearCombination]]:
    """circuits.cross.collateral_terms, also returning the amount variables (the value changes multiply them).

    Same variables, constraints, labels and packing as collateral_terms, so the
    commitment is the cross packing under this statement's domain tag.
    """
    total = cs.constant(0)
    amounts = []
    for j in range(len(inputs.prices)):
        with cs.namespace(f"collateral[{j}]"):
            amount = cs.private_input("amount_e8", inputs.witness_value("amounts_e8", j))
            assert_unsigned(cs, amount, VALUE_BITS, "amount_range")
            total = total + haircut_value(cs, amount, inputs.prices[j], inputs.haircuts[j])
            amounts.append(amount)
    for start in range(0, len(amounts), AMOUNTS_PER_ELEMENT):
        element = cs.constant(0)
        for offset, amount in enumerate(amounts[start : start + AMOUNTS_PER_ELEMENT]):
            element = element + amount * (1 << (64 * offset))
        packed.append(element)
    return total, amounts


def assert_risk_covers(cs: ConstraintSystem, free: LinearCombination, losses: list[LinearCombination],
                       k: LinearCombination, hints: RiskWitness | None, model: str
                       ) -> tuple[LinearCombination, list[LinearCombination], list[LinearCombination]]:
    """free >= 0 and (2) for 'es' or (3) for 'var' of the module docstring; returns (t, flags, excesses).

    Preconditions (the module's overflow argument): |free| < 2^229 (scale 1e32),
    |L_s| < 2^137 (scale 1e16), 1 <= k <= 1000 supplied by the verifier.
    """
    t, flags, excess = tail_terms(cs, losses, k, hints)
    assert_covers(cs, free, cs.constant(0), SLACK_BITS, "free_equity_not_negative")
    if model == "es":
        k_free = cs.mul(k, free, "k_times_free")
        bound = cs.mul(k, t, "k_times_t") + _sum(cs, excess)
        assert_covers(cs, k_free, bound * E16, SLACK_BITS, "k_free_covers_tail_bound")
    else:
        assert_covers(cs, free, t * E16, SLACK_BITS, "free_covers_threshold")
        with cs.namespace("count"):
            assert_unsigned(cs, k - 1 - _sum(cs, flags), COUNT_BITS, "fewer_than_k_exceed")
    return t, flags, excess


def tail_terms(cs: ConstraintSystem, losses: list[LinearCombination], k: LinearCombination, hints: RiskWitness | None
               ) -> tuple[LinearCombination, list[LinearCombination], list[LinearCombination]]:
    """Threshold t, flags b_s and excesses e_s = max(0, L_s - t), enforced by (1) of the module docstring.

    Cost: THRESHOLD_BITS + 1 for t, then per scenario 1 (boolean) + 1 (product) + DIFF_BITS + 1.
    Precondition: |L_s| < 2^137 (the module's overflow argument); hints may be anything.
    """
    values = [_signed(loss.value) for loss in losses] if cs.has_values else None

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
                return 1 if values[s] > _signed(t.value) else 0  # type: ignore[index]

            b = cs.alloc("exceeds", flag if cs.has_values else None)
            cs.assert_bool(b, "exceeds_is_bit")
            d = loss - t
            e = cs.mul(b, d, "excess")
            assert_unsigned(cs, e * 2 - d, DIFF_BITS, "flag_matches_sign")
            flags.append(b)
            excess.append(e)
    return t, flags, excess
