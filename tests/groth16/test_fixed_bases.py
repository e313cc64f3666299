"""Fixed-base tables for a proving key's queries (zkmargin.native._msm's g1_table / g1_msm_table, query_bases' budget):
the same sums as the plain MSM, the curve library and py_ecc on edge scalars (0, 1, r - 1, r, r + 1, 2^256 - 1),
points at infinity, equal and opposite points and every window width; the budget from the argument or
$ZKMARGIN_PRECOMPUTE_MB; byte-identical proofs with no, some and all tables."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.groth16.circuits import compiled_cube, cube_witness
from zkmargin.backends import get_backend
from zkmargin.errors import ZkMarginError
from zkmargin.field import R
from zkmargin.groth16 import prove, setup
from zkmargin.groth16 import query_bases as query_bases_module
from zkmargin.groth16.data_structures import ProvingKey
from zkmargin.groth16.query_bases import (
    DEFAULT_PRECOMPUTE_MB,
    PRECOMPUTE_ENV,
    TABLES_AT_PROOF,
    key_table_megabytes,
    precompute,
    precompute_budget_mb,
    proving_bases,
    query_bases,
    table_bytes,
    table_window,
)
from zkmargin.groth16.serialization import proof_to_bytes
from zkmargin.r1cs.builder import CompiledR1CS

native = pytest.importorskip("zkmargin.native._msm", reason="the native MSM is built on x86-64 with BMI2/ADX only")

RNG = random.Random(2029)
ARK = get_backend("arkworks")
EDGES = [0, 1, R - 1, R, R + 1, 2**256 - 1, 2**64 - 1, 2**128]


def _groups() -> list[tuple]:
    return [
        ("g1", ARK.g1_generator(), ARK.g1_mul, ARK.g1_msm, ARK.g1_identity(), native.g1_points, native.g1_msm,
         native.g1_table, native.g1_msm_table),
        ("g2", ARK.g2_generator(), ARK.g2_mul, ARK.g2_msm, ARK.g2_identity(), native.g2_points, native.g2_msm,
         native.g2_table, native.g2_msm_table),
    ]


def _case_points(generator: Any, mul: Callable[[Any, int], Any], identity: Any) -> list:
    p = mul(generator, RNG.randrange(1, R))
    q = mul(generator, RNG.randrange(1, R))
    # At infinity, equal, opposite, and random points.
    return [identity, p, p, -p, q, generator] + [mul(generator, RNG.randrange(1, R)) for _ in range(6)]


@pytest.mark.parametrize("group", _groups(), ids=lambda g: g[0])
def test_table_msm_equals_the_plain_msm_and_the_curve_library_on_edge_scalars(group: tuple) -> None:
    _, generator, mul, library_msm, identity, points, msm, table, msm_table = group
    bases = _case_points(generator, mul, identity)
    prepared = points(b"".join(p.to_xy_bytes_be() for p in bases))
    scalar_sets = [
        [RNG.choice(EDGES) for _ in bases],
        [RNG.randrange(2**256) for _ in bases],
        [0] * len(bases),
        [5, 7, 7, 7, 0, 1, 0, 0, 0, 0, 0, 0],  # p and -p with one scalar cancel: the sum is 5 identity + 7 p + 1 g
        [RNG.randrange(2**RNG.randrange(1, 255)) for _ in bases],
    ]
    tables = {c: table(prepared, c) for c in (2, 3, 5, 8, 11, 13, 16, 20)}
    for scalars in scalar_sets:
        raw = b"".join(k.to_bytes(32, "little") for k in scalars)
        expected = msm(prepared, raw)
        assert expected == library_msm(bases, [k % R for k in scalars]).to_xy_bytes_be()
        for c, t in tables.items():
            assert msm_table(t, c, raw) == expected, (c, scalars)


@pytest.mark.parametrize("group", _groups(), ids=lambda g: g[0])
def test_table_msm_equals_the_pure_python_reference(group: tuple) -> None:
    name, generator, mul, _, identity, points, _, table, msm_table = group
    ref = get_backend("py_ecc")
    logs = [RNG.randrange(1, R) for _ in range(5)]
    scalars = [R - 1, 1, RNG.randrange(R), 2**256 - 1, 0]
    bases = [mul(generator, k) for k in logs]
    prepared = points(b"".join(p.to_xy_bytes_be() for p in bases))
    raw = b"".join(k.to_bytes(32, "little") for k in scalars)
    ref_generator = ref.g1_generator() if name == "g1" else ref.g2_generator()
    ref_mul = ref.g1_mul if name == "g1" else ref.g2_mul
    expected = ref_mul(ref_generator, sum(k * x for k, x in zip(scalars, logs)) % R)
    to_bytes = ref.g1_to_bytes if name == "g1" else ref.g2_to_bytes
    got = (ARK.g1_from_bytes if name == "g1" else ARK.g2_from_bytes)(
        to_bytes(expected, compressed=False), subgroup_check=False)
    assert msm_table(table(prepared, 9), 9, raw) == got.to_xy_bytes_be()


def test_many_points_cross_the_batched_rounds_and_the_build_blocks() -> None:
    # More than one 512-point build block and enough digits for batched affine rounds.
    base = [ARK.g1_mul(ARK.g1_generator(), RNG.randrange(1, R)) for _ in range(40)]
    bases = [base[i % 40] for i in range(1100)]
    prepared = native.g1_points(b"".join(p.to_xy_bytes_be() for p in bases))
    raw = b"".join(RNG.randrange(R if i % 3 else 2**20).to_bytes(32, "little") for i in range(1100))
    assert native.g1_msm_table(native.g1_table(prepared, 12), 12, raw) == native.g1_msm(prepared, raw)


def test_bad_table_arguments_are_value_errors() -> None:
    prepared = native.g1_points(ARK.g1_generator().to_xy_bytes_be())
    for c in (1, 21):
        with pytest.raises(ValueError, match="window"):
            native.g1_table(prepared, c)
    table = native.g1_table(prepared, 8)
    with pytest.raises(ValueError, match="table of window"):
        native.g1_msm_table(table, 9, bytes(32))
    with pytest.raises(ValueError, match="table of window"):
        native.g1_msm_table(table, 8, bytes(64))


def test_budget_comes_from_the_argument_then_the_environment(monkeypatch) -> None:
    monkeypatch.delenv(PRECOMPUTE_ENV, raising=False)
    assert precompute_budget_mb() == DEFAULT_PRECOMPUTE_MB
    monkeypatch.setenv(PRECOMPUTE_ENV, "12.5")
    assert precompute_budget_mb() == 12.5
    assert precompute_budget_mb(0) == 0
    for bad in ("lots", "-1", "nan", "inf"):
        monkeypatch.setenv(PRECOMPUTE_ENV, bad)
        with pytest.raises(ZkMarginError, match="megabytes"):
            precompute_budget_mb()
    with pytest.raises(ZkMarginError, match="megabytes"):
        precompute_budget_mb(-3)


def test_window_choice_fits_the_budget() -> None:
    assert table_window(1000, 0, 96) is None
    for budget in (10**5, 10**6, 10**7, 10**9):
        window = table_window(1000, budget, 96)
        if window is not None:
            assert 1000 * (256 // window + 1) * 96 <= budget
    # Plenty of memory: the cheapest modelled window; a tight budget forces a wider one or none.
    assert table_window(16384, 2**40, 96) in (12, 13)
    assert table_window(16384, 16384 * 18 * 96, 96) >= 14


@pytest.fixture(scope="module")
def material() -> tuple[CompiledR1CS, ProvingKey, list[int]]:
    compiled = compiled_cube()
    pk = setup(compiled, random.Random(51), ARK)
    z, _ = cube_witness(3)
    return compiled, pk, z


def test_proofs_are_byte_identical_with_no_some_and_all_tables(material) -> None:
    compiled, pk, z = material
    plain = query_bases(pk, ARK)
    # Just enough for H's first half at the widest window: some queries get tables, the others not.
    some = len(plain.h_low) * (256 // 16 + 1) * 96 * 1.01 / 2**20
    proofs, tabled = [], []
    for budget in (0, some, DEFAULT_PRECOMPUTE_MB):
        precompute(pk, ARK, budget)
        proofs.append(proof_to_bytes(prove(pk, compiled, z, random.Random(7), ARK, precompute_mb=budget), ARK))
        bases = proving_bases(pk, ARK, budget)
        assert table_bytes(bases) <= budget * 2**20
        tabled.append(sum(getattr(bases, name).table is not None for name in ("a", "b_g1", "b_g2", "l", "h_low", "h_high")))
    assert tabled[0] == 0 and 0 < tabled[1] < tabled[2] == 6
    assert len(set(proofs)) == 1
    assert precompute(pk, ARK, 0) == 0 and precompute(pk, ARK, DEFAULT_PRECOMPUTE_MB) > 0


def test_the_documented_sizes_come_from_the_same_plan_as_the_tables(material) -> None:
    compiled, pk, _ = material
    plain = query_bases(pk, ARK)
    for budget in (DEFAULT_PRECOMPUTE_MB, len(plain.h_low) * 17 * 96 * 1.5 / 2**20, 0):
        built = precompute(pk, ARK, budget) / 2**20
        assert key_table_megabytes(compiled.num_variables, compiled.num_public, pk.domain_size, budget) == built


def test_tables_come_at_a_keys_many_th_request_not_before(material) -> None:
    compiled, _, z = material
    pk = setup(compiled, random.Random(52), ARK)  # a key no other test has asked for
    for _ in range(TABLES_AT_PROOF - 1):
        # a few proofs in a process (the CLI, a test) never pay for the tables
        assert table_bytes(proving_bases(pk, ARK, DEFAULT_PRECOMPUTE_MB)) == 0
    second = proving_bases(pk, ARK, DEFAULT_PRECOMPUTE_MB)
    assert table_bytes(second) > 0 and proving_bases(pk, ARK, DEFAULT_PRECOMPUTE_MB) is second
    # A new budget for a key that already had tables rebuilds at once, within it.
    smaller = proving_bases(pk, ARK, 0.001)
    assert table_bytes(smaller) <= 0.001 * 2**20
    assert proof_to_bytes(prove(pk, compiled, z, random.Random(3), ARK), ARK) == proof_to_bytes(
        prove(pk, compiled, z, random.Random(3), ARK, precompute_mb=0), ARK)


def test_two_threads_at_a_keys_tables_build_them_once(material, monkeypatch) -> None:
    compiled, _, _ = material
    pk = setup(compiled, random.Random(53), ARK)  # a key no other test has asked for
    for _ in range(TABLES_AT_PROOF - 1):
        proving_bases(pk, ARK, DEFAULT_PRECOMPUTE_MB)
    builds = []
    real_build = query_bases_module._with_tables

    def slow_counted_build(bases: Any, budget_bytes: float) -> Any:
        builds.append(threading.get_ident())
        time.sleep(0.3)  # wide enough that an unguarded second thread decides to build before the first is done
        return real_build(bases, budget_bytes)

    monkeypatch.setattr(query_bases_module, "_with_tables", slow_counted_build)
    start = threading.Barrier(2)
    got: list[Any] = []

    def request() -> None:
        start.wait()
        got.append(proving_bases(pk, ARK, DEFAULT_PRECOMPUTE_MB))

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Both requests are the key's TABLES_AT_PROOF-th or later: one build, both get its tables.
    assert len(builds) == 1
    assert len(got) == 2 and got[0] is got[1] and table_bytes(got[0]) > 0
