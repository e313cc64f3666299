"""The model registry: one list that the parser, the service's schema pattern and docs/models.md agree with."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zkmargin.circuits.registry import CIRCUIT_ID_PATTERN, MODEL_NAMES, MODELS, circuit_from_id, get_model
from zkmargin.errors import CircuitError

MODELS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "models.md"
IDS = ["cross-n64-k8", "isolated-n3-k2", "tiered-n3-k2-t3", "portfolio-n1-k1", "cross-n1023-k1",
       "cross", "cross-n0-k1", "cross-n01-k1", "cross-n1-k0", "tiered-n1-k1", "cross-n1-k1-t2", "span-n1-k1",
       "cross-n1-k1 ", "CROSS-n1-k1", "tiered-n1-k1-t0", "tiered-n1-k1-t100",
       "es-n2-k1-s250", "var-n1-k1-s1", "es-n1000-k24-s1000", "es-n1-k1", "es-n1-k1-s0", "es-n1-k1-s1001",
       "var-n1-k1-t2", "cross-n1-k1-s5", "es-n1-k1-s01"]


@pytest.mark.parametrize("circuit_id", IDS)
def test_schema_pattern_and_parser_agree(circuit_id):
    matches = re.fullmatch(CIRCUIT_ID_PATTERN, circuit_id) is not None
    try:
        parsed = circuit_from_id(circuit_id).circuit_id == circuit_id
    except CircuitError:
        parsed = False
    assert matches == parsed


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_builds_its_statement(name):
    model = get_model(name)
    circuit = circuit_from_id(model.circuit_id("n2-k1"))
    assert circuit.model == name and circuit.circuit_id.startswith(f"{name}-n2-k1")


def test_unknown_model():
    with pytest.raises(CircuitError, match="unknown margin model"):
        get_model("span")


def test_the_models_page_lists_every_model():
    section = MODELS_PAGE.read_text()
    for name, model in MODELS.items():
        assert f"`{name}-n<N>-k<K>" in section, name
        assert ("-t<T>`" in section.split(f"`{name}-n<N>-k<K>")[1][:8]) == model.has_tiers, name
