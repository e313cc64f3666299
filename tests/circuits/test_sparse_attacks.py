"""Adversarial review of the sparse statements (issue 26): attacks that hold, kept as a compact regression table.

Each case is a hostile prover's witness solved without setup, or the arithmetic behind a packing or overflow claim
at the bounds the verifier accepts (circuits/sparse_cross.py's docstring is the argument these pin down)."""

from __future__ import annotations

import pytest

from tests.circuits.builders import E8, make_account, make_snapshot
from tests.circuits.sparse_builders import SALT, forged, raw_commitment, solve, sparse
from zkmargin.circuits.parts import MAX_SLOTS, RATE_MAX_E8, SCALE_E8, SLACK_BITS
from zkmargin.circuits.sparse_isolated import ISOLATED_SLACK_BITS, pack_held_isolated
from zkmargin.circuits.sparse_parts import LOOKUP_INDEX_SHIFT, LOOKUP_VALUE_BITS, RATE_BITS, pack_row
from zkmargin.errors import CircuitError, PublicInputError
from zkmargin.field import R
from zkmargin.margin.commitment import QUANTITY_OFFSET
from zkmargin.margin.engine import compute_margin
from zkmargin.margin.sparse import INDEX_SHIFT, MAX_TABLE_ROWS
from zkmargin.r1cs import ConstraintSystem

MAX64 = 2**64 - 1
Q_MIN, Q_MAX = -(2**63), 2**63 - 1


def test_table_entries_stay_distinct_and_below_the_query_flag_at_every_accepted_value():
    """mark = size = 2^64 - 1 and rate = 1e8 pack below 2^155, so row + j 2^155 is injective in (j, row), and every
    table entry or query value (index < MAX_TABLE_ROWS) stays below 2^170, where the used flag is absorbed."""
    assert RATE_MAX_E8 < 2**RATE_BITS
    top = pack_row(MAX64, RATE_MAX_E8, MAX64)
    assert top < 2**LOOKUP_INDEX_SHIFT
    assert pack_row(MAX64, 2**RATE_BITS - 1, MAX64) < 2**LOOKUP_INDEX_SHIFT  # even the circuit's own rate range
    assert (MAX_TABLE_ROWS - 1) * 2**LOOKUP_INDEX_SHIFT + top < 2**LOOKUP_VALUE_BITS
    assert 2**LOOKUP_VALUE_BITS + 2**LOOKUP_VALUE_BITS - 1 < R  # value + used * 2^170 never wraps


@pytest.mark.parametrize(
    "a,b",
    [
        ((0, Q_MAX, MAX64), (1, Q_MIN, 0)),  # quantity + entry at their tops vs the next index
        ((0, -1, 0), (0, 0, 0)),  # q = -1 vs q = 0: the offset keeps them apart
        ((MAX_TABLE_ROWS - 1, Q_MAX, MAX64), (0, Q_MIN, 0)),
    ],
)
def test_cross_commitment_elements_do_not_alias_at_the_limb_bounds(a, b):
    def element(index, q, entry):
        assert Q_MIN <= q <= Q_MAX and 0 <= entry <= MAX64 and 0 <= index < MAX_TABLE_ROWS
        return (q + QUANTITY_OFFSET) + (entry << 64) + (index << INDEX_SHIFT)

    assert element(*a) != element(*b)
    assert element(MAX_TABLE_ROWS - 1, Q_MAX, MAX64) < 2**142 < R
    assert element(0, Q_MAX, MAX64) < element(1, Q_MIN, 0)


def test_isolated_commitment_element_limbs_are_disjoint_at_their_bounds():
    """Every limb at its top is below the next limb's weight; asset slot < K <= MAX_SLOTS - 1 < 2^10."""
    limbs = [  # (weight, largest value the circuit lets through)
        (1, Q_MAX + QUANTITY_OFFSET),
        (2**64, MAX64),
        (2**128, 1),
        (2**129, MAX64),
        (2**193, MAX_SLOTS - 2),
        (2**203, MAX_TABLE_ROWS - 1),
    ]
    for (weight, top), (next_weight, _) in zip(limbs, limbs[1:]):
        assert weight * (top + 1) <= next_weight
    assert pack_held_isolated(MAX_TABLE_ROWS - 1, Q_MAX, MAX64, 1, MAX64, MAX_SLOTS - 2) < 2**217 < R


def test_the_overflow_argument_holds_with_p_plus_k_terms_at_their_bounds():
    """Worst case P + K = MAX_SLOTS: every upnl and maintenance term at its top, collateral at its top.
    The slack stays inside (-2^SLACK_BITS, 2^SLACK_BITS), and r - 2^SLACK_BITS lies above 2^SLACK_BITS, so a negative
    slack can never pass the range check; likewise one isolated slot against ISOLATED_SLACK_BITS."""
    upnl = 2**63 * MAX64 * MAX64 * SCALE_E8  # |q| (mark - entry) size 1e8
    maint = 2**63 * MAX64 * MAX64 * RATE_MAX_E8
    collateral = MAX64 * MAX64 * SCALE_E8 * SCALE_E8
    for n_held in (1, MAX_SLOTS // 2, MAX_SLOTS - 1):
        n_coll = MAX_SLOTS - n_held
        most = n_held * upnl + n_coll * collateral
        least = -n_held * (upnl + maint)
        assert most < 2**SLACK_BITS and -least < 2**SLACK_BITS
        assert R + least > 2**SLACK_BITS  # a wrapped negative slack is out of range
    alloc = collateral  # amount price (1e8 - haircut) 1e8, as one collateral term
    assert alloc + upnl < 2**ISOLATED_SLACK_BITS and R - (upnl + maint) > 2**ISOLATED_SLACK_BITS


def test_a_used_slot_on_a_padding_row_cannot_rescue_a_margin_call():
    """N = 4 over a 3-instrument snapshot: row 3 is padding (0, 0, 0). A held slot may read it (its lookup holds), but
    mark = size = 0 makes its upnl and maintenance 0 whatever q and entry are: no equity comes from it."""
    snapshot = make_snapshot([(100 * E8, E8 // 2, E8), (E8, 0, E8), (E8, 0, E8)], [(E8, 0)])
    account = make_account({0: (E8, 100 * E8)}, {0: 10 * E8})
    assert not compute_margin(account, snapshot).healthy
    circuit = sparse(4, 2, 1)
    for q, entry in [(Q_MAX, 0), (Q_MIN, MAX64), (E8, 0)]:
        w = forged(circuit, (0, 3), (E8, q), (100 * E8, entry), (10 * E8,), snapshot)
        assert solve(circuit, w, snapshot, raw_commitment(circuit, w)).which_is_unsatisfied() == (
            "solvency/equity_covers_maintenance/pack"
        )


def test_the_witness_builder_never_names_a_padding_row():
    snapshot = make_snapshot([(100 * E8, E8 // 2, E8)], [(E8, 0)])
    account = make_account({0: (E8, 100 * E8)}, {0: 1000 * E8})
    w = sparse(4, 3, 1).witness(account, snapshot, SALT)
    assert w.indices == (0, 0, 0) and w.quantities_e8 == (E8, 0, 0)


@pytest.mark.parametrize("n_rows", [1, 2])
def test_a_snapshot_with_more_instruments_than_rows_is_refused_by_the_verifier(n_rows):
    snapshot = make_snapshot([(E8, 0, E8)] * (n_rows + 1), [(E8, 0)])
    with pytest.raises((PublicInputError, CircuitError)):
        sparse(n_rows, 1, 1).public_inputs(snapshot, 1, 2)


@pytest.mark.parametrize(
    "circuit_id",
    [
        "cross-n0-p1-k1",
        "cross-n3-p1-k0",
        "cross-n10000-p1-k1",
        "cross-n2000-p1000-k25",  # P + K = 1025
        "cross-n3-p01-k2",
        "cross-n3-p1-k02",
        "cross-n3-p1-k2-mux",
        "isolated-n3-p1-k2-mux",
        "isolated-n3-p1-k2-m0",
        "isolated-n3-p1-k2-m33",
        "cross-n3-p-1-k2",
        "Cross-n3-p1-k2",
        "cross-n3-p1-k2 ",
    ],
)
def test_more_malformed_sparse_ids_are_refused(circuit_id):
    import re

    from zkmargin.circuits.registry import CIRCUIT_ID_PATTERN, circuit_from_id

    with pytest.raises(CircuitError):
        circuit_from_id(circuit_id)
    if circuit_id != "cross-n2000-p1000-k25":  # the schema pattern is syntactic; the capacity check refuses it
        assert not re.fullmatch(CIRCUIT_ID_PATTERN, circuit_id)


def test_layout_and_table_digests_separate_every_shape_model_order_and_value():
    """The layout digest (in the commitment and the challenge) differs for each (model, N, P, K) and name order; the
    table digest (in the challenge) for each value of each row, padding included. Dense cross never shares one."""
    from tests.circuits.builders import cross_circuit
    from tests.circuits.sparse_builders import SNAPSHOT, TABLE
    from zkmargin.circuits.circuit import Circuit
    from zkmargin.circuits.sparse_isolated import SparseIsolatedStatement

    def header(circuit, snapshot=SNAPSHOT):
        return circuit.public_inputs(snapshot, 1, 2).snapshot_values[:2]

    shapes = [sparse(3, 3, 2), sparse(4, 3, 2), sparse(3, 2, 2), sparse(3, 3, 3), sparse(5, 3, 2)]
    shapes.append(Circuit(SparseIsolatedStatement(3, 3, 2)))
    layouts = [header(c)[0] for c in shapes]
    layouts.append(cross_circuit(3, 2).public_inputs(SNAPSHOT, 1, 2).snapshot_values[0])
    from dataclasses import replace

    reordered = replace(SNAPSHOT, instruments=SNAPSHOT.instruments[::-1])  # same quotes, names in another order
    renamed = replace(
        SNAPSHOT, instruments=tuple(replace(q, instrument=f"X{i}") for i, q in enumerate(SNAPSHOT.instruments))
    )
    layouts += [header(sparse(3, 3, 2), reordered)[0], header(sparse(3, 3, 2), renamed)[0]]
    assert len(set(layouts)) == len(layouts)
    assert header(sparse(3, 3, 2), reordered)[1] != header(sparse(3, 3, 2))[1]
    tables = {header(sparse(3, 3, 2))[1], header(sparse(4, 3, 2))[1]}  # one more padding row
    for i in range(3):
        for field in range(3):
            edited = [list(row) for row in TABLE]
            edited[i][field] += 1
            tables.add(header(sparse(3, 3, 2), make_snapshot(edited, [(E8, 0), (60_000 * E8, E8 // 10)]))[1])
    assert len(tables) == 2 + 9


def raw_isolated_commitment(circuit, w) -> int:
    """The commitment the sparse isolated circuit's packing computes for ANY witness (no range checks)."""
    from zkmargin.margin.commitment import amount_elements, commit_elements

    fields = zip(
        w.indices,
        w.quantities_e8,
        w.entry_prices_e8,
        w.isolated_flags,
        w.isolated_amounts_e8,
        w.isolated_asset_slots,
    )
    slots = [pack_held_isolated(*f) % R for f in fields]
    return commit_elements(
        [w.layout_digest, *slots, *amount_elements(w.amounts_e8), w.salt], circuit.statement.domain_tag
    )


@pytest.mark.parametrize(
    "edit,label",
    [
        # flag 3 = flag 1 + one amount unit at 2^129
        (dict(isolated_flags=(3, 0), isolated_amounts_e8=(10 * E8 - 1, 0)), "held[0]/isolated_bool"),
        # entry + 2^64 carries into the flag bit
        (dict(entry_prices_e8=(100 * E8 + 2**64, 0), isolated_flags=(0, 0)), "held[0]/entry_range/pack"),
        # quantity + 2^64 carries into the entry limb
        (dict(quantities_e8=(E8 + 2**64, 0), entry_prices_e8=(100 * E8 - 1, 0)), "held[0]/quantity_range/pack"),
        # amount + 2^64 carries into the asset slot limb
        (
            dict(isolated_amounts_e8=(10 * E8 + 2**64, 0), isolated_asset_slots=(0, 0)),
            "held[0]/isolated_amount_range/pack",
        ),
        # asset slot 1 + 2^10 would read as index 1, asset 1: no such one-hot choice
        (dict(indices=(0, 0), isolated_asset_slots=(1024 + 1, 0)), "held[0]/one_asset_iff_isolated"),
    ],
)
def test_isolated_commitment_aliases_across_limbs_have_no_assignment(edit, label):
    from dataclasses import replace

    from zkmargin.circuits.circuit import Circuit
    from zkmargin.circuits.sparse_isolated import SparseIsolatedStatement
    from zkmargin.margin.models import Account, Position

    snapshot = make_snapshot([(100 * E8, E8 // 10, E8), (50 * E8, E8 // 20, E8)], [(E8, 0), (2 * E8, 0)])
    circuit = Circuit(SparseIsolatedStatement(2, 2, 2))
    account = Account("a", (), (Position("I0", E8, 100 * E8, "A1", 10 * E8),))
    honest = circuit.witness(account, snapshot, SALT)
    forged_w = replace(honest, **edit)
    if "indices" not in edit:  # every edit but the last re-encodes the very same commitment element
        assert raw_isolated_commitment(circuit, forged_w) == raw_isolated_commitment(circuit, honest)
    cs = ConstraintSystem("check")
    circuit.synthesize(cs, circuit.public_inputs(snapshot, raw_isolated_commitment(circuit, forged_w), 3), forged_w)
    assert cs.which_is_unsatisfied() == label
    cs = ConstraintSystem("check")
    circuit.synthesize(cs, circuit.public_inputs(snapshot, circuit.commitment(honest), 3), honest)
    assert cs.which_is_unsatisfied() is None
