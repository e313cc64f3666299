"""A proving key's query points prepared once for the curve backend's MSM, cached per key object.

The five MSMs of every proof run over the same points; preparing them (for the native
MSM: Montgomery-form affine coordinates) costs more than an MSM when done from point
objects (one field inversion a point), so it happens once per key, and a key read from
its file is prepared straight from the file's uncompressed encoding.

Fixed-base tables: with the native MSM, proving_bases gives each query a table of its points' multiples
2^(c j) P (zkmargin/native/_msm_group.h's msm_fixed), built at the key's TABLES_AT_PROOF-th proof in a process (or by
precompute()), within a
memory budget: the precompute_mb argument, else the ZKMARGIN_PRECOMPUTE_MB environment variable, else
DEFAULT_PRECOMPUTE_MB. Proofs are byte-identical with and without tables; 0 turns them off.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from zkmargin.backends.base import G1_UNCOMPRESSED, Bases, CurveBackend
from zkmargin.errors import ZkMarginError
from zkmargin.groth16.data_structures import ProvingKey

PRECOMPUTE_ENV = "ZKMARGIN_PRECOMPUTE_MB"
DEFAULT_PRECOMPUTE_MB = 256.0
"""Fits a laptop: all of cross-n64-k8's tables (~175 MB); a larger key gets tables for its queries in
_TABLE_ORDER until the budget is spent."""
TABLES_AT_PROOF = 16
"""Building the tables costs about ten MSMs (two proofs' worth) and saves about a tenth of a proof's MSM time
(bench/fixed_bases.py: 1.10x MSM, 1.06x prove on cross-n64-k8), so they pay back after ~20 proofs with one key:
a process proving a few times (the CLI, a test) never builds them, a prover serving a snapshot does."""
_TABLE_ORDER = ("h_low", "h_high", "b_g2", "a", "b_g1", "l")
"""H's scalars are full-width (the most windows, so the most saved), then the G2 query (dearer additions)."""
_BUCKET_COST = 4.5
"""zkmargin/native/_msm.c's BUCKET_COST: a bucket's combination in batched affine additions."""
_MAX_WINDOW = 16


@dataclass(frozen=True)
class QueryBases:
    """A, B (G1 and G2), L and the two halves of H (two threads share the H MSM)."""

    a: Bases
    b_g1: Bases
    b_g2: Bases
    l: Bases  # noqa: E741
    h_low: Bases
    h_high: Bases
    h_split: int
    """Number of H points in h_low."""


_cache: dict[int, tuple[weakref.ref, str, QueryBases]] = {}
_tabled: dict[int, tuple[QueryBases, float, QueryBases | int]] = {}
"""id(pk) -> (the prepared bases, the budget in MB, the bases with tables within it once built, else the number
of requests so far)."""
_key_locks: dict[int, threading.Lock] = {}
"""id(pk) -> the lock held while proving_bases reads that key's _tabled entry and builds: two threads reaching a
key's TABLES_AT_PROOF-th proof together would otherwise both build (seconds of work and twice the memory); the
second finds the first one's tables. One lock a key, so a build does not hold up proofs with other keys."""
_key_locks_lock = threading.Lock()


def precompute_budget_mb(precompute_mb: float | None = None) -> float:
    """The fixed-base table budget: the argument, else $ZKMARGIN_PRECOMPUTE_MB, else DEFAULT_PRECOMPUTE_MB."""
    if precompute_mb is None:
        text = os.environ.get(PRECOMPUTE_ENV)
        if text is None or not text.strip():
            return DEFAULT_PRECOMPUTE_MB
        try:
            precompute_mb = float(text)
        except ValueError:
            raise ZkMarginError(f"{PRECOMPUTE_ENV} must be a number of megabytes, got {text!r}") from None
    if not precompute_mb >= 0 or precompute_mb == float("inf"):
        raise ZkMarginError(f"the precompute budget must be a finite number of megabytes >= 0, got {precompute_mb!r}")
    return float(precompute_mb)


def table_window(points: int, budget_bytes: float, point_bytes: int) -> int | None:
    """The window width whose fixed-base table does the least modelled work for full-width scalars and fits
    the budget (wider windows make smaller tables), or None when none fits."""
    best, best_cost = None, 0.0
    for window in range(2, _MAX_WINDOW + 1):
        rows = 256 // window + 1
        if points * rows * point_bytes > budget_bytes:
            continue
        cost = points * (255 // window + 1) + _BUCKET_COST * 2 ** (window - 1)
        if best is None or cost < best_cost:
            best, best_cost = window, cost
    return best


def query_bases(pk: ProvingKey, backend: CurveBackend) -> QueryBases:
    """The key's prepared queries for this backend, prepared now unless this key object already has them."""
    entry = _cache.get(id(pk))
    if entry is not None and entry[0]() is pk and entry[1] == backend.name:
        return entry[2]
    return _remember(pk, backend, _prepare(pk, backend, {}))


def proving_bases(
    pk: ProvingKey, backend: CurveBackend, precompute_mb: float | None = None, build_tables: bool = False
) -> QueryBases:
    """query_bases with fixed-base tables within the budget (precompute_budget_mb), from the key's
    TABLES_AT_PROOF-th request on, or at once with build_tables."""
    bases = query_bases(pk, backend)
    budget = precompute_budget_mb(precompute_mb)
    with _key_locks_lock:
        lock = _key_locks.setdefault(id(pk), threading.Lock())
    with lock:
        return _tabled_bases(pk, bases, budget, build_tables)


def _tabled_bases(pk: ProvingKey, bases: QueryBases, budget: float, build_tables: bool) -> QueryBases:
    """proving_bases' decision and build, under the key's lock."""
    known = _tabled.get(id(pk))
    if known is not None and known[0] is bases and known[1] == budget and isinstance(known[2], QueryBases):
        return known[2]
    requests = known[2] if known is not None and known[0] is bases and isinstance(known[2], int) else 0
    # A new budget for a key that already had tables rebuilds at once, within it.
    rebuild = known is not None and known[0] is bases and isinstance(known[2], QueryBases)
    if not build_tables and not rebuild and requests + 1 < TABLES_AT_PROOF:
        _tabled[id(pk)] = (bases, budget, requests + 1)
        return bases
    with_tables = _with_tables(bases, budget * 2**20)
    _tabled[id(pk)] = (bases, budget, with_tables)
    return with_tables


def precompute(pk: ProvingKey, backend: CurveBackend, precompute_mb: float | None = None) -> int:
    """Build the key's fixed-base tables now (at load or setup) rather than at its TABLES_AT_PROOF-th proof; their bytes."""
    return table_bytes(proving_bases(pk, backend, precompute_mb, build_tables=True))


def table_bytes(bases: QueryBases) -> int:
    """Memory the fixed-base tables of these bases take."""
    return sum(len(getattr(getattr(bases, name), "table", None) or b"") for name in _TABLE_ORDER)


def plan_tables(queries: Sequence[tuple[str, int, int]], budget_bytes: float) -> dict[str, int]:
    """Window widths for (name, points, point bytes) queries, taken in order, each the cheapest that fits what
    the ones before it left; a query that no table fits is left out."""
    plan = {}
    for name, points, point_bytes in queries:
        window = table_window(points, budget_bytes, point_bytes) if points else None
        if window is not None:
            plan[name] = window
            budget_bytes -= points * (256 // window + 1) * point_bytes
    return plan


def key_table_megabytes(num_variables: int, num_public: int, domain_size: int, budget_mb: float) -> float:
    """Megabytes of the tables a key of this shape gets within budget_mb (what docs/speed.md tabulates)."""
    sizes = {"a": num_variables, "b_g1": num_variables, "b_g2": num_variables, "l": num_variables - num_public - 1,
             "h_low": (domain_size - 1) // 2, "h_high": domain_size - 1 - (domain_size - 1) // 2}
    queries = [(name, sizes[name], 192 if name == "b_g2" else 96) for name in _TABLE_ORDER]
    plan = plan_tables(queries, budget_mb * 2**20)
    return sum(sizes[name] * (256 // window + 1) * (192 if name == "b_g2" else 96)
               for name, window in plan.items()) / 2**20


def _with_tables(bases: QueryBases, budget_bytes: float) -> QueryBases:
    """bases with a table for each query in _TABLE_ORDER that still fits what the ones before it left."""
    tabled = [name for name in _TABLE_ORDER if hasattr(getattr(bases, name), "with_table")]
    plan = plan_tables([(name, len(getattr(bases, name)), getattr(bases, name).point_bytes) for name in tabled],
                       budget_bytes)
    # Building releases the GIL: two queries at a time.
    with ThreadPoolExecutor(max_workers=2) as pool:
        built = dict(zip(plan, pool.map(lambda item: getattr(bases, item[0]).with_table(item[1]), plan.items())))
    return replace(bases, **built) if built else bases


def remember_bases(pk: ProvingKey, backend: CurveBackend, bases: QueryBases) -> None:
    """Bases the caller made together with the key's points (setup computes both at once)."""
    _remember(pk, backend, bases)


def prepare_from_uncompressed(pk: ProvingKey, backend: CurveBackend, sections: Mapping[str, bytes]) -> None:
    """Prepare the key's queries from its own ZCash-uncompressed sections (a_query, b_g1_query, b_g2_query,
    h_query, l_query), which the caller has decoded into pk and checked."""
    _remember(pk, backend, _prepare(pk, backend, sections))


def _prepare(pk: ProvingKey, backend: CurveBackend, encoded: Mapping[str, bytes]) -> QueryBases:
    split = len(pk.h_query) // 2
    h = encoded.get("h_query")
    return QueryBases(
        a=backend.g1_bases(pk.a_query, encoded.get("a_query")),
        b_g1=backend.g1_bases(pk.b_g1_query, encoded.get("b_g1_query")),
        b_g2=backend.g2_bases(pk.b_g2_query, encoded.get("b_g2_query")),
        l=backend.g1_bases(pk.l_query, encoded.get("l_query")),
        h_low=backend.g1_bases(pk.h_query[:split], h[: split * G1_UNCOMPRESSED] if h is not None else None),
        h_high=backend.g1_bases(pk.h_query[split:], h[split * G1_UNCOMPRESSED :] if h is not None else None),
        h_split=split,
    )


def _remember(pk: ProvingKey, backend: CurveBackend, bases: QueryBases) -> QueryBases:
    key = id(pk)
    # The entries go when the key object does; the identity checks above guard against a reused id.

    def forget(_ref: weakref.ref[ProvingKey]) -> None:
        _cache.pop(key, None)
        _tabled.pop(key, None)
        _key_locks.pop(key, None)

    _cache[key] = (weakref.ref(pk, forget), backend.name, bases)
    _tabled.pop(key, None)
    return bases
