"""PublicLayout.flatten: leaf_items's order for every statement, and refusal of any tree whose leaf paths differ."""

from __future__ import annotations

import pytest

from tests.circuits.builders import E8, make_snapshot
from zkmargin.circuits.layout import PublicLayout, leaf_items
from zkmargin.circuits.parts import Asset, Instrument, SnapshotInputs
from zkmargin.circuits.registry import MODELS, circuit_from_id
from zkmargin.errors import CircuitError
from zkmargin.margin.var import with_scenarios

SNAPSHOT = make_snapshot([(100 * E8, E8 // 10, E8), (20 * E8, E8 // 20, E8)], [(E8, 0), (3 * E8, E8 // 10)])


@pytest.mark.parametrize("model", sorted(MODELS))
def test_flatten_is_leaf_items_order(model):
    circuit_id = MODELS[model].circuit_id("n3-k2")
    statement = circuit_from_id(circuit_id).statement
    snapshot = (with_scenarios(SNAPSHOT, int(circuit_id.rsplit("-s", 1)[1]), 99 * 10**6, seed=3)
                if MODELS[model].has_scenarios else SNAPSHOT)
    values = statement.snapshot_values(snapshot)
    items = leaf_items(values)
    assert tuple(path for path, _ in items) == statement.layout.paths
    assert statement.layout.flatten(values) == tuple(value for _, value in items)


LAYOUT = PublicLayout(SnapshotInputs(0, (Instrument(0, 0, 0),), (Asset(0, 0),) * 2))


def test_flatten_reads_a_tree_of_the_declared_shape():
    assert LAYOUT.flatten(SnapshotInputs(9, (Instrument(5, 6, 7),), (Asset(1, 2), Asset(3, 4)))) == (9, 5, 6, 7, 1, 2, 3, 4)


@pytest.mark.parametrize(
    "values",
    [
        SnapshotInputs(9, (Instrument(5, 6, 7),), (Asset(1, 2),)),  # a tuple too short
        SnapshotInputs(9, (Instrument(5, 6, 7),) * 2, (Asset(1, 2), Asset(3, 4))),  # a tuple too long
        SnapshotInputs(9, (Asset(5, 6),), (Asset(1, 2), Asset(3, 4))),  # other field names in a slot
        SnapshotInputs(9, (Instrument(5, 6, 7),), (Asset(1, 2), Instrument(3, 4, 5))),
        SnapshotInputs((9,), (Instrument(5, 6, 7),), (Asset(1, 2), Asset(3, 4))),  # a tuple where a leaf is
        SnapshotInputs(Asset(9, 9), (Instrument(5, 6, 7),), (Asset(1, 2), Asset(3, 4))),  # a dataclass there
        SnapshotInputs(9, (Instrument(5, 6, 7),), (Asset(1, 2), 3)),  # a leaf where a dataclass is
        SnapshotInputs(9, 5, (Asset(1, 2), Asset(3, 4))),  # a leaf where a tuple is
        (9, (Instrument(5, 6, 7),), (Asset(1, 2), Asset(3, 4))),  # no dataclass at the root
    ],
)
def test_flatten_refuses_a_tree_with_other_leaf_paths(values):
    with pytest.raises(CircuitError, match="layout"):
        LAYOUT.flatten(values)
