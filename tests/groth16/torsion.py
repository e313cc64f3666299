"""Keys with a small-order point planted in one query point (#22 item 7), for the zkey, key and CLI tests."""

from __future__ import annotations

import dataclasses

from zkmargin.backends.base import P as FIELD_P
from zkmargin.backends.base import fp2_sqrt, fp_sqrt, g2_rhs
from zkmargin.binfile import G1_LEM, G2_LEM, g1_from_lem, g1_to_lem, g2_from_lem, g2_to_lem
from zkmargin.field import R
from zkmargin.groth16 import zkey as zk_mod
from zkmargin.groth16.serialization import pk_to_bytes


def torsion_points(ark):
    """Pure small-order points of G1 and G2: r * Q for a curve point Q outside the subgroup."""
    def pure(point, add):
        return add(ark.g1_mul(point, R - 1) if add == ark.g1_add else ark.g2_mul(point, R - 1), point)

    x = 0
    while True:
        y = fp_sqrt((x**3 + 4) % FIELD_P)
        if y is not None:
            t1 = pure(ark.g1_from_affine(x, y, subgroup_check=False), ark.g1_add)
            if not ark.g1_is_identity(t1):
                break
        x += 1
    x2 = (0, 0)
    while True:
        x2 = (x2[0] + 1, 1)
        y2 = fp2_sqrt(g2_rhs(x2))
        if y2 is not None:
            t2 = pure(ark.g2_from_affine(x2, y2, subgroup_check=False), ark.g2_add)
            if not ark.g2_is_identity(t2):
                break
    return t1, t2


def zkey_with_torsion(final, sid: int, index: int, ark) -> bytes:
    """The .zkey bytes with a small-order point added to point index of query section sid."""
    t1, t2 = torsion_points(ark)
    size, decode, encode, torsion, add = ((G2_LEM, g2_from_lem, g2_to_lem, t2, ark.g2_add) if sid == 7 else
                                          (G1_LEM, g1_from_lem, g1_to_lem, t1, ark.g1_add))
    body = bytearray(final.sections[sid])
    point = decode(bytes(body[index * size : (index + 1) * size]), ark, "t", False)
    body[index * size : (index + 1) * size] = encode(add(point, torsion), ark)
    return zk_mod.zkey_to_bytes(zk_mod.replace(final, sections={**final.sections, sid: bytes(body)}), ark)


def pk_with_torsion(pk, query: str, index: int, ark) -> bytes:
    """The binary key with a small-order point added to one query point (what a venue handing out keys could do)."""
    t1, t2 = torsion_points(ark)
    points = list(getattr(pk, query))
    points[index] = ark.g2_add(points[index], t2) if query == "b_g2_query" else ark.g1_add(points[index], t1)
    return pk_to_bytes(dataclasses.replace(pk, **{query: tuple(points)}), ark)
