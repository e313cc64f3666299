"""Parts shared by the margin statements: capacity and snapshot checks, position and collateral terms,
one-hot selection, the commitment opening and the covers check.

Every gadget states its preconditions and cost; the overflow arguments that use
them are written next to each statement.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

from zkmargin.circuits.layout import PublicLayout, at
from zkmargin.circuits.protocol import SlotWitness
from zkmargin.errors import CapacityError, CircuitError, MarginCallError, PublicInputError
from zkmargin.field import R
from zkmargin.gadgets.poseidon_gadget import poseidon_hash_gadget
from zkmargin.gadgets.range import assert_signed, assert_unsigned
from zkmargin.margin.commitment import (
    AMOUNTS_PER_ELEMENT,
    QUANTITY_OFFSET,
    commit,
    commitment_domain_tag,
    layout_digest,
)
from zkmargin.margin.engine import format_e32
from zkmargin.margin.models import UNSIGNED_MAX_E8, Account, Snapshot, slot_layout
from zkmargin.r1cs import ConstraintSystem, LinearCombination

SCALE_E8 = 10**8
VALUE_BITS = 64
RATE_MAX_E8 = SCALE_E8
SLACK_BITS = 230
MAX_SLOTS = 1024

V = TypeVar("V")
I = TypeVar("I")  # noqa: E741


@dataclass(frozen=True)
class Asset(Generic[V]):
    """Public inputs of one collateral slot."""

    price_e8: V
    haircut_e8: V


@dataclass(frozen=True)
class Instrument(Generic[V]):
    """Public inputs of one instrument slot under a flat maintenance rate (cross, isolated)."""

    mark_price_e8: V
    maintenance_rate_e8: V
    contract_size_e8: V


@dataclass(frozen=True)
class SnapshotInputs(Generic[I, V]):
    """The snapshot part of a statement's public inputs: the layout digest, per instrument slot, per asset slot."""

    layout_digest: V
    instruments: tuple[I, ...]
    assets: tuple[Asset[V], ...]


@dataclass(frozen=True)
class SlotValues:
    """Private slot values (snapshot order, zero-padded), the commitment salt and the layout they were read in."""

    quantities_e8: tuple[int, ...]
    entry_prices_e8: tuple[int, ...]
    amounts_e8: tuple[int, ...]
    salt: int
    layout_digest: int


# ----- capacity, snapshot and witness values (plain Python) -------------------------
def check_capacity(n_positions: int, n_collateral: int) -> None:
    """At least one slot of each kind, at most MAX_SLOTS in all (the overflow arguments need it)."""
    if n_positions < 1 or n_collateral < 1:
        raise CircuitError("capacities must be at least 1 position and 1 collateral slot")
    if n_positions + n_collateral > MAX_SLOTS:
        raise CircuitError(f"at most {MAX_SLOTS} slots in all (the overflow argument needs it)")


def capacity_id(model: str, n_positions: int, n_collateral: int) -> str:
    """'<model>-n<N>-k<K>'."""
    return f"{model}-n{n_positions}-k{n_collateral}"


def check_fits(snapshot: Snapshot, n_positions: int, n_collateral: int) -> None:
    """The snapshot's instruments and assets must fit the capacity; CapacityError otherwise."""
    if len(snapshot.instruments) > n_positions:
        raise CapacityError(
            f"snapshot has {len(snapshot.instruments)} instruments; circuit capacity is {n_positions}")
    if len(snapshot.assets) > n_collateral:
        raise CapacityError(f"snapshot has {len(snapshot.assets)} assets; circuit capacity is {n_collateral}")


def check_field_element(value: int, what: str) -> int:
    """value itself when it is an int in [0, r); PublicInputError otherwise."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < R:
        raise PublicInputError(f"{what} must be a field element in [0, r)")
    return value


def check_bound(value: int, bound: int, what: str) -> int:
    """value itself when it lies in [0, bound]; PublicInputError otherwise."""
    if not 0 <= value <= bound:
        raise PublicInputError(f"{what} = {value} is outside [0, {bound}]")
    return value


def asset_inputs(snapshot: Snapshot, n_collateral: int) -> tuple[Asset[int], ...]:
    """(price, haircut) of every asset slot, zero-padded; prices below 2^64, haircuts in [0, 1e8]."""
    assets = [Asset(check_bound(a.price_e8, UNSIGNED_MAX_E8, f"asset_price_e8[{j}]"),
                    check_bound(a.haircut_e8, RATE_MAX_E8, f"haircut_e8[{j}]"))
              for j, a in enumerate(snapshot.assets)]
    return tuple(assets + [Asset(0, 0)] * (n_collateral - len(assets)))


RateInputs = SnapshotInputs[Instrument[Any], Any]
"""The flat-rate statements' snapshot inputs (ints when built from a snapshot, variables when allocated)."""


def snapshot_layout_digest(model: str, statement_tag: int, capacity: tuple[int, ...], snapshot: Snapshot) -> int:
    """The layout digest of this snapshot's ordered asset and instrument names for one statement and capacity."""
    return layout_digest(model, statement_tag, capacity, [a.asset for a in snapshot.assets],
                         [q.instrument for q in snapshot.instruments])


def rate_inputs(snapshot: Snapshot, n_positions: int, n_collateral: int, digest: int) -> RateInputs:
    """Flat-rate snapshot values, zero-padded: marks and sizes below 2^64, rates in [0, 1e8]."""
    check_fits(snapshot, n_positions, n_collateral)
    instruments = [Instrument(check_bound(q.mark_price_e8, UNSIGNED_MAX_E8, f"mark_price_e8[{i}]"),
                              check_bound(q.maintenance_rate_e8, RATE_MAX_E8, f"maintenance_rate_e8[{i}]"),
                              check_bound(q.contract_size_e8, UNSIGNED_MAX_E8, f"contract_size_e8[{i}]"))
                   for i, q in enumerate(snapshot.instruments)]
    padding = [Instrument(0, 0, 0)] * (n_positions - len(instruments))
    return SnapshotInputs(digest, tuple(instruments + padding), asset_inputs(snapshot, n_collateral))


def rate_template(n_positions: int, n_collateral: int) -> RateInputs:
    """The flat-rate layout's template: (mark, rate, size) per instrument slot, (price, haircut) per asset slot."""
    return SnapshotInputs(0, (Instrument(0, 0, 0),) * n_positions, (Asset(0, 0),) * n_collateral)


def slot_values(account: Account, snapshot: Snapshot, n_positions: int, n_collateral: int, salt: int, digest: int,
                allow_isolated: bool = False) -> SlotValues:
    """The account's slot values in the snapshot's layout (whose digest is given) at this capacity."""
    check_fits(snapshot, n_positions, n_collateral)
    quantities, entries, amounts = slot_layout(account, snapshot, n_positions, n_collateral,
                                               allow_isolated=allow_isolated)
    return SlotValues(tuple(quantities), tuple(entries), tuple(amounts), salt, digest)


@dataclass(frozen=True)
class SlotCapacity:
    """The declarations every dense statement shares, written once: N instrument slots, K asset slots, and what
    follows from them and the class's model and statement tag (id, layout digest, commitment domain tag, the
    slot witness and its commitment). Declarations only: no statement inherits constraints (synthesize is its own).
    """

    n_positions: int
    n_collateral: int
    model: ClassVar[str]
    statement_tag: ClassVar[int]

    def __post_init__(self) -> None:
        check_capacity(self.n_positions, self.n_collateral)

    @property
    def capacity(self) -> tuple[int, ...]:
        """The sizes the layout digest binds (statements with brackets or scenarios append theirs)."""
        return (self.n_positions, self.n_collateral)

    @property
    def circuit_id(self) -> str:
        """<model>-n<N>-k<K>."""
        return capacity_id(self.model, self.n_positions, self.n_collateral)

    def layout_digest(self, snapshot: Snapshot) -> int:
        """The slot layout this statement binds: model, statement version, capacity, ordered names."""
        return snapshot_layout_digest(self.model, self.statement_tag, self.capacity, snapshot)

    @property
    def domain_tag(self) -> int:
        """Commitment domain tag: the statement tag and the capacity."""
        return commitment_domain_tag(self.n_positions, self.n_collateral, self.statement_tag)

    def witness(self, account: Account, snapshot: Snapshot, salt: int) -> SlotValues:
        """Private slot values of an account in this snapshot's slot layout."""
        return slot_values(account, snapshot, self.n_positions, self.n_collateral, salt, self.layout_digest(snapshot))

    def commitment(self, witness: SlotValues) -> int:
        """The commitment this witness opens (the cross packing under this statement's tag)."""
        return commit(witness.quantities_e8, witness.entry_prices_e8, witness.amounts_e8, witness.salt,
                      witness.layout_digest, self.statement_tag)


@dataclass(frozen=True)
class RateCapacity(SlotCapacity):
    """SlotCapacity with the flat-rate public inputs (cross, isolated)."""

    @functools.cached_property
    def layout(self) -> PublicLayout[RateInputs]:
        """commitment, context; (mark, rate, size) per instrument slot; (price, haircut) per asset slot."""
        return PublicLayout(rate_template(self.n_positions, self.n_collateral))

    def snapshot_values(self, snapshot: Snapshot) -> RateInputs:
        """Snapshot values, zero-padded: marks and sizes below 2^64, rates in [0, 1e8]."""
        return rate_inputs(snapshot, self.n_positions, self.n_collateral, self.layout_digest(snapshot))


def require_covers(healthy: bool, equity_e32: int, requirement_e32: int, requirement: str = "maintenance",
                   note: str = "") -> None:
    """Raise MarginCallError with both figures (scale 1e32) when a reference engine's report is not healthy."""
    if not healthy:
        raise MarginCallError(f"account is subject to a margin call: equity {format_e32(equity_e32)} < "
                              f"{requirement} {format_e32(requirement_e32)}{note}")


# ----- gadgets -----------------------------------------------------------------------
class PositionCore(NamedTuple):
    """A position slot's range-checked quantity and entry, its sign bit, upnl (scale 1e24) and notional."""

    quantity: LinearCombination
    entry: LinearCombination
    is_long: LinearCombination
    upnl: LinearCombination
    notional: LinearCombination | None


def position_core(cs: ConstraintSystem, quantity_e8: int | None, entry_e8: int | None, mark: LinearCombination,
                  size: LinearCombination, with_notional: bool = True) -> PositionCore:
    """Allocate q (signed 64-bit) and entry (64-bit); upnl = q * size * (mark - entry), notional = |q| * size * mark.

    Preconditions: mark and size below 2^64 (the verifier's range checks), so
    |upnl| < 2^63 * 2^64 * 2^64 = 2^191 and notional < 2^191 (scale 1e24).
    Cost: 65 + 64 range-check constraints and 2 products, 2 more with the notional.
    """
    q = cs.private_input("quantity_e8", quantity_e8)
    entry = cs.private_input("entry_price_e8", entry_e8)
    q_bits = assert_signed(cs, q, VALUE_BITS, "quantity_range")
    assert_unsigned(cs, entry, VALUE_BITS, "entry_range")
    # Top bit of q + 2^63 is 1 exactly when q >= 0.
    is_long = q_bits[-1]
    q_size = cs.mul(q, size, "q_times_size")
    abs_q_size = cs.mul(q_size, is_long * 2 - 1, "abs_q_times_size") if with_notional else None
    upnl = cs.mul(q_size, mark - entry, "upnl")
    value = cs.mul(abs_q_size, mark, "notional") if abs_q_size is not None else None
    return PositionCore(q, entry, is_long, upnl, value)


def notional_of(core: PositionCore) -> LinearCombination:
    """The notional position_core computed; CircuitError when it was asked not to."""
    if core.notional is None:
        raise CircuitError("position_core ran with_notional=False")
    return core.notional


def slot_fields(witness: SlotWitness | None) -> tuple[Sequence[int] | None, Sequence[int] | None,
                                                      Sequence[int] | None, int | None]:
    """(quantities, entry prices, amounts, salt) of a witness, all None in setup mode."""
    if witness is None:
        return None, None, None, None
    return witness.quantities_e8, witness.entry_prices_e8, witness.amounts_e8, witness.salt


def packed_position(core: PositionCore) -> LinearCombination:
    """(q + 2^63) + entry * 2^64: the cross commitment element of a position slot (128 bits, no constraint)."""
    return core.quantity + QUANTITY_OFFSET + core.entry * (1 << 64)


def sum_lcs(cs: ConstraintSystem, terms: Sequence[LinearCombination]) -> LinearCombination:
    """A free sum of linear combinations."""
    total = cs.constant(0)
    for term in terms:
        total = total + term
    return total


def one_hot(cs: ConstraintSystem, chosen: int | None, count: int, name: str) -> list[LinearCombination]:
    """count boolean choice bits, bit b set when b == chosen (chosen None in setup mode, -1 for none).

    The caller constrains the bits' sum (to 1, or to a flag); alone the bits only
    are boolean. Cost: count constraints.
    """
    bits = []
    for b in range(count):
        bit = cs.private_input(f"{name}[{b}]", None if chosen is None else int(chosen == b))
        cs.assert_bool(bit, f"{name}[{b}]/bool")
        bits.append(bit)
    return bits


def select(cs: ConstraintSystem, bits: Sequence[LinearCombination], values: Sequence[LinearCombination],
           label: str) -> LinearCombination:
    """sum_b bits[b] * values[b]: the chosen value when the bits are one-hot, 0 when all are 0. len(bits) constraints."""
    return sum_lcs(cs, [cs.mul(bit, values[b], f"{label}[{b}]") for b, bit in enumerate(bits)])


def haircut_value(cs: ConstraintSystem, amount: LinearCombination, price: LinearCombination,
                  haircut: LinearCombination) -> LinearCombination:
    """amount * price * (1e8 - haircut) * 1e8 (scale 1e32). 2 constraints."""
    value = cs.mul(amount, price, "amount_times_price")
    return cs.mul(value, cs.constant(SCALE_E8) - haircut, "after_haircut") * SCALE_E8


def collateral_terms(cs: ConstraintSystem, amounts_e8: Sequence[int] | None, assets: Sequence[Asset],
                     packed: list[LinearCombination], amounts_out: list[LinearCombination] | None = None
                     ) -> LinearCombination:
    """Range-check the amounts (64 bits), append their packed elements; return the sum of haircut values (scale 1e32).

    Each value is below 2^64+64+27+27 = 2^182. Cost per slot: 64 + 2 constraints.
    amounts_out, when given, receives the amount variables (var/es multiply them by scenario value changes).
    """
    total = cs.constant(0)
    amounts = []
    for j, asset in enumerate(assets):
        with cs.namespace(f"collateral[{j}]"):
            amount = cs.private_input("amount_e8", at(amounts_e8, j))
            assert_unsigned(cs, amount, VALUE_BITS, "amount_range")
            total = total + haircut_value(cs, amount, asset.price_e8, asset.haircut_e8)
            amounts.append(amount)
    if amounts_out is not None:
        amounts_out.extend(amounts)
    for start in range(0, len(amounts), AMOUNTS_PER_ELEMENT):
        element = cs.constant(0)
        for offset, amount in enumerate(amounts[start : start + AMOUNTS_PER_ELEMENT]):
            element = element + amount * (1 << (64 * offset))
        packed.append(element)
    return total


def open_commitment(cs: ConstraintSystem, commitment: LinearCombination, layout_digest: LinearCombination,
                    packed: list[LinearCombination], salt: int | None, tag: int) -> LinearCombination:
    """Allocate the salt and enforce Poseidon(layout_digest, packed, salt) under tag == commitment; return the salt.

    layout_digest must be the PUBLIC input the verifier derives from its own snapshot:
    that is what binds the commitment to the slot layout. The packed elements must be
    range-bound by the caller so that the packing is injective.
    """
    salt_var = cs.private_input("salt", salt)
    with cs.namespace("commitment"):
        digest = poseidon_hash_gadget(cs, [layout_digest, *packed, salt_var], tag)
        cs.assert_equal(digest, commitment, "opens")
    return salt_var


def assert_covers(cs: ConstraintSystem, equity: LinearCombination, requirement: LinearCombination, bits: int,
                  label: str) -> None:
    """equity - requirement in [0, 2^bits): the caller's overflow argument bounds |equity - requirement| < r - 2^bits."""
    slack = cs.alloc("slack", (lambda: (equity - requirement).value or 0) if cs.has_values else None)
    cs.assert_equal(slack, equity - requirement, "slack_definition")
    assert_unsigned(cs, slack, bits, label)


class CrossTerms(NamedTuple):
    """An account's cross-margin figures in-circuit (scale 1e32) and its packed commitment elements."""

    collateral_value: LinearCombination
    upnl: LinearCombination
    maintenance: LinearCombination
    packed: list[LinearCombination]
    amounts: list[LinearCombination]
    """The range-checked collateral amounts (64 bits each), in asset-slot order."""


def cross_terms(cs: ConstraintSystem, snapshot: SnapshotInputs[Instrument[Any], Any],
                witness: SlotWitness | None) -> CrossTerms:
    """Allocate and range-check one account's dense cross slots; collateral after haircuts, upnl and maintenance.

    The terms of circuits.cross (each below 2^218 in absolute value, so with N + K <= MAX_SLOTS
    every sum is below 2^228); the caller opens the commitment over `packed`. The book's batch
    statement uses it for accounts that need not be healthy.
    """
    quantities, entries, amounts, _ = slot_fields(witness)
    upnl = cs.constant(0)
    maintenance = cs.constant(0)
    packed: list[LinearCombination] = []
    for i, slot in enumerate(snapshot.instruments):
        with cs.namespace(f"positions[{i}]"):
            core = position_core(cs, at(quantities, i), at(entries, i), slot.mark_price_e8, slot.contract_size_e8)
            upnl = upnl + core.upnl * SCALE_E8
            maintenance = maintenance + cs.mul(notional_of(core), slot.maintenance_rate_e8, "maintenance")
            packed.append(packed_position(core))
    amount_vars: list[LinearCombination] = []
    collateral_value = collateral_terms(cs, amounts, snapshot.assets, packed, amount_vars)
    return CrossTerms(collateral_value, upnl, maintenance, packed, amount_vars)
