"""Phase 2 (BGM17) in snarkjs's .zkey format: new, contribute, beacon, verify, export.

A .zkey (iden3 container, magic "zkey") holds: 1 protocol (1 = Groth16);
2 header (q, r, nVars, nPublic, domain size n, [alpha]_1, [beta]_1, [beta]_2,
[gamma]_2, [delta]_1, [delta]_2); 3 IC = [beta A_i + alpha B_i + C_i]_1 for the
public wires (gamma stays 1); 4 the A and B coefficients (value * 2^512 mod r);
5 [A_i]_1, 6 [B_i]_1, 7 [B_i]_2 for every wire; 8 L = [(beta A_i + alpha B_i + C_i)/delta]_1
for the private wires; 9 H = [L^(2n)_(2i+1)(tau)/delta]_1, the Lagrange basis of
the 2n-domain at its odd points (snarkjs's H convention: the prover feeds it
A*B - C evaluated on the odd 2n-th roots, not h's coefficients); 10 the circuit
hash and the list of contributions.

As in snarkjs the QAP has one extra A-row per public wire and the one wire
(rows m .. m + nPublic, coefficient 1), and the domain is ffjavascript's
(:func:`zkmargin.groth16.ptau.ffjs_root_of_unity`) so that the Lagrange sections of
a snarkjs .ptau apply unchanged.

A contribution multiplies delta by a secret d and divides L and H by it. It
publishes (g1_s, g1_sx = d g1_s, g2_spx = d g2_sp) where g2_sp is hashed from the
transcript so far; verify checks that proof of knowledge, that delta moved by the
same d, and that L and H moved by the product of all contributions.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from zkmargin.backends import CurveBackend, get_backend
from zkmargin.backends.base import P
from zkmargin.binfile import (
    FQ_BYTES,
    FR_BYTES,
    FR_MONT,
    G1_LEM,
    G2_LEM,
    BinFile,
    ChaCha,
    Reader,
    blake2b_512,
    fr_from_rng,
    g1_from_lem,
    g1_from_rng,
    g1_list_from_lem,
    g1_to_lem,
    g1_uncompressed,
    g2_from_lem,
    g2_to_lem,
    g2_uncompressed,
    hash_to_g2,
    u32,
    write_binfile,
)
from zkmargin.errors import CeremonyError, EncodingError, MalformedKeyError, MalformedPointError
from zkmargin.field import R, inv
from zkmargin.groth16.data_structures import ProvingKey, VerifyingKey
from zkmargin.groth16.ptau import (
    SECTION_LAGRANGE_ALPHA_TAU_G1,
    SECTION_LAGRANGE_BETA_TAU_G1,
    SECTION_LAGRANGE_TAU_G1,
    PowersOfTau,
)
from zkmargin.groth16.r1cs_to_qap import domain_log_size
from zkmargin.groth16.serialization import remember_subgroup_checked, subgroup_checked
from zkmargin.groth16.verifier import check_gamma_delta
from zkmargin.r1cs import CompiledR1CS

GROTH16_PROTOCOL = 1
CONTRIBUTION = 0
BEACON = 1
MAX_NAME_BYTES = 64
_COEF_MONT2 = FR_MONT * FR_MONT % R


@dataclass
class Contribution:
    """One phase-2 contribution's public record (snarkjs's mpcParams entry)."""

    delta_after: Any
    """[delta]_1 after this contribution."""
    g1_s: Any
    g1_sx: Any
    """g1_sx = d * g1_s for the contribution's secret d."""
    g2_spx: Any
    """d * hash_to_g2(transcript)."""
    transcript: bytes
    """BLAKE2b of the circuit hash, the earlier contributions and (g1_s, g1_sx)."""
    kind: int = CONTRIBUTION
    name: str | None = None
    num_iterations_exp: int | None = None
    beacon_hash: bytes | None = None

    def public_key_bytes(self, backend: CurveBackend) -> bytes:
        """What snarkjs hashes for this contribution (hashPubKey)."""
        return b"".join([
            g1_uncompressed(self.delta_after, backend),
            g1_uncompressed(self.g1_s, backend),
            g1_uncompressed(self.g1_sx, backend),
            g2_uncompressed(self.g2_spx, backend),
            self.transcript,
        ])

    def contribution_hash(self, backend: CurveBackend) -> bytes:
        """The hash snarkjs prints for this contribution."""
        return blake2b_512([self.public_key_bytes(backend)]).digest()


@dataclass
class ZKey:
    """A Groth16 .zkey: decoded header, raw point sections, the transcript."""

    num_variables: int
    num_public: int
    domain_size: int
    alpha_g1: Any
    beta_g1: Any
    beta_g2: Any
    gamma_g2: Any
    delta_g1: Any
    delta_g2: Any
    sections: dict[int, bytes]
    """Raw bodies of sections 3..9, copied through contributions untouched or rescaled."""
    cs_hash: bytes
    contributions: list[Contribution] = field(default_factory=list)

    @property
    def log_domain(self) -> int:
        """log2 of the domain size."""
        return self.domain_size.bit_length() - 1

    @property
    def num_private(self) -> int:
        """Wires in the L section."""
        return self.num_variables - self.num_public - 1


# ----- reading and writing ------------------------------------------------------------
def _header_bytes(zk: ZKey, backend: CurveBackend) -> bytes:
    return b"".join([
        u32(FQ_BYTES), P.to_bytes(FQ_BYTES, "little"), u32(FR_BYTES), R.to_bytes(FR_BYTES, "little"),
        u32(zk.num_variables), u32(zk.num_public), u32(zk.domain_size),
        g1_to_lem(zk.alpha_g1, backend), g1_to_lem(zk.beta_g1, backend), g2_to_lem(zk.beta_g2, backend),
        g2_to_lem(zk.gamma_g2, backend), g1_to_lem(zk.delta_g1, backend), g2_to_lem(zk.delta_g2, backend),
    ])


def _contribution_bytes(c: Contribution, backend: CurveBackend) -> bytes:
    params = b""
    if c.name:
        name = c.name.encode()[:MAX_NAME_BYTES]
        params += bytes([1, len(name)]) + name
    if c.kind == BEACON:
        assert c.beacon_hash is not None and c.num_iterations_exp is not None
        params += bytes([2, c.num_iterations_exp, 3, len(c.beacon_hash)]) + c.beacon_hash
    return b"".join([
        g1_to_lem(c.delta_after, backend), g1_to_lem(c.g1_s, backend), g1_to_lem(c.g1_sx, backend),
        g2_to_lem(c.g2_spx, backend), c.transcript, u32(c.kind), u32(len(params)), params,
    ])


def zkey_to_bytes(zk: ZKey, backend: CurveBackend | None = None) -> bytes:
    """The .zkey file, sections in snarkjs's order."""
    backend = backend or get_backend()
    mpc = zk.cs_hash + u32(len(zk.contributions)) + b"".join(
        _contribution_bytes(c, backend) for c in zk.contributions)
    sections = [(1, u32(GROTH16_PROTOCOL)), (2, _header_bytes(zk, backend))]
    sections += [(sid, zk.sections[sid]) for sid in (4, 3, 9, 8, 5, 6, 7)]
    sections.append((10, mpc))
    return write_binfile("zkey", 1, sections)


def _read_contribution(reader: Reader, backend: CurveBackend, what: str) -> Contribution:
    delta_after = g1_from_lem(reader.take(G1_LEM), backend, what)
    g1_s = g1_from_lem(reader.take(G1_LEM), backend, what)
    g1_sx = g1_from_lem(reader.take(G1_LEM), backend, what)
    g2_spx = g2_from_lem(reader.take(G2_LEM), backend, what)
    transcript = reader.take(64)
    kind = reader.u32()
    if kind not in (CONTRIBUTION, BEACON):
        raise EncodingError(f"{what}: unknown contribution type {kind}")
    params = Reader(reader.take(reader.u32()), what)
    c = Contribution(delta_after, g1_s, g1_sx, g2_spx, transcript, kind)
    last = 0
    while params.pos < len(params.body):
        tag = params.take(1)[0]
        if tag <= last:
            raise EncodingError(f"{what}: contribution parameters out of order")
        last = tag
        if tag == 1:
            try:
                c.name = params.take(params.take(1)[0]).decode()
            except UnicodeDecodeError:
                raise EncodingError(f"{what}: contribution name is not UTF-8") from None
        elif tag == 2:
            c.num_iterations_exp = params.take(1)[0]
        elif tag == 3:
            c.beacon_hash = params.take(params.take(1)[0])
        else:
            raise EncodingError(f"{what}: unknown contribution parameter {tag}")
    if kind == BEACON and (c.beacon_hash is None or c.num_iterations_exp is None):
        raise EncodingError(f"{what}: beacon contribution without its hash or iteration count")
    return c


def zkey_from_bytes(data: bytes, backend: CurveBackend | None = None, what: str = "zkey file") -> ZKey:
    """Parse a Groth16 .zkey for bls12381, checking every size and the header and transcript points."""
    backend = backend or get_backend()
    file = BinFile(data, "zkey", what, max_version=2)
    if Reader(file.section(1, 4), what).u32() != GROTH16_PROTOCOL:
        raise EncodingError(f"{what}: not a Groth16 zkey")
    header = Reader(file.section(2), what)
    if header.u32() != FQ_BYTES or header.integer(FQ_BYTES) != P:
        raise EncodingError(f"{what}: not a bls12381 zkey (another base field)")
    if header.u32() != FR_BYTES or header.integer(FR_BYTES) != R:
        raise EncodingError(f"{what}: not a bls12381 zkey (another scalar field)")
    num_variables, num_public, domain_size = header.u32(), header.u32(), header.u32()
    if num_variables < num_public + 1 or domain_size < 2 or domain_size & (domain_size - 1):
        raise EncodingError(f"{what}: inconsistent header (nVars {num_variables}, nPublic {num_public}, "
                            f"domain {domain_size})")
    points = []
    for i, group in enumerate("112212"):
        name = ("alpha_1", "beta_1", "beta_2", "gamma_2", "delta_1", "delta_2")[i]
        raw = header.take(G1_LEM if group == "1" else G2_LEM)
        point = (g1_from_lem if group == "1" else g2_from_lem)(raw, backend, f"{what}: {name}")
        if (backend.g1_is_identity if group == "1" else backend.g2_is_identity)(point):
            raise MalformedKeyError(f"{what}: {name} is the identity")
        points.append(point)
    header.done()
    num_private = num_variables - num_public - 1
    sizes = {3: (num_public + 1) * G1_LEM, 5: num_variables * G1_LEM, 6: num_variables * G1_LEM,
             7: num_variables * G2_LEM, 8: num_private * G1_LEM, 9: domain_size * G1_LEM}
    sections = {sid: bytes(file.section(sid, size)) for sid, size in sizes.items()}
    coefs = file.section(4)
    if len(coefs) < 4 or len(coefs) != 4 + struct.unpack_from("<I", coefs)[0] * (12 + FR_BYTES):
        raise EncodingError(f"{what}: coefficient section has the wrong size")
    sections[4] = bytes(coefs)
    mpc = Reader(file.section(10), what)
    cs_hash = mpc.take(64)
    contributions = [_read_contribution(mpc, backend, f"{what}: contribution {i + 1}") for i in range(mpc.u32())]
    mpc.done()
    alpha_g1, beta_g1, beta_g2, gamma_g2, delta_g1, delta_g2 = points
    return ZKey(num_variables, num_public, domain_size, alpha_g1, beta_g1, beta_g2, gamma_g2, delta_g1, delta_g2,
                sections=sections, cs_hash=cs_hash, contributions=contributions)


def load_zkey(path: str | Path, backend: CurveBackend | None = None) -> ZKey:
    """Read a .zkey file."""
    path = Path(path)
    return zkey_from_bytes(path.read_bytes(), backend, str(path))


# ----- zkey new ----------------------------------------------------------------------
def coefficient_section(compiled: CompiledR1CS) -> bytes:
    """Section 4 as snarkjs writes it: A and B terms by constraint, then the public-wire A-rows."""
    entries = []
    mont = _COEF_MONT2
    for j, (a_row, b_row) in enumerate(zip(compiled.a, compiled.b)):
        for matrix, row in ((0, a_row), (1, b_row)):
            for var, coeff in sorted(row):
                entries.append(struct.pack("<III", matrix, j, var) + (coeff * mont % R).to_bytes(FR_BYTES, "little"))
    m = compiled.num_constraints
    for s in range(compiled.num_public + 1):
        entries.append(struct.pack("<III", 0, m + s, s) + mont.to_bytes(FR_BYTES, "little"))
    return u32(len(entries)) + b"".join(entries)


def _columns(compiled: CompiledR1CS) -> tuple[list[list[tuple[int, int]]], ...]:
    """Per wire: (row, coefficient) lists of A (with the public-wire rows), B and C."""
    cols: tuple[list[list[tuple[int, int]]], ...] = tuple(
        [[] for _ in range(compiled.num_variables)] for _ in range(3))
    for matrix, col in zip((compiled.a, compiled.b, compiled.c), cols):
        for j, row in enumerate(matrix):
            for var, coeff in row:
                col[var].append((j, coeff))
    m = compiled.num_constraints
    for s in range(compiled.num_public + 1):
        cols[0][s].append((m + s, 1))
    return cols


def new_zkey(compiled: CompiledR1CS, ptau: PowersOfTau, backend: CurveBackend | None = None) -> ZKey:
    """The initial key (delta = 1, no contributions), as `snarkjs zkey new` makes it from the same files."""
    backend = backend or get_backend()
    log_n = domain_log_size(compiled)
    ptau.require_domain(log_n)
    n = 1 << log_n
    tau_g1 = ptau.lagrange_g1(SECTION_LAGRANGE_TAU_G1, log_n, backend)
    alpha_tau_g1 = ptau.lagrange_g1(SECTION_LAGRANGE_ALPHA_TAU_G1, log_n, backend)
    beta_tau_g1 = ptau.lagrange_g1(SECTION_LAGRANGE_BETA_TAU_G1, log_n, backend)
    tau_g2 = ptau.lagrange_g2(log_n, backend)
    col_a, col_b, col_c = _columns(compiled)

    def combine(terms: Sequence[tuple[Sequence[Any], list[tuple[int, int]]]], msm: Callable) -> Any:
        points, scalars = [], []
        for basis, column in terms:
            for j, coeff in column:
                points.append(basis[j])
                scalars.append(coeff)
        if len(points) == 1 and scalars[0] == 1:  # most wires: one term, coefficient 1
            return points[0]
        return msm(points, scalars)

    wires = range(compiled.num_variables)
    # The curve library releases the GIL inside an MSM: the G2 column sums (the costliest)
    # run on a second core while this thread does the G1 ones.
    with ThreadPoolExecutor(max_workers=1) as pool:
        b2_job = pool.submit(lambda: [combine([(tau_g2, col_b[i])], backend.g2_msm) for i in wires])
        a = [combine([(tau_g1, col_a[i])], backend.g1_msm) for i in wires]
        b1 = [combine([(tau_g1, col_b[i])], backend.g1_msm) for i in wires]
        abc = [combine([(beta_tau_g1, col_a[i]), (alpha_tau_g1, col_b[i]), (tau_g1, col_c[i])], backend.g1_msm)
               for i in wires]
        b2 = b2_job.result()
    num_inputs = compiled.num_public + 1
    odd = ptau.lagrange_g1_lem(SECTION_LAGRANGE_TAU_G1, log_n + 1)
    h_section = b"".join(bytes(odd[(2 * i + 1) * G1_LEM : (2 * i + 2) * G1_LEM]) for i in range(n))
    sections = {
        3: b"".join(g1_to_lem(p, backend) for p in abc[:num_inputs]),
        4: coefficient_section(compiled),
        5: b"".join(g1_to_lem(p, backend) for p in a),
        6: b"".join(g1_to_lem(p, backend) for p in b1),
        7: b"".join(g2_to_lem(p, backend) for p in b2),
        8: b"".join(g1_to_lem(p, backend) for p in abc[num_inputs:]),
        9: h_section,
    }
    g1, g2 = backend.g1_generator(), backend.g2_generator()
    zk = ZKey(compiled.num_variables, compiled.num_public, n, ptau.alpha_g1(backend), ptau.beta_g1(backend),
              ptau.beta_g2(backend), g2, g1, g2, sections=sections, cs_hash=b"")
    zk.cs_hash = _circuit_hash(zk, ptau, backend, {3: abc[:num_inputs], 8: abc[num_inputs:], 5: a, 6: b1},
                               b2)
    return zk


def _circuit_hash(zk: ZKey, ptau: PowersOfTau, backend: CurveBackend, g1_sections: dict[int, list[Any]],
                  b2: list[Any]) -> bytes:
    """snarkjs's circuit hash: the initial header and IC, H (as Z(tau) tau^i), L, A, B1, B2."""
    hasher = blake2b_512([
        g1_uncompressed(zk.alpha_g1, backend), g1_uncompressed(zk.beta_g1, backend),
        g2_uncompressed(zk.beta_g2, backend), g2_uncompressed(zk.gamma_g2, backend),
        g1_uncompressed(zk.delta_g1, backend), g2_uncompressed(zk.delta_g2, backend),
    ])

    def points(items: list[Any], encode: Callable[[Any, CurveBackend], bytes], zero: Callable[[Any], bool]) -> None:
        # snarkjs converts the LEM section to uncompressed form in bulk, and an all-zero LEM
        # identity stays all zeros there (not the 0x40 infinity flag of a single conversion).
        hasher.update(struct.pack(">I", len(items)))
        for p in items:
            hasher.update(bytes(len(encode(p, backend))) if zero(p) else encode(p, backend))

    g1_zero, g2_zero = backend.g1_is_identity, backend.g2_is_identity
    points(g1_sections[3], g1_uncompressed, g1_zero)
    n = zk.domain_size
    powers = g1_list_from_lem(ptau.tau_g1_lem(0, 2 * n - 1), backend, "ptau section 2", subgroup_check=False)
    hasher.update(struct.pack(">I", n - 1))
    for i in range(n - 1):
        hasher.update(g1_uncompressed(backend.g1_add(powers[i + n], backend.g1_neg(powers[i])), backend))
    points(g1_sections[8], g1_uncompressed, g1_zero)
    points(g1_sections[5], g1_uncompressed, g1_zero)
    points(g1_sections[6], g1_uncompressed, g1_zero)
    points(b2, g2_uncompressed, g2_zero)
    return hasher.digest()


# ----- contribute and beacon ------------------------------------------------------------
def _transcript_hasher(zk: ZKey, backend: CurveBackend) -> Any:
    return blake2b_512([zk.cs_hash, *(c.public_key_bytes(backend) for c in zk.contributions)])


def _rescale_g1_section(body: bytes, scalar: int, backend: CurveBackend) -> bytes:
    """Every LEM G1 point of a section times scalar (the cost of a contribution: one multiplication per point)."""
    points = g1_list_from_lem(body, backend, "zkey section", subgroup_check=False)
    return b"".join(g1_to_lem(backend.g1_mul(p, scalar), backend) for p in points)


def _random_combination(body: bytes, coefficients: list[int], subgroup_check: bool, backend: CurveBackend) -> Any:
    """sum_i c_i P_i over the LEM points of a section."""
    return backend.g1_msm(g1_list_from_lem(body, backend, "zkey section", subgroup_check), coefficients)


def _apply_contribution(zk: ZKey, secret: int, g1_s: Any, backend: CurveBackend, kind: int, name: str | None,
                        beacon: tuple[bytes, int] | None = None) -> tuple[ZKey, bytes]:
    if not 0 < secret < R:
        raise CeremonyError("a contribution's secret must lie in [1, r)")
    g1_sx = backend.g1_mul(g1_s, secret)
    hasher = _transcript_hasher(zk, backend)
    hasher.update(g1_uncompressed(g1_s, backend))
    hasher.update(g1_uncompressed(g1_sx, backend))
    transcript = hasher.digest()
    g2_spx = backend.g2_mul(hash_to_g2(transcript, backend), secret)
    delta_g1 = backend.g1_mul(zk.delta_g1, secret)
    delta_g2 = backend.g2_mul(zk.delta_g2, secret)
    contribution = Contribution(delta_g1, g1_s, g1_sx, g2_spx, transcript, kind, name)
    if beacon is not None:
        contribution.beacon_hash, contribution.num_iterations_exp = beacon
    inverse = inv(secret)
    sections = dict(zk.sections)
    sections[8] = _rescale_g1_section(zk.sections[8], inverse, backend)
    sections[9] = _rescale_g1_section(zk.sections[9], inverse, backend)
    new = replace(zk, delta_g1=delta_g1, delta_g2=delta_g2, sections=sections,
                  contributions=[*zk.contributions, contribution])
    return new, contribution.contribution_hash(backend)


def contribute(zk: ZKey, name: str | None = None, entropy: str = "", randomness: bytes | None = None,
               backend: CurveBackend | None = None) -> tuple[ZKey, bytes]:
    """A new key with one more contribution, and that contribution's hash.

    The secret comes, as in snarkjs, from a ChaCha stream seeded by BLAKE2b(64 random
    bytes || entropy); randomness replaces the OS bytes in tests only (whoever knows
    them knows the secret). The secret is never stored or returned.
    """
    backend = backend or get_backend()
    seed = blake2b_512([randomness if randomness is not None else secrets.token_bytes(64), entropy.encode()])
    rng = ChaCha.from_hash(seed.digest())
    secret = fr_from_rng(rng)
    while secret == 0:
        secret = fr_from_rng(rng)
    return _apply_contribution(zk, secret, g1_from_rng(rng, backend), backend, CONTRIBUTION, name)


def beacon_rng(beacon_hash: bytes, num_iterations_exp: int) -> ChaCha:
    """snarkjs's rngFromBeaconParams: SHA-256 iterated 2^exp times, then ChaCha seeded by the result."""
    current = beacon_hash
    for _ in range(1 << num_iterations_exp):
        current = hashlib.sha256(current).digest()
    return ChaCha.from_hash(current)


def check_beacon_params(beacon_hex: str, num_iterations_exp: int) -> bytes:
    """The beacon hash as bytes; CeremonyError unless it is 1..255 bytes of hex and 10 <= exp <= 63."""
    try:
        beacon_hash = bytes.fromhex(beacon_hex)
    except ValueError:
        raise CeremonyError(f"beacon hash {beacon_hex[:40]!r} is not hexadecimal") from None
    if not 0 < len(beacon_hash) < 256 or len(beacon_hash) * 2 != len(beacon_hex):
        raise CeremonyError("beacon hash must be 1 to 255 bytes of hexadecimal")
    if not 10 <= num_iterations_exp <= 63:
        raise CeremonyError(f"beacon iterations exponent must lie in [10, 63], got {num_iterations_exp}")
    return beacon_hash


def beacon(zk: ZKey, beacon_hex: str, num_iterations_exp: int, name: str | None = None,
           backend: CurveBackend | None = None) -> tuple[ZKey, bytes]:
    """The final, publicly reproducible contribution from a random beacon's value."""
    backend = backend or get_backend()
    beacon_hash = check_beacon_params(beacon_hex, num_iterations_exp)
    rng = beacon_rng(beacon_hash, num_iterations_exp)
    secret = fr_from_rng(rng)
    g1_s = g1_from_rng(rng, backend)
    return _apply_contribution(zk, secret, g1_s, backend, BEACON, name, (beacon_hash, num_iterations_exp))


# ----- verify ----------------------------------------------------------------------------
@dataclass
class VerifyResult:
    """Outcome of `zkey verify`: valid, or the first problem found, plus the transcript."""

    valid: bool
    problem: str | None
    cs_hash: bytes
    contributions: list[Contribution]
    contribution_hashes: list[bytes]


def transcript_entries(contributions: Sequence[Contribution], hashes: Sequence[bytes]) -> list[dict[str, Any]]:
    """The transcript as JSON-ready records: index, name, contribution hash, beacon parameters."""
    entries = []
    for i, (c, digest) in enumerate(zip(contributions, hashes)):
        entry: dict[str, Any] = {"index": i + 1, "name": c.name, "hash": digest.hex(), "beacon": c.kind == BEACON}
        if c.kind == BEACON:
            entry["beacon_hash"] = c.beacon_hash.hex() if c.beacon_hash else None
            entry["iterations_exp"] = c.num_iterations_exp
        entries.append(entry)
    return entries


def _same_ratio(backend: CurveBackend, g1_s: Any, g1_sx: Any, g2_s: Any, g2_sx: Any) -> bool:
    """e(g1_s, g2_sx) == e(g1_sx, g2_s), refusing the identity anywhere (snarkjs's sameRatio)."""
    if any((backend.g1_is_identity(g1_s), backend.g1_is_identity(g1_sx),
            backend.g2_is_identity(g2_s), backend.g2_is_identity(g2_sx))):
        return False
    return backend.pairing_check([(g1_s, g2_sx), (backend.g1_neg(g1_sx), g2_s)])


def _check_contributions(zk: ZKey, backend: CurveBackend) -> tuple[str | None, Any, list[bytes]]:
    """(problem or None, delta_1 after the last contribution, contribution hashes)."""
    hasher = blake2b_512([zk.cs_hash])
    current = backend.g1_generator()
    hashes: list[bytes] = []
    for i, c in enumerate(zk.contributions):
        label = f"contribution #{i + 1}" + (f" ({c.name})" if c.name else "")
        ours = hasher.copy()
        ours.update(g1_uncompressed(c.g1_s, backend))
        ours.update(g1_uncompressed(c.g1_sx, backend))
        if ours.digest() != c.transcript:
            return f"{label}: inconsistent transcript hash", current, hashes
        g2_sp = hash_to_g2(c.transcript, backend)
        if not _same_ratio(backend, c.g1_s, c.g1_sx, g2_sp, c.g2_spx):
            return f"{label}: broken proof of knowledge (g1 and g2 keys do not share a ratio)", current, hashes
        if not _same_ratio(backend, current, c.delta_after, g2_sp, c.g2_spx):
            return f"{label}: delta does not follow from the previous delta and this public key", current, hashes
        if c.kind == BEACON:
            assert c.beacon_hash is not None and c.num_iterations_exp is not None
            rng = beacon_rng(c.beacon_hash, c.num_iterations_exp)
            secret = fr_from_rng(rng)
            g1_s = g1_from_rng(rng, backend)
            if not backend.g1_eq(g1_s, c.g1_s) or not backend.g1_eq(backend.g1_mul(g1_s, secret), c.g1_sx):
                return f"{label}: the key does not come from the stated beacon", current, hashes
        hasher.update(c.public_key_bytes(backend))
        hashes.append(c.contribution_hash(backend))
        current = c.delta_after
    return None, current, hashes


def _section_same_ratio(init: bytes, final: bytes, delta_init: Any, delta_final: Any,
                        backend: CurveBackend, what: str) -> bool:
    """Every final point equals the initial one divided by delta, checked on one random combination.

    The final points are subgroup-checked one by one: torsion is invisible to the pairing.
    The initial ones were computed here from the ptau and need no check.
    """
    if len(init) != len(final):
        raise EncodingError(f"{what}: sizes differ")
    if not init:
        return True
    coefficients = [secrets.randbits(128) | 1 for _ in range(len(init) // G1_LEM)]
    r1 = _random_combination(init, coefficients, False, backend)
    r2 = _random_combination(final, coefficients, True, backend)
    if backend.g1_is_identity(r1):
        return backend.g1_is_identity(r2)
    return _same_ratio(backend, r1, r2, delta_final, delta_init)


def verify_zkey(compiled: CompiledR1CS, ptau: PowersOfTau, zk: ZKey, backend: CurveBackend | None = None,
                initial: ZKey | None = None) -> VerifyResult:
    """Check a .zkey against the circuit and the powers of tau, as `snarkjs zkey verify` does."""
    backend = backend or get_backend()
    problem, delta_last, hashes = _check_contributions(zk, backend)

    def result(problem: str | None) -> VerifyResult:
        return VerifyResult(problem is None, problem, zk.cs_hash, zk.contributions, hashes)

    if problem:
        return result(problem)
    init = initial or new_zkey(compiled, ptau, backend)
    if (init.num_variables, init.num_public, init.domain_size) != (zk.num_variables, zk.num_public, zk.domain_size):
        return result("circuit does not match: different wire, public input or domain counts")
    if zk.cs_hash != init.cs_hash:
        return result("circuit does not match: the circuit hash differs from the one computed from r1cs and ptau")
    for name, ours, theirs, eq in (("alpha_1", zk.alpha_g1, init.alpha_g1, backend.g1_eq),
                                   ("beta_1", zk.beta_g1, init.beta_g1, backend.g1_eq),
                                   ("beta_2", zk.beta_g2, init.beta_g2, backend.g2_eq),
                                   ("gamma_2", zk.gamma_g2, init.gamma_g2, backend.g2_eq)):
        if not eq(ours, theirs):
            return result(f"invalid {name}: it differs from the powers of tau")
    if not backend.g1_eq(zk.delta_g1, delta_last):
        return result("invalid delta_1: it is not the delta of the last contribution")
    if not _same_ratio(backend, backend.g1_generator(), delta_last, backend.g2_generator(), zk.delta_g2):
        return result("invalid delta_2: it does not match delta_1")
    for sid, name in ((3, "IC"), (4, "coefficients"), (5, "A"), (6, "B1"), (7, "B2")):
        if zk.sections[sid] != init.sections[sid]:
            return result(f"{name} section differs from the one computed from r1cs and ptau")
    if not _section_same_ratio(init.sections[8], zk.sections[8], init.delta_g2, zk.delta_g2, backend, "L section"):
        return result("L section does not match delta (a point was changed)")
    if not _section_same_ratio(init.sections[9], zk.sections[9], init.delta_g2, zk.delta_g2, backend, "H section"):
        return result("H section does not match delta (a point was changed)")
    return result(None)


# ----- export and proving -----------------------------------------------------------------
def verifying_key(zk: ZKey, backend: CurveBackend | None = None) -> VerifyingKey:
    """The verification key of a .zkey (gamma is [1]_2, as in every snarkjs key); delta == +-gamma is refused.

    A key without contribution keeps delta = gamma = [1]_2: callers warn about it or refuse it.
    """
    backend = backend or get_backend()
    vk = VerifyingKey(
        alpha_g1=zk.alpha_g1, beta_g2=zk.beta_g2, gamma_g2=zk.gamma_g2, delta_g2=zk.delta_g2,
        gamma_abc_g1=tuple(g1_list_from_lem(zk.sections[3], backend, "zkey IC section")),
    )
    if zk.contributions:
        check_gamma_delta(vk, backend)
    return vk


def check_zkey_matches(zk: ZKey, compiled: CompiledR1CS) -> None:
    """CeremonyError unless the zkey was made for this constraint system (counts and A/B coefficients)."""
    log_n = domain_log_size(compiled)
    if (zk.num_variables, zk.num_public, zk.domain_size) != (compiled.num_variables, compiled.num_public, 1 << log_n):
        raise CeremonyError(
            f"the zkey is for another circuit: it has {zk.num_variables} wires, {zk.num_public} public inputs and "
            f"domain {zk.domain_size}; the circuit has {compiled.num_variables}, {compiled.num_public} and {1 << log_n}")
    if zk.sections[4] != coefficient_section(compiled):
        raise CeremonyError("the zkey is for another circuit: its constraint coefficients differ")


_QUERY_SECTIONS = ((5, "A", G1_LEM, g1_from_lem), (6, "B1", G1_LEM, g1_from_lem), (7, "B2", G2_LEM, g2_from_lem),
                   (8, "L", G1_LEM, g1_from_lem), (9, "H", G1_LEM, g1_from_lem))

def query_sections_digest(zk: ZKey) -> bytes:
    """SHA-256 over the query sections (A, B1, B2, L, H): what the once-per-key subgroup check remembers."""
    hasher = hashlib.sha256()
    for sid, *_ in _QUERY_SECTIONS:
        hasher.update(u32(len(zk.sections[sid])))
        hasher.update(zk.sections[sid])
    return hasher.digest()


def _query_points(zk: ZKey, sid: int, name: str, size: int, decode: Callable, subgroup_check: bool,
                  backend: CurveBackend) -> tuple[Any, ...]:
    """The points of one query section; MalformedKeyError names the section and index of a bad one."""
    body = zk.sections[sid]
    what = f"zkey {name} section (section {sid})"
    if len(body) % size:
        raise EncodingError(f"{what}: size {len(body)} is not a multiple of {size}")
    points = []
    for i in range(0, len(body), size):
        raw = body[i : i + size]
        try:
            points.append(decode(raw, backend, what, subgroup_check))
        except MalformedPointError as exc:
            problem = str(exc)
            if subgroup_check:
                try:
                    decode(raw, backend, what, False)
                    problem = "on the curve but not in the prime-order subgroup"
                except MalformedPointError:
                    pass
            raise MalformedKeyError(f"{what}, point {i // size}: {problem}; the key is refused") from None
    return tuple(points)


def secret_contribution_problem(contributions: Sequence[Contribution]) -> str | None:
    """Why a key with these contributions has a public delta (anyone could forge proofs), or None.

    With no contribution delta is 1; a beacon's secret follows from its public hash and exponent, so with
    beacons only, delta is a product of public values. At least one secret contribution is needed.
    """
    if not contributions:
        return "the key has no contribution: its delta is 1 and anyone could forge proofs"
    if all(c.kind == BEACON for c in contributions):
        return ("the key's only contributions are beacons, whose secrets follow from their public parameters: "
                "its delta is public and anyone could forge proofs")
    return None


def proving_key(zk: ZKey, compiled: CompiledR1CS, backend: CurveBackend | None = None) -> ProvingKey:
    """A ProvingKey whose h_query holds the zkey's n odd-coset Lagrange points (see prover.prove_zkey).

    Every query point (A, B1, B2, L, H) is checked in the prime-order subgroup: a point with a
    small-order component added would make the proof's A, B or C carry that component exactly
    when the matching witness value is not a multiple of its order, so whether a proof comes
    out (or what it looks like) would leak witness bits, and the pinned digest does not cover
    the query points. The check runs once per key and process (the sections' SHA-256 is
    remembered), so a second proof with the same key does not pay for it again.
    """
    backend = backend or get_backend()
    check_zkey_matches(zk, compiled)
    problem = secret_contribution_problem(zk.contributions)
    if problem is not None:
        raise CeremonyError(problem)
    digest = query_sections_digest(zk)
    checked = subgroup_checked(digest)
    queries = {name: _query_points(zk, sid, name, size, decode, not checked, backend)
               for sid, name, size, decode in _QUERY_SECTIONS}
    if not checked:
        remember_subgroup_checked(digest)
    return ProvingKey(
        vk=verifying_key(zk, backend),
        beta_g1=zk.beta_g1,
        delta_g1=zk.delta_g1,
        a_query=queries["A"],
        b_g1_query=queries["B1"],
        b_g2_query=queries["B2"],
        h_query=queries["H"],
        l_query=queries["L"],
        circuit_digest=compiled.digest(),
    )
