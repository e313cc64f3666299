"""Cross margin: equity >= maintenance over one pool, proved against a committed account.

Public inputs, in this order: commitment, context, then per instrument slot
(mark_price_e8, maintenance_rate_e8, contract_size_e8), then per asset slot
(price_e8, haircut_e8). Private: per instrument slot quantity_e8 and
entry_price_e8, per asset slot amount_e8, and the salt.

The circuit computes exactly the reference engine's integers (scale 1e32):
  collateral_k = amount_k * price_k * (1e8 - haircut_k) * 1e8
  upnl_i       = q_i * (mark_i - entry_i) * size_i * 1e8
  maint_i      = |q_i| * mark_i * size_i * rate_i
and proves slack = sum collateral + sum upnl - sum maint lies in [0, 2^SLACK_BITS).

Overflow argument (why no sum wraps modulo r, r > 2^254):
  * private ranges, enforced here: |q| <= 2^63, entry < 2^64, amount < 2^64;
  * public ranges, enforced by ``public_inputs`` before any proof is checked
    (the verifier builds them from a validated snapshot; they are not range-checked
    in the circuit): mark, price, size < 2^64, rate and haircut in [0, 1e8] < 2^27.
  * each term is below 2^218 in absolute value: collateral < 2^64+64+27+27 = 2^182,
    |upnl| < 2^63 * 2^64 * 2^64 * 2^27 = 2^218, maint < 2^63 * 2^64 * 2^64 * 2^27 = 2^218;
  * with N + K <= MAX_SLOTS = 1024 terms, |slack| < 1024 * 2^218 = 2^228 as an
    integer, so the field element equals the integer (when >= 0) or r - |slack|
    (when < 0); r - 2^228 > 2^230 = 2^SLACK_BITS, so a negative slack has no
    SLACK_BITS-bit decomposition and a healthy account's slack always has one.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zkmargin.errors import CircuitError, MarginCallError, PublicInputError
from zkmargin.field import R
from zkmargin.gadgets.poseidon_gadget import poseidon_hash_gadget
from zkmargin.gadgets.range import assert_signed, assert_unsigned
from zkmargin.margin.commitment import (
    AMOUNTS_PER_ELEMENT,
    QUANTITY_OFFSET,
    commit,
    commitment_domain_tag,
)
from zkmargin.margin.engine import compute_margin
from zkmargin.margin.models import UNSIGNED_MAX_E8, Account, Snapshot
from zkmargin.r1cs import CompiledR1CS, ConstraintSystem, LinearCombination

if TYPE_CHECKING:
    from zkmargin.backends import CurveBackend
    from zkmargin.groth16 import Proof, ProvingKey, VerifyingKey

SCALE_E8 = 10**8
VALUE_BITS = 64
RATE_MAX_E8 = SCALE_E8
SLACK_BITS = 230
MAX_SLOTS = 1024
PUBLIC_HEADER = ("commitment", "context")


@dataclass(frozen=True)
class CrossWitness:
    """Private slot values (snapshot order, zero-padded) and the commitment salt."""

    quantities_e8: tuple[int, ...]
    entry_prices_e8: tuple[int, ...]
    amounts_e8: tuple[int, ...]
    salt: int


@dataclass(frozen=True)
class CrossPublic:
    """Public slot values (snapshot order, zero-padded), commitment and context."""

    commitment: int
    context: int
    mark_prices_e8: tuple[int, ...]
    maintenance_rates_e8: tuple[int, ...]
    contract_sizes_e8: tuple[int, ...]
    asset_prices_e8: tuple[int, ...]
    haircuts_e8: tuple[int, ...]

    def as_list(self) -> list[int]:
        """Public inputs in circuit order."""
        out = [self.commitment, self.context]
        for mark, rate, size in zip(self.mark_prices_e8, self.maintenance_rates_e8, self.contract_sizes_e8):
            out += [mark, rate, size]
        for price, haircut in zip(self.asset_prices_e8, self.haircuts_e8):
            out += [price, haircut]
        return out


@dataclass(frozen=True)
class CrossMarginCircuit:
    """The cross-margin statement at capacity (n_positions, n_collateral)."""

    n_positions: int
    n_collateral: int

    def __post_init__(self) -> None:
        if self.n_positions < 1 or self.n_collateral < 1:
            raise CircuitError("capacities must be at least 1 position and 1 collateral slot")
        if self.n_positions + self.n_collateral > MAX_SLOTS:
            raise CircuitError(f"at most {MAX_SLOTS} slots in all (the overflow argument needs it)")

    @property
    def circuit_id(self) -> str:
        """Stable name of this statement and capacity, used for key caches and registries."""
        return f"{self.model}-n{self.n_positions}-k{self.n_collateral}"

    @property
    def num_public(self) -> int:
        """Number of public inputs."""
        return len(PUBLIC_HEADER) + 3 * self.n_positions + 2 * self.n_collateral

    model = "cross"

    def synthesize(
        self, cs: ConstraintSystem, public: CrossPublic | None = None, witness: CrossWitness | None = None
    ) -> None:
        """Add the statement's variables and constraints to cs (values when both are given)."""
        inputs = allocate_public_inputs(cs, self, public, witness)
        equity = cs.constant(0)
        maintenance = cs.constant(0)
        packed: list[LinearCombination] = []
        for i in range(self.n_positions):
            with cs.namespace(f"positions[{i}]"):
                q, entry, upnl, maint = position_terms(cs, inputs, i)
                equity = equity + upnl * SCALE_E8
                maintenance = maintenance + maint
                packed.append(q + QUANTITY_OFFSET + entry * (1 << 64))
        collateral_value = collateral_terms(cs, inputs, packed)
        open_commitment(cs, inputs, packed, commitment_domain_tag(self.n_positions, self.n_collateral))
        with cs.namespace("solvency"):
            assert_covers(cs, equity + collateral_value, maintenance, SLACK_BITS, "equity_covers_maintenance")

    @functools.cache
    def compile(self) -> CompiledR1CS:
        """Constraint matrices of this capacity (cached per process)."""
        cs = ConstraintSystem("setup")
        self.synthesize(cs)
        return cs.compile()

    def witness_assignment(self, public: CrossPublic, witness: CrossWitness) -> list[int]:
        """Solve the full assignment z (values only, no constraint recording)."""
        cs = ConstraintSystem("prove")
        self.synthesize(cs, public, witness)
        return cs.assignment()

    # ----- from domain objects ---------------------------------------------
    def check_fits(self, snapshot: Snapshot) -> None:
        """The snapshot's instruments and assets must fit the capacity."""
        if len(snapshot.instruments) > self.n_positions:
            raise CircuitError(
                f"snapshot has {len(snapshot.instruments)} instruments; circuit capacity is {self.n_positions}"
            )
        if len(snapshot.assets) > self.n_collateral:
            raise CircuitError(
                f"snapshot has {len(snapshot.assets)} assets; circuit capacity is {self.n_collateral}"
            )

    def public_inputs(self, snapshot: Snapshot, commitment: int, context: int) -> CrossPublic:
        """Public inputs from a snapshot the VERIFIER trusts, with every range the overflow argument needs."""
        for what, value in (("commitment", commitment), ("context", context)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < R:
                raise PublicInputError(f"{what} must be a field element in [0, r)")
        return CrossPublic(commitment, context, *self._snapshot_values(snapshot))

    def snapshot_inputs(self, snapshot: Snapshot) -> list[int]:
        """The public inputs after (commitment, context): the same for every proof against one snapshot."""
        return CrossPublic(0, 0, *self._snapshot_values(snapshot)).as_list()[len(PUBLIC_HEADER):]

    def _snapshot_values(self, snapshot: Snapshot) -> tuple[tuple[int, ...], ...]:
        self.check_fits(snapshot)
        pad_n = self.n_positions - len(snapshot.instruments)
        pad_k = self.n_collateral - len(snapshot.assets)
        marks = [q.mark_price_e8 for q in snapshot.instruments] + [0] * pad_n
        rates = [q.maintenance_rate_e8 for q in snapshot.instruments] + [0] * pad_n
        sizes = [q.contract_size_e8 for q in snapshot.instruments] + [0] * pad_n
        prices = [a.price_e8 for a in snapshot.assets] + [0] * pad_k
        haircuts = [a.haircut_e8 for a in snapshot.assets] + [0] * pad_k
        for name, values, bound in (
            ("mark_price_e8", marks, 2**VALUE_BITS - 1),
            ("contract_size_e8", sizes, 2**VALUE_BITS - 1),
            ("asset_price_e8", prices, 2**VALUE_BITS - 1),
            ("maintenance_rate_e8", rates, RATE_MAX_E8),
            ("haircut_e8", haircuts, RATE_MAX_E8),
        ):
            for i, v in enumerate(values):
                if not 0 <= v <= bound:
                    raise PublicInputError(f"{name}[{i}] = {v} is outside [0, {bound}]")
        return tuple(marks), tuple(rates), tuple(sizes), tuple(prices), tuple(haircuts)

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> CrossWitness:
        """Private slot values of an account in this snapshot's slot layout."""
        from zkmargin.margin.models import slot_layout

        self.check_fits(snapshot)
        quantities, entries, amounts = slot_layout(account, snapshot, self.n_positions, self.n_collateral)
        return CrossWitness(tuple(quantities), tuple(entries), tuple(amounts), salt)

    def commitment(self, witness: CrossWitness) -> int:
        """The commitment this witness opens."""
        return commit(witness.quantities_e8, witness.entry_prices_e8, witness.amounts_e8, witness.salt)

    def require_healthy(self, account: Account, snapshot: Snapshot) -> None:
        """Raise MarginCallError when this model's reference engine says margin call."""
        require_healthy(account, snapshot)


def require_healthy(account: Account, snapshot: Snapshot) -> None:
    """Raise MarginCallError (with both figures) when the reference engine says margin call."""
    report = compute_margin(account, snapshot)
    if not report.healthy:
        from zkmargin.margin.engine import format_e32

        raise MarginCallError(
            "account is subject to a margin call: "
            f"equity {format_e32(report.equity_e32)} < maintenance {format_e32(report.maintenance_e32)}"
        )


def random_context() -> int:
    """A fresh random context (for demos; a verifier normally chooses its own)."""
    return secrets.randbelow(R)


def parse_field_element(text: str, what: str) -> int:
    """A field element from decimal or 0x-hex text; raises PublicInputError."""
    try:
        value = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    except (ValueError, AttributeError):
        raise PublicInputError(f"{what}: {text!r} is not an integer") from None
    if not 0 <= value < R:
        raise PublicInputError(f"{what}: must lie in [0, r)")
    return value


def split_public_inputs(circuit: CrossMarginCircuit, values: Sequence[int]) -> tuple[int, int]:
    """(commitment, context) from a full public-input list of this circuit."""
    if len(values) != circuit.num_public:
        raise PublicInputError(f"{circuit.circuit_id} expects {circuit.num_public} public inputs, got {len(values)}")
    return values[0], values[1]


def prove_account(
    circuit: CrossMarginCircuit,
    pk: ProvingKey,
    account: Account,
    snapshot: Snapshot,
    salt: int,
    context: int,
    backend: CurveBackend | None = None,
    timings: dict[str, float] | None = None,
) -> tuple[Proof, CrossPublic]:
    """Check health with the reference engine, then prove; raises MarginCallError when unhealthy."""
    import time

    from zkmargin.groth16 import prove

    circuit.require_healthy(account, snapshot)
    started = time.perf_counter()
    witness = circuit.witness(account, snapshot, salt)
    public = circuit.public_inputs(snapshot, circuit.commitment(witness), context)
    z = circuit.witness_assignment(public, witness)
    if timings is not None:
        timings["witness"] = time.perf_counter() - started
    proof = prove(pk, circuit.compile(), z, backend=backend, timings=timings)
    return proof, public


def verify_account_proof(
    circuit: CrossMarginCircuit,
    vk: VerifyingKey,
    snapshot: Snapshot,
    commitment: int,
    context: int,
    proof: Proof,
    backend: CurveBackend | None = None,
) -> bool:
    """Verify a proof against public inputs built from the verifier's own snapshot."""
    from zkmargin.groth16 import verify

    public = circuit.public_inputs(snapshot, commitment, context)
    if vk.num_public != circuit.num_public:
        raise PublicInputError(
            f"verification key expects {vk.num_public} public inputs; {circuit.circuit_id} has {circuit.num_public}"
        )
    return verify(vk, public.as_list(), proof, backend)


@dataclass(frozen=True)
class ListedPublic:
    """Commitment, context and the snapshot's values in circuit order (for statements with their own layout)."""

    commitment: int
    context: int
    snapshot_values: tuple[int, ...]

    def as_list(self) -> list[int]:
        """Public inputs in circuit order."""
        return [self.commitment, self.context, *self.snapshot_values]


@dataclass(frozen=True)
class ListedInputsCircuit(CrossMarginCircuit):
    """Base of statements whose snapshot values are a model-specific list (tiered, portfolio).

    Subclasses define snapshot_inputs, synthesize, require_healthy and MODEL_TAG;
    the commitment packs the cross witness under the statement's own domain tag.
    """

    MODEL_TAG = 0

    @property
    def domain_tag(self) -> int:
        """Commitment domain tag: the statement's version and the capacity."""
        return commitment_domain_tag(self.n_positions, self.n_collateral) + ((self.MODEL_TAG - 1) << 64)

    def public_inputs(self, snapshot: Snapshot, commitment: int, context: int) -> ListedPublic:  # type: ignore[override]
        """Public inputs from the verifier's snapshot."""
        for what, value in (("commitment", commitment), ("context", context)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < R:
                raise PublicInputError(f"{what} must be a field element in [0, r)")
        return ListedPublic(commitment, context, tuple(self.snapshot_inputs(snapshot)))

    def commitment(self, witness) -> int:  # noqa: ANN001
        """The commitment this witness opens (cross packing under this statement's tag)."""
        from zkmargin.gadgets.poseidon import poseidon_hash
        from zkmargin.margin.commitment import commitment_elements

        elements = commitment_elements(witness.quantities_e8, witness.entry_prices_e8, witness.amounts_e8, witness.salt)
        return poseidon_hash(elements, self.domain_tag)

    def allocate_header(self, cs: ConstraintSystem, public: ListedPublic | None, witness) -> tuple:  # noqa: ANN001
        """Allocate commitment and context; return (commitment, next_public) where next_public(name) takes the next value."""
        has = cs.has_values
        if has and (public is None or witness is None):
            raise CircuitError("proving needs both public inputs and a witness")
        values = iter(public.snapshot_values) if public is not None and has else None

        def next_public(name: str) -> LinearCombination:
            return cs.public_input(name, next(values) if values is not None else None)

        commitment = cs.public_input("commitment", public.commitment if public is not None and has else None)
        cs.public_input("context", public.context if public is not None and has else None)
        return commitment, next_public

    def asset_inputs(self, next_public) -> tuple[list, list]:  # noqa: ANN001
        """Price and haircut variables of every asset slot."""
        prices, haircuts = [], []
        for j in range(self.n_collateral):
            prices.append(next_public(f"asset_price_e8[{j}]"))
            haircuts.append(next_public(f"haircut_e8[{j}]"))
        return prices, haircuts

    def asset_values(self, snapshot: Snapshot) -> list[int]:
        """(price, haircut) of every asset slot, zero-padded, in asset_inputs order; range-checked."""
        out: list[int] = []
        for asset in snapshot.assets:
            if not 0 <= asset.price_e8 <= UNSIGNED_MAX_E8 or not 0 <= asset.haircut_e8 <= SCALE_E8:
                raise PublicInputError(f"asset {asset.asset}: price or haircut out of range")
            out += [asset.price_e8, asset.haircut_e8]
        return out + [0, 0] * (self.n_collateral - len(snapshot.assets))


# ----- building blocks shared by the margin statements ---------------------------
@dataclass
class AllocatedInputs:
    """Public-input variables of a margin statement, plus accessors for witness values."""

    commitment: LinearCombination
    marks: list[LinearCombination]
    rates: list[LinearCombination]
    sizes: list[LinearCombination]
    prices: list[LinearCombination]
    haircuts: list[LinearCombination]
    witness: object | None

    def witness_value(self, name: str, i: int | None = None) -> int | None:
        """A witness field (element i of a sequence), or None when there are no values."""
        if self.witness is None:
            return None
        value = getattr(self.witness, name)
        return value if i is None else value[i]


def allocate_public_inputs(cs: ConstraintSystem, circuit: CrossMarginCircuit, public, witness) -> AllocatedInputs:  # noqa: ANN001
    """commitment, context, (mark, rate, size) per instrument slot, (price, haircut) per asset slot."""
    with_values = cs.has_values
    if with_values and (public is None or witness is None):
        raise CircuitError("proving needs both public inputs and a witness")

    def pv(name: str, i: int) -> int | None:
        return getattr(public, name)[i] if with_values else None

    commitment = cs.public_input("commitment", public.commitment if with_values else None)
    cs.public_input("context", public.context if with_values else None)
    marks, rates, sizes = [], [], []
    for i in range(circuit.n_positions):
        marks.append(cs.public_input(f"mark_price_e8[{i}]", pv("mark_prices_e8", i)))
        rates.append(cs.public_input(f"maintenance_rate_e8[{i}]", pv("maintenance_rates_e8", i)))
        sizes.append(cs.public_input(f"contract_size_e8[{i}]", pv("contract_sizes_e8", i)))
    prices, haircuts = [], []
    for j in range(circuit.n_collateral):
        prices.append(cs.public_input(f"asset_price_e8[{j}]", pv("asset_prices_e8", j)))
        haircuts.append(cs.public_input(f"haircut_e8[{j}]", pv("haircuts_e8", j)))
    return AllocatedInputs(commitment, marks, rates, sizes, prices, haircuts, witness if with_values else None)


def position_terms(cs: ConstraintSystem, inputs: AllocatedInputs, i: int):  # noqa: ANN201
    """Slot i's quantity and entry (range-checked: signed 64 / 64 bits) and its (upnl_e24, maintenance_e32).

    Returns (q, entry, upnl, maintenance); 135 constraints.
    """
    q = cs.private_input("quantity_e8", inputs.witness_value("quantities_e8", i))
    entry = cs.private_input("entry_price_e8", inputs.witness_value("entry_prices_e8", i))
    mark, rate, size = inputs.marks[i], inputs.rates[i], inputs.sizes[i]
    q_bits = assert_signed(cs, q, VALUE_BITS, "quantity_range")
    assert_unsigned(cs, entry, VALUE_BITS, "entry_range")
    # Top bit of q + 2^63 is 1 exactly when q >= 0.
    sign = q_bits[-1] * 2 - 1
    q_size = cs.mul(q, size, "q_times_size")
    abs_q_size = cs.mul(q_size, sign, "abs_q_times_size")
    upnl = cs.mul(q_size, mark - entry, "upnl")
    notional = cs.mul(abs_q_size, mark, "notional")
    return q, entry, upnl, cs.mul(notional, rate, "maintenance")


def collateral_terms(cs: ConstraintSystem, inputs: AllocatedInputs, packed: list[LinearCombination]) -> LinearCombination:
    """Range-check the amounts, append their packed elements; return sum of haircut values (scale 1e32)."""
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
    return total


def haircut_value(cs: ConstraintSystem, amount, price, haircut) -> LinearCombination:  # noqa: ANN001
    """amount * price * (1e8 - haircut) * 1e8 (scale 1e32). 2 constraints."""
    value = cs.mul(amount, price, "amount_times_price")
    return cs.mul(value, cs.constant(SCALE_E8) - haircut, "after_haircut") * SCALE_E8


def open_commitment(cs: ConstraintSystem, inputs: AllocatedInputs, packed: list[LinearCombination], tag: int) -> None:
    """Append the salt and enforce Poseidon(packed, salt) == the public commitment."""
    salt = cs.private_input("salt", inputs.witness_value("salt"))
    with cs.namespace("commitment"):
        digest = poseidon_hash_gadget(cs, [*packed, salt], tag)
        cs.assert_equal(digest, inputs.commitment, "opens")


def assert_covers(cs: ConstraintSystem, equity: LinearCombination, requirement: LinearCombination, bits: int,
                  label: str) -> None:
    """equity - requirement in [0, 2^bits): the caller's overflow argument bounds |equity - requirement| < r - 2^bits."""
    slack = cs.alloc("slack", (lambda: (equity - requirement).value or 0) if cs.has_values else None)
    cs.assert_equal(slack, equity - requirement, "slack_definition")
    assert_unsigned(cs, slack, bits, label)



DEFAULT_CIRCUIT_ID = "cross-n64-k8"
_RISK_CIRCUIT_ID = re.compile(r"(var|es)-n([1-9][0-9]{0,3})-k([1-9][0-9]{0,3})-s([1-9][0-9]{0,3})")
_CIRCUIT_ID = re.compile(r"(cross|isolated|tiered|portfolio)-n([1-9][0-9]{0,3})-k([1-9][0-9]{0,3})(?:-t([1-9][0-9]?))?")


def circuit_from_id(circuit_id: str) -> CrossMarginCircuit:
    """Parse '<model>-n<N>-k<K>' (cross, isolated) or 'tiered-n<N>-k<K>-t<T>'; CircuitError otherwise."""
    risk = _RISK_CIRCUIT_ID.fullmatch(circuit_id or "")
    if risk:
        from circuits.var import RiskMarginCircuit

        return RiskMarginCircuit(int(risk.group(2)), int(risk.group(3)), n_scenarios=int(risk.group(4)),
                                 risk_model=risk.group(1))
    match = _CIRCUIT_ID.fullmatch(circuit_id or "")
    if not match:
        raise CircuitError(
            f"unknown circuit {circuit_id!r}; expected <model>-n<N>-k<K> with model cross, isolated or portfolio, "
            f"or tiered-n<N>-k<K>-t<T>, or var|es-n<N>-k<K>-s<scenarios>, e.g. {DEFAULT_CIRCUIT_ID}")
    model, n, k, tiers = match.group(1), int(match.group(2)), int(match.group(3)), match.group(4)
    if (model == "tiered") != (tiers is not None):
        raise CircuitError(f"unknown circuit {circuit_id!r}: tiered circuits end in -t<brackets>, others do not")
    if model == "tiered":
        from circuits.tiered import TieredMarginCircuit

        return TieredMarginCircuit(n, k, int(tiers))
    if model == "portfolio":
        from circuits.portfolio import PortfolioMarginCircuit

        return PortfolioMarginCircuit(n, k)
    if model == "isolated":
        from circuits.isolated import IsolatedMarginCircuit

        return IsolatedMarginCircuit(n, k)
    return CrossMarginCircuit(n, k)
