"""iden3's binary container (.r1cs, .ptau, .zkey) and ffjavascript's conventions for BLS12-381.

Container: 4-byte magic, u32 version, u32 section count, then sections of
(u32 id, u64 size, body), all little-endian. Points inside .ptau and .zkey are
affine "LEM": every Fp coordinate little-endian in Montgomery form (x * 2^384
mod p), G2 as x.c0, x.c1, y.c0, y.c1; the identity is all zero bytes. Hashes
(transcripts, circuit hash) are BLAKE2b-512 over ZCash uncompressed encodings.

Proofs of knowledge use ffjavascript's ChaCha20 stream (seeded by 8 big-endian
words of a hash) and its ``fromRng`` samplers, which read the drawn words as a
Montgomery form; reproducing them bit for bit is what lets snarkjs and us check
each other's contributions and beacons.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from zkmargin.backends import CurveBackend
from zkmargin.backends.base import P, encode_g1, encode_g2, fp2_sqrt, fp_sqrt, g2_rhs, larger_fp2
from zkmargin.errors import EncodingError
from zkmargin.field import R

FQ_BYTES, FR_BYTES = 48, 32
G1_LEM, G2_LEM = 2 * FQ_BYTES, 4 * FQ_BYTES
_FQ_MONT = pow(2, 8 * FQ_BYTES, P)
_FQ_MONT_INV = pow(_FQ_MONT, -1, P)
FR_MONT = pow(2, 8 * FR_BYTES, R)
FR_MONT_INV = pow(FR_MONT, -1, R)
COFACTOR_G1 = 0x396C8C005555E1568C00AAAB0000AAAB
COFACTOR_G2 = int(
    "5d543a95414e7f1091d50792876a202cd91de4547085abaa68a205b2e5a7ddfa628f1cb4d9e82ef21537e293a6691ae1616"
    "ec6e786f0c70cf1c38e31c7238e5", 16,
)


# ----- container -------------------------------------------------------------------
class BinFile:
    """A parsed container: the raw bytes and each section's (offset, size)."""

    def __init__(self, data: bytes, magic: str, what: str, max_version: int = 2) -> None:
        self.data = memoryview(data)
        self.what = what
        if len(data) < 12 or bytes(data[:4]) != magic.encode():
            raise EncodingError(f"{what}: not a {magic} file (bad magic bytes)")
        version, count = struct.unpack_from("<II", data, 4)
        if not 1 <= version <= max_version:
            raise EncodingError(f"{what}: unsupported {magic} version {version}")
        self.sections: dict[int, list[tuple[int, int]]] = {}
        pos = 12
        for _ in range(count):
            if pos + 12 > len(data):
                raise EncodingError(f"{what}: truncated (section header past the end of the file)")
            sid, size = struct.unpack_from("<IQ", data, pos)
            pos += 12
            if pos + size > len(data):
                raise EncodingError(f"{what}: truncated (section {sid} needs {size} bytes, {len(data) - pos} left)")
            self.sections.setdefault(sid, []).append((pos, size))
            pos += size
        if pos != len(data):
            raise EncodingError(f"{what}: {len(data) - pos} trailing bytes after the last section")

    def has(self, sid: int) -> bool:
        """Whether section sid is present."""
        return sid in self.sections

    def section(self, sid: int, size: int | None = None) -> memoryview:
        """The body of the unique section sid, optionally checking its exact size."""
        found = self.sections.get(sid)
        if not found:
            raise EncodingError(f"{self.what}: section {sid} is missing")
        if len(found) > 1:
            raise EncodingError(f"{self.what}: section {sid} appears {len(found)} times")
        offset, length = found[0]
        if size is not None and length != size:
            raise EncodingError(f"{self.what}: section {sid} has {length} bytes, expected {size}")
        return self.data[offset : offset + length]


class Reader:
    """Sequential little-endian reads inside one section, with errors that name the file."""

    def __init__(self, body: memoryview | bytes, what: str) -> None:
        self.body = body
        self.pos = 0
        self.what = what

    def take(self, size: int) -> bytes:
        """The next size bytes."""
        if self.pos + size > len(self.body):
            raise EncodingError(f"{self.what}: section ends early")
        out = bytes(self.body[self.pos : self.pos + size])
        self.pos += size
        return out

    def u32(self) -> int:
        """A little-endian u32."""
        return struct.unpack("<I", self.take(4))[0]

    def u64(self) -> int:
        """A little-endian u64."""
        return struct.unpack("<Q", self.take(8))[0]

    def integer(self, size: int) -> int:
        """A little-endian unsigned integer of size bytes."""
        return int.from_bytes(self.take(size), "little")

    def done(self) -> None:
        """Raise unless the whole section was read."""
        if self.pos != len(self.body):
            raise EncodingError(f"{self.what}: {len(self.body) - self.pos} unexpected bytes at the end of a section")


def write_binfile(magic: str, version: int, sections: Sequence[tuple[int, bytes]]) -> bytes:
    """A container with the given sections, in the given order."""
    parts = [magic.encode(), struct.pack("<II", version, len(sections))]
    for sid, body in sections:
        parts.append(struct.pack("<IQ", sid, len(body)))
        parts.append(bytes(body))
    return b"".join(parts)


def u32(value: int) -> bytes:
    """Little-endian u32."""
    return struct.pack("<I", value)


# ----- LEM points --------------------------------------------------------------------
def _fq_from_lem(chunk: bytes, what: str) -> int:
    value = int.from_bytes(chunk, "little")
    if value >= P:
        raise EncodingError(f"{what}: coordinate is not below the field modulus")
    return value * _FQ_MONT_INV % P


def _fq_to_lem(value: int) -> bytes:
    return (value * _FQ_MONT % P).to_bytes(FQ_BYTES, "little")


def g1_from_lem(data: bytes, backend: CurveBackend, what: str, subgroup_check: bool = True) -> Any:
    """A G1 point from 96 LEM bytes (all zeros is the identity)."""
    if not any(data):
        return backend.g1_identity()
    x = _fq_from_lem(data[:FQ_BYTES], what)
    y = _fq_from_lem(data[FQ_BYTES:], what)
    return backend.g1_from_affine(x, y, subgroup_check)


def g2_from_lem(data: bytes, backend: CurveBackend, what: str, subgroup_check: bool = True) -> Any:
    """A G2 point from 192 LEM bytes (all zeros is the identity)."""
    if not any(data):
        return backend.g2_identity()
    c = [_fq_from_lem(data[i : i + FQ_BYTES], what) for i in range(0, G2_LEM, FQ_BYTES)]
    return backend.g2_from_affine((c[0], c[1]), (c[2], c[3]), subgroup_check)


def g1_to_lem(point: Any, backend: CurveBackend) -> bytes:
    """96 LEM bytes of a G1 point."""
    affine = backend.g1_to_affine(point)
    if affine is None:
        return bytes(G1_LEM)
    return _fq_to_lem(affine[0]) + _fq_to_lem(affine[1])


def g2_to_lem(point: Any, backend: CurveBackend) -> bytes:
    """192 LEM bytes of a G2 point."""
    affine = backend.g2_to_affine(point)
    if affine is None:
        return bytes(G2_LEM)
    (x0, x1), (y0, y1) = affine
    return b"".join(_fq_to_lem(c) for c in (x0, x1, y0, y1))


def _list_from_lem(body: memoryview | bytes, size: int, decode: Callable[[bytes], Any], what: str) -> list[Any]:
    if len(body) % size:
        raise EncodingError(f"{what}: size {len(body)} is not a multiple of {size}")
    return [decode(bytes(body[i : i + size])) for i in range(0, len(body), size)]


def g1_list_from_lem(body: memoryview | bytes, backend: CurveBackend, what: str,
                     subgroup_check: bool = True) -> list[Any]:
    """Every G1 point of a section of LEM points."""
    return _list_from_lem(body, G1_LEM, lambda raw: g1_from_lem(raw, backend, what, subgroup_check), what)


def g2_list_from_lem(body: memoryview | bytes, backend: CurveBackend, what: str,
                     subgroup_check: bool = True) -> list[Any]:
    """Every G2 point of a section of LEM points."""
    return _list_from_lem(body, G2_LEM, lambda raw: g2_from_lem(raw, backend, what, subgroup_check), what)


def g1_uncompressed(point: Any, backend: CurveBackend) -> bytes:
    """ZCash uncompressed G1 bytes (what snarkjs hashes)."""
    return encode_g1(backend.g1_to_affine(point), compressed=False)


def g2_uncompressed(point: Any, backend: CurveBackend) -> bytes:
    """ZCash uncompressed G2 bytes (what snarkjs hashes)."""
    return encode_g2(backend.g2_to_affine(point), compressed=False)


def blake2b_512(parts: Iterable[bytes] = ()) -> Any:
    """A BLAKE2b-512 hasher fed with parts."""
    hasher = hashlib.blake2b(digest_size=64)
    for part in parts:
        hasher.update(part)
    return hasher


def format_hash(digest: bytes, title: str) -> str:
    """A 64-byte hash laid out as snarkjs prints it: four lines of four 32-bit words."""
    lines = [title]
    for row in range(4):
        words = [digest[row * 16 + j * 4 : row * 16 + j * 4 + 4].hex() for j in range(4)]
        lines.append("\t\t" + " ".join(words))
    return "\n".join(lines)


# ----- ffjavascript's ChaCha and samplers ----------------------------------------------
_MASK32 = 0xFFFFFFFF


def _rotl(v: int, n: int) -> int:
    return ((v << n) | (v >> (32 - n))) & _MASK32


def _quarter(st: list[int], a: int, b: int, c: int, d: int) -> None:
    st[a] = (st[a] + st[b]) & _MASK32
    st[d] = _rotl(st[d] ^ st[a], 16)
    st[c] = (st[c] + st[d]) & _MASK32
    st[b] = _rotl(st[b] ^ st[c], 12)
    st[a] = (st[a] + st[b]) & _MASK32
    st[d] = _rotl(st[d] ^ st[a], 8)
    st[c] = (st[c] + st[d]) & _MASK32
    st[b] = _rotl(st[b] ^ st[c], 7)


class ChaCha:
    """ChaCha20 block function as a stream of 32-bit words, counter in words 12..15 (ffjavascript's RNG)."""

    def __init__(self, seed: Sequence[int]) -> None:
        if len(seed) != 8:
            raise ValueError("ChaCha needs 8 seed words")
        self.state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574, *[s & _MASK32 for s in seed], 0, 0, 0, 0]
        self.buffer: list[int] = []
        self.index = 16

    @classmethod
    def from_hash(cls, digest: bytes) -> ChaCha:
        """Seeded by the first 32 bytes of a hash, read as 8 big-endian words."""
        return cls(struct.unpack(">8I", digest[:32]))

    def _block(self) -> None:
        work = list(self.state)
        for _ in range(10):
            _quarter(work, 0, 4, 8, 12)
            _quarter(work, 1, 5, 9, 13)
            _quarter(work, 2, 6, 10, 14)
            _quarter(work, 3, 7, 11, 15)
            _quarter(work, 0, 5, 10, 15)
            _quarter(work, 1, 6, 11, 12)
            _quarter(work, 2, 7, 8, 13)
            _quarter(work, 3, 4, 9, 14)
        self.buffer = [(w + s) & _MASK32 for w, s in zip(work, self.state)]
        self.index = 0
        for i in range(12, 16):
            self.state[i] = (self.state[i] + 1) & _MASK32
            if self.state[i]:
                break

    def next_u32(self) -> int:
        """The next word."""
        if self.index == 16:
            self._block()
        word = self.buffer[self.index]
        self.index += 1
        return word

    def next_u64(self) -> int:
        """Two words, the first one high."""
        high = self.next_u32()
        return high * 0x100000000 + self.next_u32()

    def next_bool(self) -> bool:
        """The low bit of the next word."""
        return bool(self.next_u32() & 1)


def _montgomery_sample(rng: ChaCha, modulus: int, limbs: int, mont_inv: int) -> int:
    mask = (1 << modulus.bit_length()) - 1
    while True:
        v = 0
        for i in range(limbs):
            v += rng.next_u64() << (64 * i)
        v &= mask
        if v < modulus:
            return v * mont_inv % modulus


def fr_from_rng(rng: ChaCha) -> int:
    """ffjavascript's Fr.fromRng: the drawn integer is taken as a Montgomery form."""
    return _montgomery_sample(rng, R, 4, FR_MONT_INV)


def _fq_from_rng(rng: ChaCha) -> int:
    return _montgomery_sample(rng, P, 6, _FQ_MONT_INV)


def _py_ecc() -> tuple[type, type, Callable[..., Any], Callable[[Any], tuple[Any, Any]]]:
    """py_ecc's plain double-and-add: the cofactor is not below r and the point is not yet in the subgroup."""
    from zkmargin.backends import py_ecc_backend  # (it restores the recursion limit py_ecc raises)

    return py_ecc_backend.FQ, py_ecc_backend.FQ2, py_ecc_backend.multiply, _normalize


def _normalize(point: tuple[Any, Any, Any]) -> tuple[Any, Any]:
    x, y, z = point
    return x / z, y / z


def g1_from_rng(rng: ChaCha, backend: CurveBackend) -> Any:
    """ffjavascript's G1.fromRng: a random x on the curve, y's sign from the stream, times the cofactor."""
    while True:
        x = _fq_from_rng(rng)
        greatest = rng.next_bool()
        y = fp_sqrt((x * x * x + 4) % P)
        if y is not None:
            break
    if (y > (P - 1) // 2) != greatest:
        y = (P - y) % P
    FQ, _, multiply, normalize = _py_ecc()
    px, py = normalize(multiply((FQ(x), FQ(y), FQ(1)), COFACTOR_G1))
    return backend.g1_from_affine(int(px), int(py))


def g2_from_rng(rng: ChaCha, backend: CurveBackend) -> Any:
    """ffjavascript's G2.fromRng: as for G1 over Fp2 with the twist's b = 4(1 + u)."""
    while True:
        x = (_fq_from_rng(rng), _fq_from_rng(rng))
        greatest = rng.next_bool()
        y = fp2_sqrt(g2_rhs(x))
        if y is not None:
            break
    if larger_fp2(y) != greatest:
        y = ((P - y[0]) % P, (P - y[1]) % P)
    _, FQ2, multiply, normalize = _py_ecc()
    point = (FQ2([x[0], x[1]]), FQ2([y[0], y[1]]), FQ2([1, 0]))
    px, py = normalize(multiply(point, COFACTOR_G2))
    return backend.g2_from_affine(
        (int(px.coeffs[0]), int(px.coeffs[1])), (int(py.coeffs[0]), int(py.coeffs[1]))
    )


def hash_to_g2(digest: bytes, backend: CurveBackend) -> Any:
    """snarkjs's hashToG2: G2.fromRng over ChaCha seeded by the hash."""
    return g2_from_rng(ChaCha.from_hash(digest), backend)
