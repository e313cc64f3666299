"""The verifier's input fold: wide inputs multiplied alone, zeros skipped, the rest in one MSM; same sums, same verdicts."""

from __future__ import annotations

import random

import pytest

from zkmargin.field import R
from zkmargin.groth16 import prove, setup, verify
from zkmargin.groth16.verifier import _FEW_INPUTS, _NARROW_BITS, fixed_inputs_sum, fold_inputs, verify_with_fixed_inputs
from zkmargin.r1cs import ConstraintSystem

WIDE = 2**_NARROW_BITS
"""The narrowest wide input."""

FOLD_TABLE = [
    [],
    [0],
    [5],
    [0, 0, 0, 0, 0, 0],
    [1, 2, 3, 4, 5, 6],
    [R - 1, 7, 0, 9, WIDE - 1, 11],
    [WIDE, 0, 0, WIDE - 1, 3, 0, 1],
    [R - 1, R - 2, WIDE, WIDE + 1, 1, 2, 0],  # exactly _FEW_INPUTS wide ones
    [R - 1, R - 2, WIDE, WIDE + 1, 2**200, 1, 2, 0],  # one more than _FEW_INPUTS: one MSM for all
    [2**253 + 12345] + [10**13 + i for i in range(20)] + [0] * 5,  # a snapshot's shape: digest, prices, padding
]


def _points(backend, n: int, seed: int = 1) -> list:
    rng = random.Random(seed)
    return [backend.g1_mul(backend.g1_generator(), rng.randrange(1, R)) for _ in range(n)]


@pytest.mark.parametrize("scalars", FOLD_TABLE)
def test_fold_matches_the_sum_of_products(backend, scalars):
    points = _points(backend, len(scalars))
    expected = backend.g1_identity()
    for point, k in zip(points, scalars):
        expected = backend.g1_add(expected, backend.g1_mul(point, k))
    # Twice: the second fold multiplies wide inputs from the backend's cached tables.
    assert backend.g1_eq(fold_inputs(points, scalars, backend), expected)
    assert backend.g1_eq(fold_inputs(points, scalars, backend), expected)


def test_the_table_covers_every_branch_of_the_fold():
    wide_counts = {sum(1 for k in s if k >= WIDE) for s in FOLD_TABLE if len(s) > _FEW_INPUTS}
    assert {0, 1, _FEW_INPUTS, _FEW_INPUTS + 1} <= wide_counts
    assert any(len(s) <= _FEW_INPUTS for s in FOLD_TABLE)


def _many_inputs_circuit(mode: str, values: list[int] | None, n: int):
    """n public inputs, one constraint on a private square; the builder binds every public input."""
    cs = ConstraintSystem(mode)  # type: ignore[arg-type]
    for i in range(n):
        cs.public_input(f"x{i}", None if values is None else values[i])
    w = cs.private_input("w", None if values is None else 3)
    square = cs.mul(w, w, "square")
    cs.assert_equal(square, 9, "nine")
    return cs


# Per-proof header first (two wide values), then "snapshot" values: wide, zero, boundary and small ones.
VALUES = [R - 1, 2**254, 2**252 + 7, 0, WIDE - 1, WIDE, 0, 10**8, 1, 2**40 + 3]
LEADING = 2


@pytest.fixture(scope="module")
def many_inputs():
    cs = _many_inputs_circuit("check", VALUES, len(VALUES))
    cs.compile()
    return _many_inputs_circuit("setup", None, len(VALUES)).compile(), cs.assignment(), cs.public_values()


def test_each_input_stays_bound_through_the_split_fold(backend, many_inputs):
    compiled, z, public = many_inputs
    assert public == VALUES
    keys = setup(compiled, random.Random(3), backend)
    proof = prove(keys, compiled, z, random.Random(4), backend)
    fixed = fixed_inputs_sum(keys.vk, LEADING, public[LEADING:], backend)
    assert verify(keys.vk, public, proof, backend)
    assert verify_with_fixed_inputs(keys.vk, public[:LEADING], fixed, proof, backend)
    # A wide input, a zero, both sides of the narrow bound and a header input: changing any one fails.
    for index in (2, 3, 4, 5, 0):
        wrong = list(public)
        wrong[index] = (wrong[index] + 1) % R
        assert not verify(keys.vk, wrong, proof, backend), index
        if index >= LEADING:
            wrong_fixed = fixed_inputs_sum(keys.vk, LEADING, wrong[LEADING:], backend)
            assert not verify_with_fixed_inputs(keys.vk, public[:LEADING], wrong_fixed, proof, backend), index
