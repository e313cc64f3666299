"""Types of the threaded batch kernels (zkmargin/native/_batch.c): points as big-endian affine x || y, weights as 32-byte little-endian."""

from collections.abc import Sequence

def decode_proofs(data: bytes, workers: int) -> tuple[bytes, bytes]: ...
def weighted_check(
    a: bytes, b: bytes, c: bytes, weights: bytes, pairs: Sequence[tuple[bytes, bytes]], delta: bytes, workers: int
) -> bool: ...
