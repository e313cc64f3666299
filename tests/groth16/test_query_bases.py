"""A proving key's prepared MSM bases: prepared once per key object, never served to another key, and
prepared from the key file's own bytes the same as from its points."""

from __future__ import annotations

import gc
import random

from tests.groth16.circuits import compiled_cube, cube_witness
from zkmargin.groth16 import query_bases as qb
from zkmargin.groth16.generator import setup
from zkmargin.groth16.prover import prove
from zkmargin.groth16.serialization import pk_from_bytes, pk_to_bytes
from zkmargin.groth16.verifier import verify


def test_each_key_object_gets_its_own_bases_and_proves_with_them(backend) -> None:
    compiled = compiled_cube()
    first = setup(compiled, rng=random.Random(1), backend=backend)
    second = setup(compiled, rng=random.Random(2), backend=backend)
    assert qb.query_bases(first, backend) is qb.query_bases(first, backend)
    assert qb.query_bases(second, backend) is not qb.query_bases(first, backend)
    z, public = cube_witness(3)
    for pk in (first, second):
        proof = prove(pk, compiled, z, rng=random.Random(5), backend=backend)
        assert verify(pk.vk, public, proof, backend)
        # A proof made with the other key's bases would not verify under this key.
        other = second if pk is first else first
        assert not verify(other.vk, public, proof, backend)


def test_a_dead_key_leaves_no_bases_behind(backend) -> None:
    pk = setup(compiled_cube(), rng=random.Random(3), backend=backend)
    qb.query_bases(pk, backend)
    key = id(pk)
    assert key in qb._cache
    del pk
    gc.collect()
    assert key not in qb._cache


def test_a_key_read_from_its_file_is_prepared_from_those_bytes(backend) -> None:
    compiled = compiled_cube()
    pk = setup(compiled, rng=random.Random(4), backend=backend)
    loaded = pk_from_bytes(pk_to_bytes(pk, backend), backend)
    from_file = qb.query_bases(loaded, backend)
    from_points = qb._prepare(loaded, backend, {})
    for name in ("a", "b_g1", "b_g2", "l", "h_low", "h_high"):
        mine, theirs = getattr(from_file, name), getattr(from_points, name)
        assert getattr(mine, "prepared", None) == getattr(theirs, "prepared", None), name
    z, public = cube_witness(4)
    assert verify(loaded.vk, public, prove(loaded, compiled, z, rng=random.Random(6), backend=backend), backend)


def test_setup_hands_over_bases_equal_to_its_points(backend) -> None:
    # setup computes each query's points and their MSM form together (natively in one pass): that form must be
    # exactly what preparing the key's points afresh gives, halves of H included.
    pk = setup(compiled_cube(), rng=random.Random(9), backend=backend)
    handed_over = qb.query_bases(pk, backend)
    afresh = qb._prepare(pk, backend, {})
    assert handed_over.h_split == afresh.h_split
    for name in ("a", "b_g1", "b_g2", "l", "h_low", "h_high"):
        mine, theirs = getattr(handed_over, name), getattr(afresh, name)
        assert getattr(mine, "prepared", None) == getattr(theirs, "prepared", None), name


def test_large_setups_match_across_backends_point_for_point() -> None:
    # The native batch multiplication (64 scalars and more) against py_ecc's, on a key big enough to use it.
    from zkmargin.backends import get_backend
    from zkmargin.groth16.serialization import pk_to_bytes
    from zkmargin.r1cs import ConstraintSystem

    cs = ConstraintSystem("setup")
    x = cs.private_input("x")
    out = cs.public_input("out")
    acc = x
    for j in range(80):
        acc = cs.mul(acc, acc + j, f"chain{j}")
    cs.assert_equal(acc, out, "out")
    compiled = cs.compile()
    ark, ref = get_backend("arkworks"), get_backend("py_ecc")
    assert pk_to_bytes(setup(compiled, random.Random(3), ark), ark) == pk_to_bytes(setup(compiled, random.Random(3), ref), ref)
