"""Small circuits for Groth16 tests."""

from __future__ import annotations

from zkmargin.r1cs import CompiledR1CS, ConstraintSystem


def cube_circuit(mode: str, x: int | None = None, extra_public: int | None = None):
    """x^3 + x + 5 == y (y public), plus a second public input bound only by the builder."""
    cs = ConstraintSystem(mode)  # type: ignore[arg-type]
    y_value = None if x is None else x**3 + x + 5
    y = cs.public_input("y", y_value)
    cs.public_input("context", extra_public)
    xv = cs.private_input("x", x)
    x2 = cs.mul(xv, xv, "x2")
    x3 = cs.mul(x2, xv, "x3")
    cs.assert_equal(x3 + xv + 5, y, "result")
    return cs


def compiled_cube() -> CompiledR1CS:
    """The compiled cube circuit."""
    return cube_circuit("setup").compile()


def cube_witness(x: int, context: int = 7) -> tuple[list[int], list[int]]:
    """(full assignment, public inputs) for the cube circuit."""
    cs = cube_circuit("check", x, context)
    cs.compile()
    return cs.assignment(), cs.public_values()
