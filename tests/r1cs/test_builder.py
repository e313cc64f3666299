"""ConstraintSystem: modes agree on shape, witnesses solve, broken constraints are named."""

from __future__ import annotations

import pytest

from zkmargin.errors import CircuitError
from zkmargin.field import R
from zkmargin.r1cs import ConstraintSystem


def cube_plus(cs: ConstraintSystem, x_value: int | None, y_value: int | None):
    """x^3 + x + 5 == y with y public: the textbook circuit."""
    y = cs.public_input("y", y_value)
    x = cs.private_input("x", x_value)
    with cs.namespace("cube"):
        x2 = cs.mul(x, x, "x2")
        x3 = cs.mul(x2, x, "x3")
    cs.assert_equal(x3 + x + 5, y, "result")
    return x, x2, x3, y


def test_modes_agree_on_shape():
    counts = []
    for mode, x, y in [("setup", None, None), ("prove", 3, 35), ("check", 3, 35)]:
        cs = ConstraintSystem(mode)
        cube_plus(cs, x, y)
        counts.append((cs.num_constraints, cs.num_public, cs.num_private))
    assert counts[0] == counts[1] == counts[2] == (3, 1, 3)


def test_valid_witness_is_satisfied_and_compiles_in_groth16_order():
    cs = ConstraintSystem("check")
    cube_plus(cs, 3, 35)
    assert cs.is_satisfied()
    compiled = cs.compile()
    z = cs.assignment()
    assert z[:2] == [1, 35]  # one, then the public input, then private values
    assert compiled.first_unsatisfied(z) is None
    assert compiled.public_names == ("y",)
    assert cs.public_values() == [35]


@pytest.mark.parametrize("y_value", [34, 36, 35 + R - 1, 0])
def test_wrong_public_value_names_the_constraint(y_value):
    cs = ConstraintSystem("check")
    cube_plus(cs, 3, y_value)
    assert cs.which_is_unsatisfied() == "result"
    assert cs.compile().first_unsatisfied(cs.assignment()) == "result"


def test_tampered_intermediate_names_its_namespace():
    cs = ConstraintSystem("check")
    _, x2, _, _ = cube_plus(cs, 3, 35)
    cs.set_value(x2, 10)
    assert cs.which_is_unsatisfied() == "cube/x2"


def test_unused_public_input_gets_bound():
    """Without the binding constraint, a Groth16 proof would verify for any value of `free`."""
    cs = ConstraintSystem("check")
    cube_plus(cs, 3, 35)
    cs.public_input("free", 7)
    before = cs.num_constraints
    compiled = cs.compile()
    assert compiled.num_constraints == before + 1
    assert compiled.labels[-1] == "bind_public/free"
    free_index = 1 + compiled.public_names.index("free")
    rows = [compiled.a, compiled.b, compiled.c]
    assert any(free_index in dict(row) for matrix in rows for row in matrix)


@pytest.mark.parametrize(
    "value,n_bits,ok",
    [(0, 8, True), (255, 8, True), (256, 8, False), (R - 1, 8, False), (2**252, 253, True), (1, 1, True), (2, 1, False)],
)
def test_to_bits_range(value, n_bits, ok):
    cs = ConstraintSystem("check")
    x = cs.private_input("x", value)
    cs.to_bits(x, n_bits, "x_bits")
    assert cs.is_satisfied() is ok


def test_to_bits_rejects_widths_that_could_wrap():
    cs = ConstraintSystem("setup")
    x = cs.private_input("x")
    with pytest.raises(CircuitError):
        cs.to_bits(x, 254)


@pytest.mark.parametrize("cond,expected", [(0, 20), (1, 10)])
def test_select(cond, expected):
    cs = ConstraintSystem("check")
    c = cs.private_input("c", cond)
    cs.assert_bool(c, "c_bool")
    out = cs.select(c, cs.constant(10), cs.constant(20))
    assert out.value == expected
    assert cs.is_satisfied()


def test_assert_bool_rejects_two():
    cs = ConstraintSystem("check")
    cs.assert_bool(cs.private_input("c", 2), "c_bool")
    assert cs.which_is_unsatisfied() == "c_bool"


def test_missing_value_is_a_clear_error():
    cs = ConstraintSystem("prove")
    with pytest.raises(CircuitError, match="x: no value"):
        cs.private_input("x")


def test_prove_mode_cannot_compile():
    cs = ConstraintSystem("prove")
    with pytest.raises(CircuitError):
        cs.compile()
