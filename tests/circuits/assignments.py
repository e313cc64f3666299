"""Full assignments for adversarial circuit tests: solve one from a (possibly hand-built) witness, and list every
constraint of the compiled circuit (the one keys are made from) that it breaks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zkmargin.circuits.circuit import Circuit
from zkmargin.circuits.layout import StatementPublic
from zkmargin.field import R
from zkmargin.r1cs import ConstraintSystem


def solve(circuit: Circuit[Any], public: StatementPublic, witness: Any) -> list[int]:
    """The full assignment the solver computes from this (possibly hand-built) witness: nothing is checked."""
    cs = ConstraintSystem("check")
    circuit.synthesize(cs, public, witness)
    return cs.assignment()


def dot(row: Sequence[tuple[int, int]], z: Sequence[int]) -> int:
    """One side of a constraint row evaluated at z, modulo r."""
    return sum(coeff * z[var] for var, coeff in row) % R


def broken(circuit: Circuit[Any], z: Sequence[int]) -> list[str]:
    """Labels of EVERY constraint of the compiled circuit (the one keys are made from) that z breaks."""
    compiled = circuit.compile()
    assert len(z) == compiled.num_variables
    return [label for a, b, c, label in zip(compiled.a, compiled.b, compiled.c, compiled.labels)
            if dot(a, z) * dot(b, z) % R != dot(c, z)]
