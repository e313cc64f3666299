"""Proof and key formats: snarkjs-compatible JSON (curve bls12381) and compact binary.

snarkjs JSON writes field elements as decimal strings and points in projective
form with z = 1: G1 [x, y, "1"], G2 [[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]];
the identity is G1 ["0", "1", "0"] and G2 [["0","0"], ["1","0"], ["0","0"]].
Binary forms use ZCash compressed points: a proof is A (48) || B (96) || C (48).
Every decoder checks lengths, ranges, the curve equation and the subgroup; a
decoding failure raises a subclass of EncodingError naming what was wrong.
"""

from __future__ import annotations

import hashlib
import re
import struct
import threading
from collections.abc import Sequence
from typing import Any

from zkmargin.backends import CurveBackend, get_backend
from zkmargin.backends.base import G1_UNCOMPRESSED, G2_UNCOMPRESSED
from zkmargin.errors import (
    EncodingError,
    MalformedKeyError,
    MalformedPointError,
    MalformedProofError,
    PublicInputError,
    ZkMarginError,
)
from zkmargin.groth16.data_structures import Proof, ProvingKey, VerifyingKey
from zkmargin.groth16.query_bases import prepare_from_uncompressed
from zkmargin.groth16.verifier import check_distinct_input_points, check_proof_points, check_verifying_key
from zkmargin.jsontext import decode_json

CURVE_NAME = "bls12381"
PROTOCOL = "groth16"
PROOF_SIZE_BYTES = 192
G1_COMPRESSED, G2_COMPRESSED = 48, 96
VK_MAGIC = b"ZKMVK\x00\x00\x01"
PK_MAGIC = b"ZKMPK\x00\x00\x01"
MAX_JSON_INTEGER_DIGITS = 120  # p has 116 decimal digits; refuse anything absurd before int()

_DECIMAL = re.compile(r"0|[1-9][0-9]*")


# ----- numbers ----------------------------------------------------------------
def parse_decimal(text: Any, what: str, error: type[ZkMarginError] = EncodingError) -> int:
    """A non-negative integer written as a canonical decimal string (snarkjs style)."""
    if not isinstance(text, str):
        raise error(f"{what}: expected a decimal string, got {type(text).__name__}")
    if len(text) > MAX_JSON_INTEGER_DIGITS or not _DECIMAL.fullmatch(text):
        raise error(f"{what}: {text[:40]!r} is not a canonical non-negative decimal integer")
    return int(text)


_LOWER_HEX = re.compile(r"[0-9a-f]*")


def parse_hex(text: Any, n_bytes: int, what: str, error: type[ZkMarginError] = EncodingError) -> bytes:
    """Exactly n_bytes written as 2 * n_bytes lower-case hex digits: one spelling per value (bytes.fromhex alone
    also takes upper case and spaces, so one signed document would have many encodings)."""
    if not isinstance(text, str) or len(text) != 2 * n_bytes or not _LOWER_HEX.fullmatch(text):
        raise error(f"{what}: expected {2 * n_bytes} lowercase hex digits")
    return bytes.fromhex(text)


# ----- points -----------------------------------------------------------------
def g1_to_json(point: Any, backend: CurveBackend) -> list[str]:
    """snarkjs G1 encoding."""
    affine = backend.g1_to_affine(point)
    if affine is None:
        return ["0", "1", "0"]
    return [str(affine[0]), str(affine[1]), "1"]


def g2_to_json(point: Any, backend: CurveBackend) -> list[list[str]]:
    """snarkjs G2 encoding."""
    affine = backend.g2_to_affine(point)
    if affine is None:
        return [["0", "0"], ["1", "0"], ["0", "0"]]
    (x0, x1), (y0, y1) = affine
    return [[str(x0), str(x1)], [str(y0), str(y1)], ["1", "0"]]


def _shape(obj: Any, lengths: Sequence[int], what: str, error: type[ZkMarginError]) -> None:
    if not isinstance(obj, list) or len(obj) != lengths[0]:
        raise error(f"{what}: expected a list of {lengths[0]} entries")
    if len(lengths) > 1:
        for i, item in enumerate(obj):
            _shape(item, lengths[1:], f"{what}[{i}]", error)


def g1_from_json(obj: Any, backend: CurveBackend, what: str, error: type[ZkMarginError]) -> Any:
    """Decode a snarkjs G1 point, checking curve and subgroup."""
    _shape(obj, [3], what, error)
    x, y, z = (parse_decimal(v, f"{what}[{i}]", error) for i, v in enumerate(obj))
    if z == 0:
        if (x, y) != (0, 1):
            raise error(f"{what}: malformed point at infinity")
        return backend.g1_identity()
    if z != 1:
        raise error(f"{what}: z coordinate must be 1 (affine) or 0 (infinity)")
    try:
        return backend.g1_from_affine(x, y)
    except MalformedPointError as exc:
        raise error(f"{what}: {exc}") from None


def g2_from_json(obj: Any, backend: CurveBackend, what: str, error: type[ZkMarginError]) -> Any:
    """Decode a snarkjs G2 point, checking curve and subgroup."""
    _shape(obj, [3, 2], what, error)
    (x0, x1), (y0, y1), (z0, z1) = (
        tuple(parse_decimal(v, f"{what}[{i}][{j}]", error) for j, v in enumerate(pair))
        for i, pair in enumerate(obj)
    )
    if (z0, z1) == (0, 0):
        if (x0, x1, y0, y1) != (0, 0, 1, 0):
            raise error(f"{what}: malformed point at infinity")
        return backend.g2_identity()
    if (z0, z1) != (1, 0):
        raise error(f"{what}: z coordinate must be [1, 0] (affine) or [0, 0] (infinity)")
    try:
        return backend.g2_from_affine((x0, x1), (y0, y1))
    except MalformedPointError as exc:
        raise error(f"{what}: {exc}") from None


def _g1_from_bytes(
    data: bytes, backend: CurveBackend, what: str, error: type[EncodingError], subgroup_check: bool = True
) -> Any:
    try:
        return backend.g1_from_bytes(data, subgroup_check=subgroup_check)
    except MalformedPointError as exc:
        raise error(f"{what}: {exc}") from None


def _g2_from_bytes(
    data: bytes, backend: CurveBackend, what: str, error: type[EncodingError], subgroup_check: bool = True
) -> Any:
    try:
        return backend.g2_from_bytes(data, subgroup_check=subgroup_check)
    except MalformedPointError as exc:
        raise error(f"{what}: {exc}") from None


def _load_json(data: str | bytes | dict | list, error: type[EncodingError]) -> Any:
    if isinstance(data, (dict, list)):
        return data
    if not isinstance(data, (str, bytes, bytearray)):  # a decoded JSON number or null: json.loads raises TypeError
        raise error(f"expected JSON text or a decoded JSON object, got {type(data).__name__}")
    try:
        return decode_json(data)
    except ValueError as exc:
        raise error(f"not valid JSON: {exc}") from None


def _check_header(obj: Any, error: type[EncodingError]) -> None:
    if not isinstance(obj, dict):
        raise error("expected a JSON object")
    if obj.get("protocol", PROTOCOL) != PROTOCOL:
        raise error(f"protocol must be {PROTOCOL!r}, got {obj.get('protocol')!r}")
    if obj.get("curve", CURVE_NAME) != CURVE_NAME:
        raise error(f"curve must be {CURVE_NAME!r}, got {obj.get('curve')!r}")


# ----- proofs -----------------------------------------------------------------
def proof_to_json(proof: Proof, backend: CurveBackend | None = None) -> dict:
    """snarkjs proof.json object."""
    backend = backend or get_backend()
    return {
        "pi_a": g1_to_json(proof.a, backend),
        "pi_b": g2_to_json(proof.b, backend),
        "pi_c": g1_to_json(proof.c, backend),
        "protocol": PROTOCOL,
        "curve": CURVE_NAME,
    }


def proof_from_json(data: str | bytes | dict, backend: CurveBackend | None = None) -> Proof:
    """Parse a snarkjs proof.json (text or object); raises MalformedProofError."""
    backend = backend or get_backend()
    obj = _load_json(data, MalformedProofError)
    _check_header(obj, MalformedProofError)
    for key in ("pi_a", "pi_b", "pi_c"):
        if key not in obj:
            raise MalformedProofError(f"proof is missing {key}")
    proof = Proof(
        a=g1_from_json(obj["pi_a"], backend, "pi_a", MalformedProofError),
        b=g2_from_json(obj["pi_b"], backend, "pi_b", MalformedProofError),
        c=g1_from_json(obj["pi_c"], backend, "pi_c", MalformedProofError),
    )
    check_proof_points(proof, backend)
    return proof


def proof_to_bytes(proof: Proof, backend: CurveBackend | None = None) -> bytes:
    """Compact 192-byte proof: compressed A || B || C."""
    backend = backend or get_backend()
    return backend.g1_to_bytes(proof.a) + backend.g2_to_bytes(proof.b) + backend.g1_to_bytes(proof.c)


def proof_from_bytes(data: bytes, backend: CurveBackend | None = None) -> Proof:
    """Parse a 192-byte proof; raises MalformedProofError."""
    backend = backend or get_backend()
    if not isinstance(data, (bytes, bytearray)) or len(data) != PROOF_SIZE_BYTES:
        raise MalformedProofError(f"a binary proof is exactly {PROOF_SIZE_BYTES} bytes")
    data = bytes(data)
    proof = Proof(
        a=_g1_from_bytes(data[:48], backend, "A", MalformedProofError),
        b=_g2_from_bytes(data[48:144], backend, "B", MalformedProofError),
        c=_g1_from_bytes(data[144:], backend, "C", MalformedProofError),
    )
    check_proof_points(proof, backend)
    return proof


# ----- public inputs ----------------------------------------------------------
def public_inputs_to_json(values: Sequence[int]) -> list[str]:
    """snarkjs public.json: decimal strings."""
    return [str(v) for v in values]


def public_inputs_from_json(data: str | bytes | list) -> list[int]:
    """Parse public.json; values must be canonical decimal strings (range is checked by verify)."""
    obj = _load_json(data, PublicInputError)
    if not isinstance(obj, list):
        raise PublicInputError("public inputs must be a JSON list of decimal strings")
    return [parse_decimal(v, f"public[{i}]", PublicInputError) for i, v in enumerate(obj)]


# ----- verification keys ------------------------------------------------------
def vk_to_json(vk: VerifyingKey, backend: CurveBackend | None = None, alphabeta: list | None = None) -> dict:
    """snarkjs verification_key.json; vk_alphabeta_12 = e(alpha, beta) in snarkjs's Fq12 tower."""
    backend = backend or get_backend()
    if alphabeta is None:
        from zkmargin.groth16.gt import alphabeta_to_json

        alphabeta = alphabeta_to_json(vk, backend)
    return {
        "protocol": PROTOCOL,
        "curve": CURVE_NAME,
        "nPublic": vk.num_public,
        "vk_alpha_1": g1_to_json(vk.alpha_g1, backend),
        "vk_beta_2": g2_to_json(vk.beta_g2, backend),
        "vk_gamma_2": g2_to_json(vk.gamma_g2, backend),
        "vk_delta_2": g2_to_json(vk.delta_g2, backend),
        "vk_alphabeta_12": alphabeta,
        "IC": [g1_to_json(p, backend) for p in vk.gamma_abc_g1],
    }


def vk_from_json(data: str | bytes | dict, backend: CurveBackend | None = None) -> VerifyingKey:
    """Parse a snarkjs verification_key.json and refuse unsafe keys; raises MalformedKeyError."""
    backend = backend or get_backend()
    obj = _load_json(data, MalformedKeyError)
    _check_header(obj, MalformedKeyError)
    for key in ("nPublic", "vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC"):
        if key not in obj:
            raise MalformedKeyError(f"verification key is missing {key}")
    ic = obj["IC"]
    if not isinstance(ic, list) or not ic:
        raise MalformedKeyError("IC must be a non-empty list of G1 points")
    n_public = obj["nPublic"]
    if not isinstance(n_public, int) or isinstance(n_public, bool) or n_public != len(ic) - 1:
        raise MalformedKeyError(f"nPublic must equal len(IC) - 1 = {len(ic) - 1}")
    vk = VerifyingKey(
        alpha_g1=g1_from_json(obj["vk_alpha_1"], backend, "vk_alpha_1", MalformedKeyError),
        beta_g2=g2_from_json(obj["vk_beta_2"], backend, "vk_beta_2", MalformedKeyError),
        gamma_g2=g2_from_json(obj["vk_gamma_2"], backend, "vk_gamma_2", MalformedKeyError),
        delta_g2=g2_from_json(obj["vk_delta_2"], backend, "vk_delta_2", MalformedKeyError),
        gamma_abc_g1=tuple(
            g1_from_json(p, backend, f"IC[{i}]", MalformedKeyError) for i, p in enumerate(ic)
        ),
    )
    check_verifying_key(vk, backend)
    check_distinct_input_points(vk, backend)
    return vk


def vk_to_bytes(vk: VerifyingKey, backend: CurveBackend | None = None) -> bytes:
    """Binary key: magic, public-input count, compressed alpha, beta, gamma, delta, gamma_abc."""
    backend = backend or get_backend()
    parts = [
        VK_MAGIC,
        struct.pack(">I", vk.num_public),
        backend.g1_to_bytes(vk.alpha_g1),
        backend.g2_to_bytes(vk.beta_g2),
        backend.g2_to_bytes(vk.gamma_g2),
        backend.g2_to_bytes(vk.delta_g2),
    ]
    parts.extend(backend.g1_to_bytes(p) for p in vk.gamma_abc_g1)
    return b"".join(parts)


def vk_from_bytes(data: bytes, backend: CurveBackend | None = None) -> VerifyingKey:
    """Parse a binary verification key and refuse unsafe keys; raises MalformedKeyError."""
    backend = backend or get_backend()
    reader = _Reader(bytes(data), MalformedKeyError)
    if reader.take(len(VK_MAGIC), "magic") != VK_MAGIC:
        raise MalformedKeyError("not a zkmargin verification key (bad magic)")
    (num_public,) = struct.unpack(">I", reader.take(4, "nPublic"))
    expected = len(VK_MAGIC) + 4 + G1_COMPRESSED + 3 * G2_COMPRESSED + (num_public + 1) * G1_COMPRESSED
    if len(data) != expected:
        raise MalformedKeyError(f"verification key for {num_public} inputs must be {expected} bytes")
    vk = VerifyingKey(
        alpha_g1=reader.g1(backend, "alpha_g1", G1_COMPRESSED),
        beta_g2=reader.g2(backend, "beta_g2", G2_COMPRESSED),
        gamma_g2=reader.g2(backend, "gamma_g2", G2_COMPRESSED),
        delta_g2=reader.g2(backend, "delta_g2", G2_COMPRESSED),
        gamma_abc_g1=tuple(reader.g1(backend, f"gamma_abc_g1[{i}]", G1_COMPRESSED) for i in range(num_public + 1)),
    )
    check_verifying_key(vk, backend)
    check_distinct_input_points(vk, backend)
    return vk


def vk_digest(vk: VerifyingKey, backend: CurveBackend | None = None) -> str:
    """SHA-256 (hex) of the binary verification key: the value a venue pins so provers and verifiers use its keys."""
    # Over the canonical binary form, not the JSON text: whitespace or point
    # notation in a JSON file must not change the digest of the same key.
    return hashlib.sha256(vk_to_bytes(vk, backend)).hexdigest()


# ----- proving keys -----------------------------------------------------------
_subgroup_checked: set[bytes] = set()
"""SHA-256 digests of proving keys (or .zkey query sections) whose every point passed the subgroup check."""
_subgroup_checked_lock = threading.Lock()


def subgroup_checked(digest: bytes) -> bool:
    """Whether the key with this digest passed the query-point subgroup check (in this process, or remembered)."""
    with _subgroup_checked_lock:
        return digest in _subgroup_checked


def remember_subgroup_checked(digest: bytes) -> None:
    """Record that the key with this digest passed the subgroup check (e.g. in an earlier process)."""
    with _subgroup_checked_lock:
        _subgroup_checked.add(digest)


def pk_to_bytes(pk: ProvingKey, backend: CurveBackend | None = None) -> bytes:
    """Binary proving key with uncompressed points (no square roots when loading)."""
    backend = backend or get_backend()
    vk_bytes = vk_to_bytes(pk.vk, backend)
    header = struct.pack(
        ">32sIIIIII",
        pk.circuit_digest,
        len(vk_bytes),
        len(pk.a_query),
        len(pk.b_g1_query),
        len(pk.b_g2_query),
        len(pk.h_query),
        len(pk.l_query),
    )
    g1 = lambda p: backend.g1_to_bytes(p, compressed=False)  # noqa: E731
    g2 = lambda p: backend.g2_to_bytes(p, compressed=False)  # noqa: E731
    parts = [PK_MAGIC, header, vk_bytes, g1(pk.beta_g1), g1(pk.delta_g1)]
    parts.extend(g1(p) for p in pk.a_query)
    parts.extend(g1(p) for p in pk.b_g1_query)
    parts.extend(g2(p) for p in pk.b_g2_query)
    parts.extend(g1(p) for p in pk.h_query)
    parts.extend(g1(p) for p in pk.l_query)
    return b"".join(parts)


def pk_from_bytes(data: bytes, backend: CurveBackend | None = None, subgroup_check: bool = True) -> ProvingKey:
    """Parse a binary proving key (points checked on the curve and in the subgroup); raises MalformedKeyError.

    Whoever hands out a proving key (the venue) can plant a small-order point in a query
    point: the proof would then carry it exactly when the matching witness value is not a
    multiple of its order, leaking witness bits, and the pinned digest covers only the
    verification key. So every query point is subgroup-checked, once per key and process
    (the key's SHA-256 is remembered; ~40-100 us a point). subgroup_check=False is for bytes
    this process or its driver already checked.
    """
    backend = backend or get_backend()
    reader = _Reader(bytes(data), MalformedKeyError)
    if reader.take(len(PK_MAGIC), "magic") != PK_MAGIC:
        raise MalformedKeyError("not a zkmargin proving key (bad magic)")
    digest, vk_len, n_a, n_b1, n_b2, n_h, n_l = struct.unpack(">32sIIIIII", reader.take(56, "header"))
    expected = (
        len(PK_MAGIC) + 56 + vk_len
        + (2 + n_a + n_b1 + n_h + n_l) * G1_UNCOMPRESSED + n_b2 * G2_UNCOMPRESSED
    )
    if len(data) != expected or not n_a == n_b1 == n_b2:
        raise MalformedKeyError("proving key is truncated or its section sizes disagree")
    vk = vk_from_bytes(reader.take(vk_len, "vk"), backend)
    key_digest = hashlib.sha256(data).digest()
    check = subgroup_check and not subgroup_checked(key_digest)
    g1 = lambda what: reader.g1(backend, what, G1_UNCOMPRESSED, subgroup_check=check)  # noqa: E731
    beta_g1, delta_g1 = g1("beta_g1"), g1("delta_g1")
    queries, encoded = {}, {}
    for name, count, size in (("a_query", n_a, G1_UNCOMPRESSED), ("b_g1_query", n_b1, G1_UNCOMPRESSED),
                              ("b_g2_query", n_b2, G2_UNCOMPRESSED), ("h_query", n_h, G1_UNCOMPRESSED),
                              ("l_query", n_l, G1_UNCOMPRESSED)):
        start = reader.offset
        read = reader.g1 if size == G1_UNCOMPRESSED else reader.g2
        queries[name] = tuple(read(backend, f"proving key {name}[{i}]", size, subgroup_check=check)
                              for i in range(count))
        encoded[name] = reader.data[start : reader.offset]
    if check:
        remember_subgroup_checked(key_digest)
    pk = ProvingKey(vk=vk, beta_g1=beta_g1, delta_g1=delta_g1, **queries, circuit_digest=digest)
    # The points were just decoded and curve-checked from these bytes: the MSM's copy is made from them too.
    prepare_from_uncompressed(pk, backend, encoded)
    return pk


class _Reader:
    """Sequential reader over a byte string that reports truncation as a typed error."""

    def __init__(self, data: bytes, error: type[EncodingError]) -> None:
        self.data, self.offset, self.error = data, 0, error

    def take(self, size: int, what: str) -> bytes:
        chunk = self.data[self.offset : self.offset + size]
        if len(chunk) != size:
            raise self.error(f"{what}: truncated")
        self.offset += size
        return chunk

    def g1(self, backend: CurveBackend, what: str, size: int, subgroup_check: bool = True) -> Any:
        return _g1_from_bytes(self.take(size, what), backend, what, self.error, subgroup_check)

    def g2(self, backend: CurveBackend, what: str, size: int, subgroup_check: bool = True) -> Any:
        return _g2_from_bytes(self.take(size, what), backend, what, self.error, subgroup_check)


# ----- many proofs at once ------------------------------------------------------
def _validate_encoded_proof(job: tuple[str, Any]) -> tuple[bytes, bytes, bytes] | str:
    """Worker: decode one proof with every check; return its points uncompressed, or the error text."""
    backend_name, encoded = job
    backend = get_backend(backend_name)
    try:
        proof = proof_from_bytes(encoded, backend) if isinstance(encoded, bytes) else proof_from_json(encoded, backend)
    except EncodingError as exc:
        return str(exc)
    return (backend.g1_to_bytes(proof.a, compressed=False), backend.g2_to_bytes(proof.b, compressed=False),
            backend.g1_to_bytes(proof.c, compressed=False))


def decode_proofs(
    encoded: Sequence[bytes | dict], backend: CurveBackend | None = None, workers: int | None = None
) -> list[Proof | MalformedProofError]:
    """Decode many proofs (192-byte or snarkjs JSON objects) with full checks, on several processes.

    Curve and subgroup checks dominate verification cost and the curve library
    holds the GIL while decoding, so worker processes do the checked decoding and
    hand back uncompressed points, which this process rebuilds with only the
    (cheap) on-curve check. A malformed proof comes back as its error, in place.
    """
    import os
    from concurrent.futures import ProcessPoolExecutor

    backend = backend or get_backend()
    workers = workers or os.cpu_count() or 1
    native = _decode_natively(encoded, backend, workers)
    if native is not None:
        return native
    jobs = [(backend.name, item) for item in encoded]
    if workers <= 1 or len(jobs) < 256:
        results = [_validate_encoded_proof(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_validate_encoded_proof, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
    proofs: list[Proof | MalformedProofError] = []
    for result in results:
        if isinstance(result, str):
            proofs.append(MalformedProofError(result))
            continue
        a, b, c = result
        proofs.append(Proof(
            a=backend.g1_from_bytes(a, subgroup_check=False),
            b=backend.g2_from_bytes(b, subgroup_check=False),
            c=backend.g1_from_bytes(c, subgroup_check=False),
        ))
    return proofs


def _decode_natively(
    encoded: Sequence[bytes | dict], backend: CurveBackend, workers: int
) -> list[Proof | MalformedProofError] | None:
    """decode_proofs on the backend's threads when it decodes 192-byte proofs natively, else None; an item the
    native decoder refuses is decoded alone here, so its error reads as proof_from_bytes words it."""
    decode = getattr(backend, "decode_proof_points", None)
    if decode is None or not all(isinstance(e, bytes) and len(e) == PROOF_SIZE_BYTES for e in encoded):
        return None
    points = decode(encoded, workers)
    if points is None:
        return None
    proofs: list[Proof | MalformedProofError] = []
    for item, decoded in zip(encoded, points):
        if decoded is not None:
            proofs.append(Proof(*decoded))
            continue
        assert isinstance(item, bytes)  # checked above: every item is a 192-byte proof
        try:
            proofs.append(proof_from_bytes(item, backend))
        except EncodingError as exc:
            proofs.append(MalformedProofError(str(exc)))
    return proofs
