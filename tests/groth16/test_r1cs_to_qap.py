"""The compiled constraint evaluation agrees with the row-by-row reference, names the same broken row, and checks its input."""

from __future__ import annotations

import random

import pytest

from zkmargin import ntt
from zkmargin.errors import UnsatisfiedError
from zkmargin.field import R
from zkmargin.groth16.r1cs_to_qap import witness_evaluations, witness_evaluations_reference
from zkmargin.r1cs import ConstraintSystem

pytestmark = pytest.mark.skipif(not ntt.NATIVE, reason="the compiled kernel is not installed")


def mixed_circuit(mode: str, seed: int = 3) -> ConstraintSystem:
    """Coefficients 1, r - 1, powers of two and random field elements; bits, products, a public input."""
    rng = random.Random(seed)
    has = mode != "setup"
    cs = ConstraintSystem(mode)  # type: ignore[arg-type]
    out = cs.public_input("out", 0 if has else None)
    x = cs.private_input("x", rng.randrange(R) if has else None)
    v = cs.private_input("v", rng.randrange(2**16) if has else None)
    cs.to_bits(v, 16, "v_bits")
    k = R - 1 - rng.randrange(2**64)
    acc = x
    for i in range(8):
        acc = cs.mul(acc * k + i, x - v * (i + 2), f"chain{i}")
    if has:
        cs.set_value(out, acc.value)  # type: ignore[arg-type]
    cs.assert_equal(acc, out, "out")
    return cs


def solved(seed: int = 3) -> tuple:
    cs = mixed_circuit("check", seed)
    compiled = cs.compile()
    return compiled, cs.assignment()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kernel_matches_reference(seed):
    compiled, z = solved(seed)
    assert witness_evaluations(compiled, z) == witness_evaluations_reference(compiled, z)


@pytest.mark.parametrize("index", [2, 3, 10, -1])
def test_a_broken_row_is_named_like_the_reference(index):
    compiled, z = solved()
    bad = list(z)
    bad[index] = (bad[index] + 1) % R
    with pytest.raises(UnsatisfiedError) as reference:
        witness_evaluations_reference(compiled, bad)
    with pytest.raises(UnsatisfiedError) as kernel:
        witness_evaluations(compiled, bad)
    assert str(kernel.value) == str(reference.value)


def test_assignment_values_not_below_r_are_refused():
    compiled, z = solved()
    bad = list(z)
    bad[2] += R  # the same residue: the reference would accept it, the kernel must not
    with pytest.raises(ValueError, match="not below r"):
        witness_evaluations(compiled, bad)


def test_malformed_sparse_rows_are_refused():
    compiled, z = solved()
    (rows, cols, ids, table), b, c = compiled.sparse_rows
    n = 1 << 5
    zb = ntt.to_bytes(z)
    wrong_column = (len(z) + 5).to_bytes(8, "little") + cols[8:]
    for bad_a, message in [
        ((rows, wrong_column, ids, table), "outside"),
        ((rows[:-8] + (10**6).to_bytes(8, "little"), cols, ids, table), "malformed"),
        ((rows, cols, ids, R.to_bytes(32, "little") + table[32:]), "coefficient 0"),
    ]:
        with pytest.raises(ValueError, match=message):
            ntt.kernel.evaluate(zb, n, compiled.num_public + 1, *bad_a, *b, *c)
    with pytest.raises(ValueError, match="fit the domain"):
        ntt.kernel.evaluate(zb, 2, compiled.num_public + 1, rows, cols, ids, table, *b, *c)
