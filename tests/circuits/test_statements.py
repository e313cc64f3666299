"""Every registered statement: honours the protocol, and its declared layout counts, flattens and allocates alike."""

from __future__ import annotations

import pytest

from tests.circuits.builders import E8, make_account, make_snapshot
from zkmargin.circuits.layout import PublicLayout, StatementPublic
from zkmargin.circuits.parts import Asset, SnapshotInputs
from zkmargin.circuits.protocol import Statement
from zkmargin.circuits.registry import MODELS, circuit_from_id
from zkmargin.errors import CircuitError, PublicInputError
from zkmargin.margin.models import Snapshot
from zkmargin.margin.var import with_scenarios
from zkmargin.r1cs import ConstraintSystem

SNAPSHOT = make_snapshot([(100 * E8, E8 // 10, E8), (20 * E8, E8 // 20, E8)], [(E8, 0), (3 * E8, E8 // 10)])
ACCOUNT = make_account({0: (E8, 95 * E8), 1: (-2 * E8, 21 * E8)}, {0: 500 * E8, 1: 10 * E8})
IDS = [model.circuit_id("n3-k2") for model in MODELS.values()]


@pytest.mark.parametrize("circuit_id", IDS)
def test_statement_honours_the_protocol(circuit_id):
    assert isinstance(circuit_from_id(circuit_id).statement, Statement)


def snapshot_for(circuit_id: str) -> Snapshot:
    """SNAPSHOT, with synthetic historical scenarios for the models that read them (var, es: -s<S>)."""
    if not MODELS[circuit_id.split("-")[0]].has_scenarios:
        return SNAPSHOT
    return with_scenarios(SNAPSHOT, int(circuit_id.rsplit("-s", 1)[1]), 99 * 10**6, seed=3)


@pytest.mark.parametrize("circuit_id", IDS)
def test_layout_counts_flattens_and_allocates_alike(circuit_id):
    circuit = circuit_from_id(circuit_id)
    layout = circuit.statement.layout
    snapshot = snapshot_for(circuit_id)
    values = circuit.snapshot_inputs(snapshot)
    setup_cs = ConstraintSystem("setup")
    circuit.synthesize(setup_cs)
    witness = circuit.witness(ACCOUNT, snapshot, 3)
    public = circuit.public_inputs(snapshot, circuit.commitment(witness), 4)
    check_cs = ConstraintSystem("check")
    circuit.synthesize(check_cs, public, witness)
    assert layout.count == 2 + len(values) == len(public.as_list()) == setup_cs.num_public == check_cs.num_public
    assert check_cs.which_is_unsatisfied() is None
    assert check_cs.public_values() == public.as_list()  # allocation order is the flattening order
    assert layout.paths[0] == "layout_digest" and len(set(layout.paths)) == len(layout.paths)


def test_flatten_refuses_values_of_another_shape():
    layout = PublicLayout(SnapshotInputs(0, (), (Asset(0, 0),) * 2))
    assert layout.flatten(SnapshotInputs(9, (), (Asset(1, 2), Asset(3, 4)))) == (9, 1, 2, 3, 4)
    with pytest.raises(CircuitError, match="layout"):
        layout.flatten(SnapshotInputs(9, (), (Asset(1, 2),)))


def test_allocate_refuses_a_wrong_count():
    layout = PublicLayout(SnapshotInputs(0, (), (Asset(0, 0),)))
    with pytest.raises(PublicInputError, match="expected 3"):
        layout.allocate(ConstraintSystem("check"), StatementPublic(1, 2, (3, 4)))
