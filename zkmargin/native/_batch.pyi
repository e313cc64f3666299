"""Types of the threaded batch kernels (zkmargin/native/_batch.c): points as big-endian affine x || y, weights as
32-byte little-endian values or 16-byte GLV halves a || b (w = a + b * (-z^2) mod r)."""

from collections.abc import Sequence

def decode_proofs(data: bytes, workers: int) -> tuple[bytes, bytes]: ...
def weighted_check(
    a: bytes, b: bytes, c: bytes, weights: bytes, pairs: Sequence[tuple[bytes, bytes]], delta: bytes, workers: int
) -> bool: ...
