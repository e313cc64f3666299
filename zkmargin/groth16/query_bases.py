"""A proving key's query points prepared once for the curve backend's MSM, cached per key object.

The five MSMs of every proof run over the same points; preparing them (for the native
MSM: Montgomery-form affine coordinates) costs more than an MSM when done from point
objects (one field inversion a point), so it happens once per key, and a key read from
its file is prepared straight from the file's uncompressed encoding.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass

from zkmargin.backends.base import G1_UNCOMPRESSED, Bases, CurveBackend
from zkmargin.groth16.data_structures import ProvingKey


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


def query_bases(pk: ProvingKey, backend: CurveBackend) -> QueryBases:
    """The key's prepared queries for this backend, prepared now unless this key object already has them."""
    entry = _cache.get(id(pk))
    if entry is not None and entry[0]() is pk and entry[1] == backend.name:
        return entry[2]
    return _remember(pk, backend, _prepare(pk, backend, {}))


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
    # The entry goes when the key object does; the identity check above guards against a reused id.

    def forget(_ref: weakref.ref[ProvingKey]) -> None:
        _cache.pop(key, None)

    _cache[key] = (weakref.ref(pk, forget), backend.name, bases)
    return bases
