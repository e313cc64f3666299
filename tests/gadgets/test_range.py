"""Range and comparison gadgets: tables of valid and invalid assignments at the boundaries."""

from __future__ import annotations

import pytest

from zkmargin.errors import CircuitError
from zkmargin.field import R
from zkmargin.gadgets.range import (
    abs_value,
    assert_less_or_equal,
    assert_signed,
    assert_unsigned,
    is_less_than,
)
from zkmargin.r1cs import ConstraintSystem


def check(build) -> str | None:
    cs = ConstraintSystem("check")
    build(cs)
    return cs.which_is_unsatisfied()


@pytest.mark.parametrize(
    "value,ok", [(0, True), (2**64 - 1, True), (2**64, False), (R - 1, False), ((R + 5) % R, True)]
)
def test_unsigned_64(value, ok):
    failing = check(lambda cs: assert_unsigned(cs, cs.private_input("x", value), 64, "x_range"))
    assert (failing is None) == ok
    if not ok:
        assert failing.startswith("x_range")


@pytest.mark.parametrize(
    "value,ok",
    [(0, True), (-1, True), (2**63 - 1, True), (-(2**63), True), (2**63, False), (-(2**63) - 1, False), (R // 2, False)],
)
def test_signed_64(value, ok):
    failing = check(lambda cs: assert_signed(cs, cs.private_input("q", value % R), 64, "q_range"))
    assert (failing is None) == ok
    if not ok:
        assert failing.startswith("q_range")


@pytest.mark.parametrize(
    "a,b,ok", [(0, 0, True), (5, 7, True), (7, 5, False), (0, 2**32 - 1, True), (2**32 - 1, 0, False)]
)
def test_less_or_equal(a, b, ok):
    def build(cs):
        x, y = cs.private_input("a", a), cs.private_input("b", b)
        assert_unsigned(cs, x, 32, "a_range")
        assert_unsigned(cs, y, 32, "b_range")
        assert_less_or_equal(cs, x, y, 32, "a_le_b")

    failing = check(build)
    assert (failing is None) == ok
    if not ok:
        assert failing.startswith("a_le_b")


@pytest.mark.parametrize("a,b", [(0, 0), (0, 1), (1, 0), (2**32 - 1, 2**32 - 1), (2**32 - 2, 2**32 - 1), (2**32 - 1, 0)])
def test_is_less_than(a, b):
    cs = ConstraintSystem("check")
    out = is_less_than(cs, cs.private_input("a", a), cs.private_input("b", b), 32, "lt")
    assert out.value == int(a < b)
    assert cs.is_satisfied()


def test_is_less_than_lying_hint_is_caught():
    cs = ConstraintSystem("check")
    is_less_than(cs, cs.private_input("a", 3), cs.private_input("b", 9), 8, "lt")
    from zkmargin.r1cs import LinearCombination

    top_bit = LinearCombination({3 + 8: 1}, None)  # one, a, b, then bits 0..8: index 3 + 8 is the top bit
    cs.set_value(top_bit, 1)
    assert cs.which_is_unsatisfied() is not None


@pytest.mark.parametrize("value", [0, 1, -1, 2**63 - 1, -(2**63)])
def test_abs_value(value):
    cs = ConstraintSystem("check")
    magnitude, sign = abs_value(cs, cs.private_input("x", value % R), 64, "x")
    assert magnitude.value == abs(value) and sign.value == int(value >= 0)
    assert cs.is_satisfied()


def test_widths_are_bounded():
    cs = ConstraintSystem("setup")
    with pytest.raises(CircuitError):
        assert_unsigned(cs, cs.private_input("x"), 253, "x")
    with pytest.raises(CircuitError):
        assert_signed(cs, cs.private_input("y"), 0, "y")


def test_modes_allocate_the_same_shape():
    shapes = []
    for mode, value in (("setup", None), ("prove", 5), ("check", 5)):
        cs = ConstraintSystem(mode)
        x = cs.private_input("x", value)
        abs_value(cs, x, 16, "x")
        is_less_than(cs, x, cs.constant(9), 16, "lt")
        shapes.append((cs.num_constraints, cs.num_private))
    assert shapes[0] == shapes[1] == shapes[2]
