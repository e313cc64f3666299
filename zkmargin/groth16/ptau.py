"""Phase 1: snarkjs powers-of-tau files (.ptau) for curve bls12381.

Sections: 1 header (n8q, q, power, ceremony power), 2 [tau^i]_1 for i < 2^(power+1) - 1,
3 [tau^i]_2, 4 [alpha tau^i]_1, 5 [beta tau^i]_1 (i < 2^power each), 6 [beta]_2,
7 contributions; after ``snarkjs powersoftau prepare phase2`` also 12..15: the same
four series in the Lagrange basis of every domain 2^k, k = 0 .. power (12 goes up
to power + 1, which the H query needs), blocks concatenated by increasing k.
The Lagrange basis is over ffjavascript's roots of unity (generator 5, not our 7):
:data:`FFJS_GENERATOR` gives the same domains in snarkjs's order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zkmargin.backends import CurveBackend, get_backend
from zkmargin.backends.base import P
from zkmargin.binfile import (
    FQ_BYTES,
    G1_LEM,
    G2_LEM,
    BinFile,
    Reader,
    g1_from_lem,
    g1_list_from_lem,
    g1_to_lem,
    g2_from_lem,
    g2_list_from_lem,
    g2_to_lem,
    write_binfile,
)
from zkmargin.errors import CeremonyError, EncodingError
from zkmargin.field import TWO_ADICITY, R

FFJS_GENERATOR = 5
"""The smallest quadratic non-residue of Fr: ffjavascript's roots of unity are its odd-part powers."""
SECTION_TAU_G1, SECTION_TAU_G2, SECTION_ALPHA_TAU_G1, SECTION_BETA_TAU_G1, SECTION_BETA_G2 = 2, 3, 4, 5, 6
SECTION_LAGRANGE_TAU_G1, SECTION_LAGRANGE_TAU_G2 = 12, 13
SECTION_LAGRANGE_ALPHA_TAU_G1, SECTION_LAGRANGE_BETA_TAU_G1 = 14, 15
MAX_POWER = 28


def ffjs_root_of_unity(log_size: int) -> int:
    """ffjavascript's primitive 2^log_size-th root of unity (Fr.w[log_size])."""
    if not 0 <= log_size <= TWO_ADICITY:
        raise ValueError(f"no 2^{log_size}-th roots of unity in Fr")
    odd = (R - 1) >> TWO_ADICITY
    return pow(pow(FFJS_GENERATOR, odd, R), 1 << (TWO_ADICITY - log_size), R)


@dataclass
class PowersOfTau:
    """A parsed .ptau file; points are read on demand from its sections."""

    file: BinFile
    power: int
    ceremony_power: int
    contributions: int

    @property
    def prepared(self) -> bool:
        """Whether the phase-2 Lagrange sections are present."""
        return all(self.file.has(s) for s in (12, 13, 14, 15))

    def require_domain(self, log_n: int) -> None:
        """Raise unless this file is prepared and large enough for a domain of 2^log_n rows."""
        if log_n > self.power:
            raise CeremonyError(
                f"powers of tau too small: the circuit needs 2^{log_n} rows, the file holds 2^{self.power}"
            )
        if not self.prepared:
            raise CeremonyError("powers of tau is not prepared for phase 2 (run `snarkjs powersoftau prepare phase2`)")

    def _slice(self, sid: int, item: int, start: int, count: int, total: int) -> memoryview:
        body = self.file.section(sid, total * item)
        return body[start * item : (start + count) * item]

    def tau_g1_lem(self, start: int, count: int) -> memoryview:
        """LEM bytes of [tau^i]_1 for i in [start, start + count)."""
        return self._slice(SECTION_TAU_G1, G1_LEM, start, count, 2 * (1 << self.power) - 1)

    def lagrange_g1_lem(self, sid: int, log_n: int) -> memoryview:
        """LEM bytes of the 2^log_n Lagrange points of G1 section sid (12, 14 or 15)."""
        levels = self.power + 2 if sid == SECTION_LAGRANGE_TAU_G1 else self.power + 1
        if log_n >= levels:
            raise CeremonyError(f"powers of tau too small for a Lagrange basis of 2^{log_n} points")
        n = 1 << log_n
        return self._slice(sid, G1_LEM, n - 1, n, (1 << levels) - 1)

    def lagrange_g2_lem(self, log_n: int) -> memoryview:
        """LEM bytes of the 2^log_n Lagrange points of [tau]_2."""
        if log_n > self.power:
            raise CeremonyError(f"powers of tau too small for a Lagrange basis of 2^{log_n} points")
        n = 1 << log_n
        return self._slice(SECTION_LAGRANGE_TAU_G2, G2_LEM, n - 1, n, (1 << (self.power + 1)) - 1)

    # Bulk sections are checked on the curve but not in the subgroup (1000x faster): a
    # ptau is a public transcript, and a bad point only yields a key that fails everywhere.
    def lagrange_g1(self, sid: int, log_n: int, backend: CurveBackend | None = None) -> list[Any]:
        """The 2^log_n Lagrange points of G1 section sid, decoded (on-curve checked)."""
        backend = backend or get_backend()
        return g1_list_from_lem(self.lagrange_g1_lem(sid, log_n), backend, f"ptau section {sid}", False)

    def lagrange_g2(self, log_n: int, backend: CurveBackend | None = None) -> list[Any]:
        """The 2^log_n Lagrange points of [tau]_2, decoded (on-curve checked)."""
        backend = backend or get_backend()
        return g2_list_from_lem(self.lagrange_g2_lem(log_n), backend, "ptau section 13", False)

    def alpha_g1(self, backend: CurveBackend) -> Any:
        """[alpha]_1."""
        return g1_from_lem(bytes(self.file.section(SECTION_ALPHA_TAU_G1)[:G1_LEM]), backend, "ptau alpha")

    def beta_g1(self, backend: CurveBackend) -> Any:
        """[beta]_1."""
        return g1_from_lem(bytes(self.file.section(SECTION_BETA_TAU_G1)[:G1_LEM]), backend, "ptau beta")

    def beta_g2(self, backend: CurveBackend) -> Any:
        """[beta]_2."""
        return g2_from_lem(bytes(self.file.section(SECTION_BETA_G2, G2_LEM)), backend, "ptau beta2")


def read_ptau(data: bytes, what: str = "ptau file") -> PowersOfTau:
    """Parse a .ptau file for bls12381 (header and section sizes are checked here, points when used)."""
    file = BinFile(data, "ptau", what, max_version=1)
    header = Reader(file.section(1), what)
    n8 = header.u32()
    if n8 != FQ_BYTES:
        raise EncodingError(f"{what}: field size {n8} bytes is not BLS12-381's 48")
    if header.integer(n8) != P:
        raise EncodingError(f"{what}: not a bls12381 ceremony (another base field prime)")
    power = header.u32()
    ceremony_power = header.u32()
    header.done()
    if not 1 <= power <= MAX_POWER:
        raise EncodingError(f"{what}: power {power} out of range")
    n = 1 << power
    expected = {
        SECTION_TAU_G1: (2 * n - 1) * G1_LEM,
        SECTION_TAU_G2: n * G2_LEM,
        SECTION_ALPHA_TAU_G1: n * G1_LEM,
        SECTION_BETA_TAU_G1: n * G1_LEM,
        SECTION_BETA_G2: G2_LEM,
    }
    if file.has(12):
        expected.update({
            SECTION_LAGRANGE_TAU_G1: (4 * n - 1) * G1_LEM,
            SECTION_LAGRANGE_TAU_G2: (2 * n - 1) * G2_LEM,
            SECTION_LAGRANGE_ALPHA_TAU_G1: (2 * n - 1) * G1_LEM,
            SECTION_LAGRANGE_BETA_TAU_G1: (2 * n - 1) * G1_LEM,
        })
    for sid, size in expected.items():
        file.section(sid, size)
    contributions = Reader(file.section(7), what).u32()
    return PowersOfTau(file, power, ceremony_power, contributions)


def load_ptau(path: str | Path) -> PowersOfTau:
    """Read and parse a .ptau file."""
    path = Path(path)
    return read_ptau(path.read_bytes(), str(path))


def insecure_ptau_for_tests(power: int, rng: random.Random, backend: CurveBackend | None = None) -> bytes:
    """A prepared .ptau with tau, alpha, beta drawn from rng: anyone who knows rng can forge. Tests and benches only.

    Laid out as snarkjs lays out a prepared file (no contributions recorded), so that
    circuits bigger than a snarkjs ptau made in test time allows can go through the
    phase-2 code. The top level of section 12 is, as in snarkjs, the Lagrange transform
    of tau^0 .. tau^(2^(power+1) - 2) with the missing last power taken as zero.
    """
    from zkmargin.field import inv

    backend = backend or get_backend()
    if not 1 <= power <= MAX_POWER:
        raise ValueError(f"power {power} out of range")
    tau, alpha, beta = (1 + rng.randrange(R - 1) for _ in range(3))
    n = 1 << power
    powers = [1] * (2 * n)
    for i in range(1, 2 * n):
        powers[i] = powers[i - 1] * tau % R
    g1, g2 = backend.g1_generator(), backend.g2_generator()

    def g1_block(scalars: list[int]) -> bytes:
        return b"".join(g1_to_lem(p, backend) for p in backend.g1_batch_mul(g1, scalars))

    def g2_block(scalars: list[int]) -> bytes:
        return b"".join(g2_to_lem(p, backend) for p in backend.g2_batch_mul(g2, scalars))

    def lagrange(log_m: int, truncated: bool) -> list[int]:
        m = 1 << log_m
        w = ffjs_root_of_unity(log_m)
        z_over_m = (powers[m] if m < 2 * n else pow(tau, m, R)) - 1
        z_over_m = z_over_m * inv(m) % R
        out, x = [], 1
        for _ in range(m):
            value = z_over_m * x % R * inv((tau - x) % R) % R
            if truncated:
                value = (value - x * pow(tau, m - 1, R) * inv(m)) % R
            out.append(value)
            x = x * w % R
        return out

    levels = [lagrange(k, False) for k in range(power + 1)]
    flat = [v for level in levels for v in level]
    top = lagrange(power + 1, True)
    header = FQ_BYTES.to_bytes(4, "little") + P.to_bytes(FQ_BYTES, "little") + power.to_bytes(4, "little") * 2
    sections = [
        (1, header),
        (SECTION_TAU_G1, g1_block(powers[: 2 * n - 1])),
        (SECTION_TAU_G2, g2_block(powers[:n])),
        (SECTION_ALPHA_TAU_G1, g1_block([alpha * p % R for p in powers[:n]])),
        (SECTION_BETA_TAU_G1, g1_block([beta * p % R for p in powers[:n]])),
        (SECTION_BETA_G2, g2_block([beta])),
        (7, (0).to_bytes(4, "little")),
        (SECTION_LAGRANGE_TAU_G1, g1_block(flat + top)),
        (SECTION_LAGRANGE_TAU_G2, g2_block(flat)),
        (SECTION_LAGRANGE_ALPHA_TAU_G1, g1_block([alpha * v % R for v in flat])),
        (SECTION_LAGRANGE_BETA_TAU_G1, g1_block([beta * v % R for v in flat])),
    ]
    return write_binfile("ptau", 1, sections)
