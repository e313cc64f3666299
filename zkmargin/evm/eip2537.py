"""EIP-2537 encodings of BLS12-381 points, as the Prague precompiles (0x0b .. 0x11) read them.

A base-field element is 64 bytes big-endian whose top 16 bytes are zero; a G1
point is x || y (128 bytes), a G2 point x.c0 || x.c1 || y.c0 || y.c1 (256 bytes),
the identity is all zeros. A scalar for G1MSM is 32 bytes big-endian. The
contracts also keep vk points packed (48 bytes a coordinate, 96 a G1 point) to
stay far below the 24 KiB code-size limit, and pad them when calling a precompile.
"""

from __future__ import annotations

from typing import Any

from zkmargin.backends import CurveBackend
from zkmargin.backends.base import FP_BYTES
from zkmargin.errors import MalformedKeyError
from zkmargin.groth16.data_structures import Proof

FP_PADDED_BYTES = 64
G1_BYTES = 2 * FP_PADDED_BYTES
G2_BYTES = 4 * FP_PADDED_BYTES
PACKED_G1_BYTES = 2 * FP_BYTES
PROOF_BYTES = 2 * G1_BYTES + G2_BYTES
"""A || B || C, the proof argument of the generated verifiers."""


def fp_to_eip2537(value: int) -> bytes:
    """One base-field element: 64 bytes big-endian, top 16 zero."""
    return value.to_bytes(FP_PADDED_BYTES, "big")


def g1_to_eip2537(point: Any, backend: CurveBackend) -> bytes:
    """A G1 point as the precompiles read it (128 bytes; the identity is all zeros)."""
    affine = backend.g1_to_affine(point)
    if affine is None:
        return bytes(G1_BYTES)
    return fp_to_eip2537(affine[0]) + fp_to_eip2537(affine[1])


def g2_to_eip2537(point: Any, backend: CurveBackend) -> bytes:
    """A G2 point as the precompiles read it (256 bytes, Fp2 as c0 || c1; the identity is all zeros)."""
    affine = backend.g2_to_affine(point)
    if affine is None:
        return bytes(G2_BYTES)
    (x0, x1), (y0, y1) = affine
    return b"".join(fp_to_eip2537(v) for v in (x0, x1, y0, y1))


def g1_packed(point: Any, backend: CurveBackend) -> bytes:
    """x || y in 48 bytes each (96 bytes): the contracts' storage form of a vk point."""
    affine = backend.g1_to_affine(point)
    if affine is None:
        # The packed form has no identity; check_verifying_key refuses such keys before we get here.
        raise MalformedKeyError("a verification-key point is the identity")
    return affine[0].to_bytes(FP_BYTES, "big") + affine[1].to_bytes(FP_BYTES, "big")


def proof_to_eip2537(proof: Proof, backend: CurveBackend) -> bytes:
    """A || B || C in EIP-2537 encoding (512 bytes), the proof argument of the generated contracts."""
    return g1_to_eip2537(proof.a, backend) + g2_to_eip2537(proof.b, backend) + g1_to_eip2537(proof.c, backend)
