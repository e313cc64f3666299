"""Sparse cross (circuits/sparse_cross.py): hand-built witnesses that must not satisfy it first (index range and
aliasing, bits, duplicates, order, zero slots, tampered rows, another table), then agreement with the engine and
with dense cross, then the registry ids and a real proof."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from tests.circuits.builders import E8, cross_circuit, make_account, make_snapshot
from tests.circuits.sparse_builders import (
    ACCOUNT,
    CONTEXT,
    POW2,
    SALT,
    SMALL,
    SMALLS,
    SNAPSHOT,
    TABLE,
    first_failure,
    forge_rows,
    forged,
    raw_commitment,
    solve,
    sparse,
    variable,
)
from zkmargin.circuits.layout import StatementPublic
from zkmargin.circuits.sparse_cross import SparseCrossStatement
from zkmargin.circuits.sparse_parts import SELECTIONS, pack_row
from zkmargin.errors import CapacityError, CircuitError, EncodingError, PublicInputError
from zkmargin.field import R
from zkmargin.margin.engine import compute_margin
from zkmargin.margin.models import Account, Snapshot
from zkmargin.r1cs import ConstraintSystem


# ----- adversarial witnesses (no setup) ------------------------------------------------------------------------
@pytest.mark.parametrize("selection", SELECTIONS)
def test_an_honest_held_witness_satisfies_the_statement(selection):
    small = SMALLS[selection]
    w = small.witness(ACCOUNT, SNAPSHOT, SALT)
    assert (w.indices, w.quantities_e8) == ((0, 2, 0), (E8, -3 * E8, 0))
    assert first_failure(small, w) is None
    assert raw_commitment(small, w) == small.commitment(w)


@pytest.mark.parametrize(
    "index,label",
    [
        (3, "held[1]/index/below_rows/pack"),  # index == N, below 2^b: only the upper bound refuses it
        (2 + 3, "held[1]/index/bits/pack"),  # index + N aliasing
        (2 + 4, "held[1]/index/bits/pack"),
        (R - 1, "held[1]/index/bits/pack"),  # -1
    ],
)
@pytest.mark.parametrize("selection", SELECTIONS)
def test_an_index_outside_the_table_is_refused(index, label, selection):
    small = SMALLS[selection]
    w = forged(small, (0, index, 0), (E8, -3 * E8, 0), (95 * E8, 8 * E8, 0))
    assert first_failure(small, w) == label


@pytest.mark.parametrize("index", [4, 5, 7])
def test_an_index_outside_a_power_of_two_table_is_refused(index):
    snapshot = make_snapshot(TABLE + [(E8, 0, E8)], [(E8, 0)] * 2)
    w = forged(POW2, (0, index), (E8, E8), (95 * E8, 8 * E8), snapshot=snapshot)
    assert first_failure(POW2, w, snapshot) == "held[1]/index/bits/pack"


@pytest.mark.parametrize("alias", [R, R + 1, -1, True])
@pytest.mark.parametrize("selection", SELECTIONS)
def test_an_index_at_or_above_r_is_refused_before_it_is_reduced(alias, selection):
    small = SMALLS[selection]
    w = forged(small, (0, alias, 0), (E8, -3 * E8, 0), (95 * E8, 8 * E8, 0))
    with pytest.raises(CircuitError, match="index must be a field element"):
        solve(small, w, commitment=1)


@pytest.mark.parametrize("selection", SELECTIONS)
def test_index_bits_that_are_not_boolean_are_refused(selection):
    """Index 2 as bits (2, 0): the bits still sum to 2, and the tree would read lo + 2 (hi - lo), no row at all."""
    small = SMALLS[selection]
    w = forged(small, (0, 2, 0), (E8, -3 * E8, 0), (95 * E8, 8 * E8, 0))
    cs = solve(small, w)
    assert cs.which_is_unsatisfied() is None
    cs.set_value(variable(cs, "held[1]/index/bits[0]"), 2)
    cs.set_value(variable(cs, "held[1]/index/bits[1]"), 0)
    assert cs.which_is_unsatisfied() == "held[1]/index/bits[0]/bool"


@pytest.mark.parametrize("indices", [(2, 2, 0), (2, 0, 0), (0, 0, 0)])
@pytest.mark.parametrize("selection", SELECTIONS)
def test_two_held_slots_never_name_one_instrument_or_go_down(indices, selection):
    small = SMALLS[selection]
    w = forged(small, indices, (E8, E8, 0), (95 * E8, 95 * E8, 0))
    assert first_failure(small, w) == "held[1]/indices_increase/pack"


def test_the_same_long_counted_twice_would_have_paid_for_a_margin_call():
    """Why duplicates matter: the account is a margin call, and naming its winner twice would hide it."""
    snapshot = make_snapshot([(100 * E8, 0, E8), (50 * E8, E8 // 2, E8), (E8, 0, E8)], [(E8, 0)])
    account = make_account({0: (E8, 90 * E8), 1: (-E8, 50 * E8)}, {0: 10 * E8})
    assert not compute_margin(account, snapshot).healthy
    circuit = sparse(3, 3, 1)
    honest = circuit.witness(account, snapshot, SALT)
    assert first_failure(circuit, honest, snapshot) == "solvency/equity_covers_maintenance/pack"
    doubled = forged(circuit, (0, 0, 1), (E8, E8, -E8), (90 * E8, 90 * E8, 50 * E8), (10 * E8,), snapshot)
    assert first_failure(circuit, doubled, snapshot) == "held[1]/indices_increase/pack"


@pytest.mark.parametrize(
    "indices,quantities,entries,label",
    [
        ((0, 2, 0), (E8, 0, 0), (95 * E8, 0, 0), "held[1]/unused_index_is_zero"),  # zero quantity naming instrument 2
        ((0, 0, 0), (E8, 0, 0), (95 * E8, 8 * E8, 0), "held[1]/unused_entry_is_zero"),
        ((0, 0, 2), (E8, 0, -3 * E8), (95 * E8, 0, 8 * E8), "held[2]/used_slots_first"),  # a used slot after a gap
    ],
)
@pytest.mark.parametrize("selection", SELECTIONS)
def test_zero_quantity_only_as_an_unused_slot(indices, quantities, entries, label, selection):
    small = SMALLS[selection]
    w = forged(small, indices, quantities, entries)
    assert first_failure(small, w) == label


@pytest.mark.parametrize("selection", SELECTIONS)
def test_a_used_flag_that_lies_is_refused(selection):
    small = SMALLS[selection]
    w = small.witness(ACCOUNT, SNAPSHOT, SALT)
    cs = solve(small, w)
    cs.set_value(variable(cs, "held[1]/used"), 0)
    assert cs.which_is_unsatisfied() == "held[1]/used_when_nonzero"


def test_a_selected_row_read_with_other_values_is_refused_by_the_mux():
    """The prover reads instrument 0 with a lower mark (bits consistent): the row no longer unpacks."""
    small = SMALLS["mux"]
    w = small.witness(ACCOUNT, SNAPSHOT, SALT)
    cs = solve(small, w)
    mark = 50 * E8
    cs.set_value(variable(cs, "held[0]/mark_price_e8"), mark)
    for i in range(64):
        cs.set_value(variable(cs, f"held[0]/mark_range[{i}]"), (mark >> i) & 1)
    assert cs.which_is_unsatisfied() == "held[0]/row_unpacks"


@pytest.mark.parametrize("selection", SELECTIONS)
def test_a_row_split_across_fields_is_refused_by_the_ranges(selection):
    """mark + 2^64 with size - 1 packs to the same row: the 64-bit range of the mark refuses it."""
    small = SMALLS[selection]
    w = small.witness(ACCOUNT, SNAPSHOT, SALT)
    cs = solve(small, w)
    cs.set_value(variable(cs, "held[0]/mark_price_e8"), 100 * E8 + 2**64)
    cs.set_value(variable(cs, "held[0]/contract_size_e8"), E8 - 1)
    assert cs.which_is_unsatisfied() == "held[0]/mark_range/pack"


@pytest.mark.parametrize(
    "edit",
    [
        lambda true: true - 5 * E8,  # a lower mark for the short (instrument 2, held in slot 1)
        lambda true: pack_row(7 * E8, 0, E8),  # its maintenance rate 0
        lambda true: pack_row(*TABLE[1]),  # another instrument's row under index 2
        lambda true: pack_row(7 * E8, E8 // 4, E8) + 1,
    ],
)
def test_a_tampered_row_fails_the_lookup(monkeypatch, edit):
    """The solver reads an edited row for slot 1; every definition holds, the challenge is honest: the sums differ."""
    w = SMALL.witness(ACCOUNT, SNAPSHOT, SALT)
    assert first_failure(SMALL, w) is None
    assert edit(pack_row(*TABLE[2])) != pack_row(*TABLE[2])
    forge_rows(monkeypatch, 2, edit)
    assert first_failure(SMALL, w) == "lookup/sums_agree"


def test_the_honest_row_hint_through_the_same_hook_still_satisfies(monkeypatch):
    """The hook above changes nothing by itself (so the failures are the edits')."""
    forge_rows(monkeypatch, 2, lambda true: true)
    assert first_failure(SMALL, SMALL.witness(ACCOUNT, SNAPSHOT, SALT)) is None


def test_a_tampered_multiplicity_or_challenge_input_is_refused():
    w = SMALL.witness(ACCOUNT, SNAPSHOT, SALT)
    for label, value in (("lookup/multiplicity[1]", 1), ("lookup/multiplicity[0]", 2), ("lookup/row_term[1]", 5)):
        cs = solve(SMALL, w)
        cs.set_value(variable(cs, label), value)
        assert cs.which_is_unsatisfied() is not None, label


def test_the_lookup_is_cheaper_than_the_mux_for_a_long_table():
    lookup, mux = sparse(512, 16, 2).compile(), sparse(512, 16, 2, "mux").compile()
    assert lookup.num_constraints < mux.num_constraints * 2 / 3


def test_a_tampered_mux_node_is_refused():
    small = SMALLS["mux"]
    w = small.witness(ACCOUNT, SNAPSHOT, SALT)
    cs = solve(small, w)
    cs.set_value(variable(cs, "held[1]/select/level[0][1]"), 1)
    assert cs.which_is_unsatisfied() == "held[1]/select/level[0][1]"


@pytest.mark.parametrize("selection", SELECTIONS)
def test_a_reordered_table_or_another_snapshot_fails_through_the_layout_digest(selection):
    small = SMALLS[selection]
    w = small.witness(ACCOUNT, SNAPSHOT, SALT)
    commitment = small.commitment(w)
    reordered = make_snapshot([TABLE[2], TABLE[1], TABLE[0]], [(E8, 0), (60_000 * E8, E8 // 10)])
    reordered = replace(reordered, instruments=tuple(reversed(reordered.instruments)))  # names I2, I1, I0
    renamed = replace(
        SNAPSHOT, instruments=tuple(replace(q, instrument=q.instrument + "X") for q in SNAPSHOT.instruments)
    )
    for other in (reordered, renamed):
        assert small.statement.layout_digest(other) != w.layout_digest
        assert solve(small, w, other, commitment).which_is_unsatisfied() == "commitment/opens"
    # A commitment of the same account made for the dense statement opens nothing here.
    dense = cross_circuit(3, 2)
    dense_commitment = dense.commitment(dense.witness(ACCOUNT, SNAPSHOT, SALT))
    assert solve(small, w, SNAPSHOT, dense_commitment).which_is_unsatisfied() == "commitment/opens"


@pytest.mark.parametrize("selection", SELECTIONS)
def test_an_unheld_row_changes_nothing_but_a_held_row_does(selection):
    small = SMALLS[selection]
    w = small.witness(ACCOUNT, SNAPSHOT, SALT)
    commitment = small.commitment(w)
    moved_unheld = make_snapshot([TABLE[0], (E8, E8, 2**64 - 1), TABLE[2]], [(E8, 0), (60_000 * E8, E8 // 10)])
    assert solve(small, w, moved_unheld, commitment).which_is_unsatisfied() is None
    crashed = make_snapshot([TABLE[0], TABLE[1], (1000 * E8, E8 // 4, E8)], [(E8, 0), (60_000 * E8, E8 // 10)])
    assert solve(small, w, crashed, commitment).which_is_unsatisfied() == "solvency/equity_covers_maintenance/pack"


@pytest.mark.parametrize(
    "table,assets",
    [
        ([(2**64, 0, E8)], [(E8, 0)]),
        ([(E8, E8 + 1, E8)], [(E8, 0)]),
        ([(E8, 0, 2**64)], [(E8, 0)]),
        ([(E8, 0, E8)], [(E8, E8 + 1)]),
    ],
)
def test_public_values_outside_the_packing_ranges_are_refused(table, assets):
    with pytest.raises(PublicInputError):
        sparse(1, 1, 1).public_inputs(make_snapshot(table, assets), 0, 0)


@pytest.mark.parametrize("value", [R, R + 1, -1])
def test_header_values_at_or_above_r_are_refused(value):
    with pytest.raises(PublicInputError):
        SMALL.public_inputs(SNAPSHOT, value, CONTEXT)
    with pytest.raises(PublicInputError):
        SMALL.public_inputs(SNAPSHOT, 1, value)


def test_more_held_positions_than_slots_is_refused():
    with pytest.raises(CapacityError, match="holds 2 positions"):
        sparse(3, 1, 2).witness(ACCOUNT, SNAPSHOT, SALT)


def test_out_of_range_indices_never_reach_a_commitment():
    w = SMALL.witness(ACCOUNT, SNAPSHOT, SALT)
    with pytest.raises(EncodingError):
        SMALL.commitment(replace(w, indices=(0, -1, 0)))


# ----- agreement ---------------------------------------------------------------------------------------------
def random_pair(rng: random.Random, n_rows: int, n_held: int) -> tuple[Account, Snapshot]:
    table = [
        (rng.randint(1, 10**5) * E8, rng.randint(0, E8 // 4), rng.choice([E8, 10 * E8, E8 // 100]))
        for _ in range(n_rows)
    ]
    snapshot = make_snapshot(table, [(E8, 0), (rng.randint(1, 10**5) * E8, rng.randint(0, E8 // 2))])
    held = rng.sample(range(n_rows), rng.randint(0, n_held))
    positions = {i: (rng.randint(-(10**3), 10**3) * E8 // 10, rng.randint(1, 10**5) * E8) for i in held}
    return make_account(positions, {0: rng.randint(0, 10**6) * E8, 1: rng.randint(0, 10) * E8}), snapshot


@pytest.mark.parametrize("seed", range(12))
def test_sparse_agrees_with_the_engine_and_with_dense_cross(seed):
    rng = random.Random(seed)
    account, snapshot = random_pair(rng, 5, 3)
    healthy = compute_margin(account, snapshot).healthy
    circuit, dense = sparse(5, 3, 2), cross_circuit(5, 2)
    w = circuit.witness(account, snapshot, SALT)
    failing = solve(circuit, w, snapshot, circuit.commitment(w)).which_is_unsatisfied()
    dense_w = dense.witness(account, snapshot, SALT)
    dense_cs = ConstraintSystem("check")
    dense.synthesize(dense_cs, dense.public_inputs(snapshot, dense.commitment(dense_w), CONTEXT), dense_w)
    assert (failing is None) == healthy == dense_cs.is_satisfied()
    if not healthy:
        assert failing == "solvency/equity_covers_maintenance/pack"


def test_a_zero_quantity_position_of_the_account_takes_no_slot():
    account = make_account({0: (E8, 95 * E8), 1: (0, 3 * E8)}, {0: 500 * E8})
    w = sparse(3, 1, 2).witness(account, SNAPSHOT, SALT)
    assert (w.indices, w.quantities_e8, w.entry_prices_e8) == ((0,), (E8,), (95 * E8,))


def test_modes_have_identical_shape_and_cost_follows_the_held_slots():
    w = SMALL.witness(ACCOUNT, SNAPSHOT, SALT)
    cs = solve(SMALL, w)
    setup_cs = ConstraintSystem("setup")
    SMALL.synthesize(setup_cs)
    prove_cs = ConstraintSystem("prove")
    SMALL.synthesize(prove_cs, SMALL.public_inputs(SNAPSHOT, SMALL.commitment(w), CONTEXT), w)
    assert (cs.num_constraints, cs.num_public, cs.num_private) == (
        setup_cs.num_constraints,
        setup_cs.num_public,
        setup_cs.num_private,
    )
    assert prove_cs.num_constraints == cs.num_constraints
    assert SMALL.num_public == 2 + 2 + 3 + 2 * 2
    assert sparse(64, 4, 2).compile().num_constraints < cross_circuit(64, 2).compile().num_constraints / 3


@pytest.mark.parametrize(
    "n_rows,n_held,n_collateral", [(0, 1, 1), (2, 3, 1), (4, 0, 1), (4, 1, 0), (10_000, 1, 1), (2000, 1000, 25)]
)
def test_capacities_outside_the_argument_are_refused(n_rows, n_held, n_collateral):
    with pytest.raises(CircuitError):
        SparseCrossStatement(n_rows, n_held, n_collateral)


def test_the_verifier_packs_each_checked_row_into_one_input():
    """One public input a row, packed from the range-checked values; the assets as in dense cross."""
    public = SMALL.public_inputs(SNAPSHOT, 1, CONTEXT)
    dense_public = cross_circuit(3, 2).public_inputs(SNAPSHOT, 1, CONTEXT)
    assert isinstance(public, StatementPublic)
    assert public.snapshot_values[2:5] == tuple(pack_row(*row) for row in TABLE)
    assert public.snapshot_values[5:] == dense_public.snapshot_values[10:]
    assert public.snapshot_values[0] != dense_public.snapshot_values[0]


# ----- registry, membership, a real proof ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "circuit_id", ["cross-n1024-p16-k8", "cross-n3-p3-k2", "cross-n4096-p32-k8", "cross-n3-p3-k2-m4"]
)
def test_sparse_ids_parse_and_match_the_schema_pattern(circuit_id):
    import re

    from zkmargin.circuits.registry import CIRCUIT_ID_PATTERN, circuit_from_id

    assert circuit_from_id(circuit_id).circuit_id == circuit_id
    assert re.fullmatch(CIRCUIT_ID_PATTERN, circuit_id)


@pytest.mark.parametrize(
    "circuit_id",
    [
        "cross-n3-p4-k2",
        "cross-n3-p0-k2",
        "var-n3-p1-k2",  # no sparse var or es statement (docs/sparse.md says why)
        "es-n3-p1-k2-s4",
        "cross-n3-p1",
        "cross-n03-p1-k2",
        "cross-n3-p1-k2-t2",
        "tiered-n3-p1-k2-t2",
    ],
)
def test_bad_sparse_ids_are_refused(circuit_id):
    from zkmargin.circuits.registry import circuit_from_id

    with pytest.raises(CircuitError):
        circuit_from_id(circuit_id)


def test_the_membership_wrapper_takes_the_sparse_statement():
    from zkmargin.circuits.registry import circuit_from_id
    from zkmargin.gadgets.merkle import identity_commitment, member_leaf
    from zkmargin.venue.tree import MerklePath, MerkleTree

    circuit = circuit_from_id("cross-n3-p3-k2-m2")
    witness = circuit.witness(ACCOUNT, SNAPSHOT, SALT)
    assert witness.commitment == SMALL.commitment(SMALL.witness(ACCOUNT, SNAPSHOT, SALT))
    secret = 0x5EC12E7
    leaf = member_leaf(witness.commitment, identity_commitment(secret))
    tree = MerkleTree([111, leaf, 333], 2)
    placed = circuit.statement.place(witness, MerklePath("acct", leaf, 1, tuple(tree.path(1)), tree.root, 2), secret)
    scope = 31337
    public = circuit.public_inputs(SNAPSHOT, tree.root, CONTEXT, (scope, circuit.statement.nullifier(placed, scope)))
    cs = ConstraintSystem("check")
    circuit.synthesize(cs, public, placed)
    assert cs.which_is_unsatisfied() is None
    doubled = replace(
        placed,
        inner=replace(
            placed.inner, indices=(0, 0, 0), quantities_e8=(E8, E8, 0), entry_prices_e8=(95 * E8, 95 * E8, 0)
        ),
    )
    cs = ConstraintSystem("check")
    circuit.synthesize(cs, public, doubled)
    assert cs.which_is_unsatisfied() == "held[1]/indices_increase/pack"


def test_a_real_sparse_proof_verifies_here_and_in_snarkjs(tmp_path):
    import json
    import subprocess

    from tests.npm_tools import snarkjs_command
    from zkmargin.backends import get_backend
    from zkmargin.circuits.proving import prove_account, verify_account_proof
    from zkmargin.groth16 import setup
    from zkmargin.groth16.serialization import proof_to_json, public_inputs_to_json, vk_to_json

    backend = get_backend("arkworks")
    pk = setup(SMALL.compile(), random.Random(3), backend)
    proof, public = prove_account(SMALL, pk, ACCOUNT, SNAPSHOT, SALT, CONTEXT, backend)
    assert verify_account_proof(SMALL, pk.vk, SNAPSHOT, public.commitment, CONTEXT, proof, backend)
    assert not verify_account_proof(SMALL, pk.vk, SNAPSHOT, public.commitment, CONTEXT + 1, proof, backend)
    crashed = make_snapshot([TABLE[0], TABLE[1], (1000 * E8, E8 // 4, E8)], [(E8, 0), (60_000 * E8, E8 // 10)])
    assert not verify_account_proof(SMALL, pk.vk, crashed, public.commitment, CONTEXT, proof, backend)
    command = snarkjs_command()
    if command is None:
        pytest.skip("snarkjs not installed (node + npm install snarkjs@0.7; .ci/run does this in CI)")
    (tmp_path / "vk.json").write_text(json.dumps(vk_to_json(pk.vk, backend)))
    (tmp_path / "proof.json").write_text(json.dumps(proof_to_json(proof, backend)))
    values = public.as_list()
    (tmp_path / "public.json").write_text(json.dumps(public_inputs_to_json(values)))
    ok = subprocess.run(
        [*command, "groth16", "verify", "vk.json", "public.json", "proof.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0 and "OK" in ok.stdout, ok.stdout + ok.stderr
    (tmp_path / "public.json").write_text(json.dumps(public_inputs_to_json([values[0], values[1] + 1, *values[2:]])))
    bad = subprocess.run(
        [*command, "groth16", "verify", "vk.json", "public.json", "proof.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 or "OK" not in bad.stdout


@pytest.mark.parametrize(
    "field,value",
    [("indices", (0, 2)), ("quantities_e8", (E8, -3 * E8, 0, 0)), ("entry_prices_e8", ()), ("amounts_e8", (1,))],
)
def test_a_witness_of_another_shape_is_refused_before_solving(field, value):
    w = replace(SMALL.witness(ACCOUNT, SNAPSHOT, SALT), **{field: value})
    with pytest.raises(CircuitError, match="a sparse witness has"):
        solve(SMALL, w, commitment=1)
