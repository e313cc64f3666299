"""Groth16 prover: checks the witness against the constraints, then builds (A, B, C).

A = alpha + sum_i z_i A_i(tau) + r delta                        (G1)
B = beta + sum_i z_i B_i(tau) + s delta                         (G2, and in G1 for C)
C = sum_{i private} z_i L_i + sum_j h_j H_j + s A + r B_1 - r s delta   (G1)
r and s are fresh uniform scalars per proof; they make the proof zero-knowledge.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from zkmargin.backends import CurveBackend, get_backend
from zkmargin.backends.base import G1, G2
from zkmargin.errors import CircuitError
from zkmargin.field import R
from zkmargin.groth16.data_structures import Proof, ProvingKey
from zkmargin.groth16.query_bases import proving_bases
from zkmargin.groth16.r1cs_to_qap import witness_evaluations, witness_evaluations_raw
from zkmargin.ntt import quotient_raw, to_bytes
from zkmargin.r1cs import CompiledR1CS

T = TypeVar("T")

_Z_ORDER = ("b_g2", "l", "a", "b_g1")
"""The order the MSMs over the witness are queued in (longest first)."""


def prove(
    pk: ProvingKey,
    compiled: CompiledR1CS,
    assignment: Sequence[int],
    rng: random.Random | None = None,
    backend: CurveBackend | None = None,
    timings: dict[str, float] | None = None,
    precompute_mb: float | None = None,
) -> Proof:
    """Prove that assignment z = [1, public..., private...] satisfies the compiled circuit.

    precompute_mb: the key's fixed-base table budget (zkmargin.groth16.query_bases.proving_bases)."""
    backend = backend or get_backend()
    rng = rng or secrets.SystemRandom()
    clock = _Clock(timings)
    z = _checked_assignment(pk, compiled, assignment)
    # The vectors stay in the kernels' 32-byte form from here to the MSMs: no per-element conversions.
    z_raw = to_bytes(z)
    clock.lap("digest")
    # Checks every constraint (UnsatisfiedError names the broken one) before any MSM starts.
    az, bz, cz = witness_evaluations_raw(compiled, z_raw)
    if len(az) != 32 * pk.domain_size:
        raise CircuitError("proving key domain does not match the circuit")
    clock.lap("evaluate")

    r = rng.randrange(R)
    s = rng.randrange(R)
    # h in the monomial basis of pk.h_query (a key with another H basis computes its h here).
    a_sum, b2_sum, b1_sum, l_sum, h_sum = _query_sums(
        pk, z_raw, compiled.num_public + 1, lambda: quotient_raw(az, bz, cz), backend, clock, precompute_mb
    )
    proof = _combine(pk, a_sum, b2_sum, b1_sum, l_sum, h_sum, r, s, backend)
    clock.lap("combine")
    return proof


def _query_sums(pk: ProvingKey, z_raw: bytes, num_inputs: int, h_scalars: Callable[[], bytes],
                backend: CurveBackend, clock: _Clock, precompute_mb: float | None) -> tuple[G1, G2, G1, G1, G1]:
    """The five MSMs of a proof: sum_i z_i A_i, B_i (G2 and G1), L_i (private i) and sum_j h_j H_j.

    z_raw and h_scalars() are 32-byte little-endian buffers, one element per point.
    The MSMs release the GIL and the NTT kernel does too: the MSMs that do not
    need h run on two threads while this one computes h.
    """
    bases = proving_bases(pk, backend, precompute_mb)
    clock.lap("tables")
    scalars = {"b_g2": z_raw, "l": z_raw[32 * num_inputs :], "a": z_raw, "b_g1": z_raw}
    with ThreadPoolExecutor(max_workers=2) as pool:
        # Longest first (G2 additions cost ~3x G1's; L and A have the most nonzero terms), so the two threads
        # reach the H halves, queued last, at nearly the same time: in submission order A, B_G1 and L all ran
        # on one thread while B_G2 ran on the other, and that thread's H half finished last.
        jobs = {f"msm_{name}": pool.submit(_timed, getattr(bases, name).msm, scalars[name]) for name in _Z_ORDER}
        h = h_scalars()
        clock.lap("ntt")
        split = 32 * bases.h_split
        jobs["msm_h"] = pool.submit(_timed, bases.h_low.msm, h[:split])
        jobs["msm_h_2"] = pool.submit(_timed, bases.h_high.msm, h[split : 32 * len(pk.h_query)])
        results = {name: job.result() for name, job in jobs.items()}
    clock.lap("msm_wall")
    if clock.timings is not None:
        for name, (_, seconds) in results.items():
            key = "msm_h" if name.startswith("msm_h") else name
            clock.timings[key] = clock.timings.get(key, 0.0) + seconds
    h_sum = backend.g1_add(results["msm_h"][0], results["msm_h_2"][0])
    return (*(results[k][0] for k in ("msm_a", "msm_b_g2", "msm_b_g1", "msm_l")), h_sum)


def _checked_assignment(pk: ProvingKey, compiled: CompiledR1CS, assignment: Sequence[int]) -> list[int]:
    """z as a list, once the key is the circuit's and z is [1, ...] of the right length, every value in [0, r)."""
    if compiled.digest() != pk.circuit_digest:
        raise CircuitError("proving key was generated for a different circuit")
    z = list(assignment)
    if len(z) != compiled.num_variables or z[0] != 1:
        raise CircuitError(f"assignment must have {compiled.num_variables} entries starting with 1, got {len(z)}")
    if any(not 0 <= v < R for v in z):
        raise CircuitError("assignment values must lie in [0, r)")
    return z


def _combine(pk: ProvingKey, a_sum: G1, b2_sum: G2, b1_sum: G1, l_sum: G1, h_sum: G1, r: int, s: int,
             backend: CurveBackend) -> Proof:
    """A = alpha + sum_a + r delta, B = beta + sum_b + s delta, C = L + H + s A + r B_1 - r s delta."""
    proof_a = backend.g1_add(backend.g1_add(pk.vk.alpha_g1, a_sum), backend.g1_mul(pk.delta_g1, r))
    proof_b = backend.g2_add(backend.g2_add(pk.vk.beta_g2, b2_sum), backend.g2_mul(pk.vk.delta_g2, s))
    b_g1 = backend.g1_add(backend.g1_add(pk.beta_g1, b1_sum), backend.g1_mul(pk.delta_g1, s))
    proof_c = backend.g1_msm([l_sum, h_sum, proof_a, b_g1, pk.delta_g1], [1, 1, s, r, (-r * s) % R])
    return Proof(a=proof_a, b=proof_b, c=proof_c)


def _timed(function: Callable[..., T], *args: Any) -> tuple[T, float]:
    """(function(*args), seconds it took) — per-MSM figures for the benchmark."""
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


class _Clock:
    """Accumulates wall-clock laps into an optional timings dict."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[name] = self.timings.get(name, 0.0) + now - self.last
        self.last = now


def prove_zkey(
    pk: ProvingKey,
    compiled: CompiledR1CS,
    assignment: Sequence[int],
    rng: random.Random | None = None,
    backend: CurveBackend | None = None,
    timings: dict[str, float] | None = None,
    precompute_mb: float | None = None,
) -> Proof:
    """Prove with a key from a snarkjs .zkey (zkmargin.groth16.zkey.proving_key): snarkjs's H convention.

    pk.h_query holds n points [L^(2n)_(2i+1)(tau)/delta]_1 instead of [tau^i Z(tau)/delta]_1,
    and the scalars are A*B - C on the odd 2n-th roots (zkmargin.groth16.snarkjs_qap).
    """
    from zkmargin.groth16.snarkjs_qap import odd_coset_evaluations

    backend = backend or get_backend()
    rng = rng or secrets.SystemRandom()
    clock = _Clock(timings)
    z = _checked_assignment(pk, compiled, assignment)
    clock.lap("digest")
    az, bz, cz = witness_evaluations(compiled, z)
    if len(az) != len(pk.h_query):
        raise CircuitError("proving key domain does not match the circuit")
    clock.lap("evaluate")
    r, s = rng.randrange(R), rng.randrange(R)
    # The same overlap as prove(): A, B and L MSMs on two threads while this one computes h.
    a_sum, b2_sum, b1_sum, l_sum, h_sum = _query_sums(
        pk, to_bytes(z), compiled.num_public + 1, lambda: to_bytes(odd_coset_evaluations(az, bz, cz)), backend, clock,
        precompute_mb,
    )
    proof = _combine(pk, a_sum, b2_sum, b1_sum, l_sum, h_sum, r, s, backend)
    _require_prime_order(proof, backend)
    clock.lap("combine")
    return proof


def _require_prime_order(proof: Proof, backend: CurveBackend) -> None:
    """Refuse proof points outside the prime-order subgroup (a backstop for keys built in memory).

    This alone does not stop torsion from leaking: refusing for one witness value and proving
    for another is itself the leak. zkey.proving_key subgroup-checks every query point on load.
    """
    from zkmargin.errors import MalformedKeyError, MalformedPointError

    try:
        backend.g1_from_bytes(backend.g1_to_bytes(proof.a))
        backend.g2_from_bytes(backend.g2_to_bytes(proof.b))
        backend.g1_from_bytes(backend.g1_to_bytes(proof.c))
    except MalformedPointError:
        raise MalformedKeyError("the proving key has points outside the prime-order subgroup; no proof was made") from None
