"""Groth16 setup for one compiled circuit (single party).

The toxic waste (tau, alpha, beta, gamma, delta) is drawn from the given RNG,
which defaults to the OS CSPRNG, lives only in this function's locals and is
never stored, returned or logged. Tests pass a seeded RNG to get reproducible
keys; anyone who knows the seed can forge proofs, so production never does.
"""

from __future__ import annotations

import random
import secrets

from zkmargin.backends import CurveBackend, get_backend
from zkmargin.field import R, inv
from zkmargin.groth16.data_structures import ProvingKey, VerifyingKey
from zkmargin.groth16.query_bases import QueryBases, remember_bases
from zkmargin.groth16.r1cs_to_qap import evaluate_at_tau
from zkmargin.r1cs import CompiledR1CS


def random_nonzero_scalar(rng: random.Random) -> int:
    """A uniform scalar in [1, r)."""
    return 1 + rng.randrange(R - 1)


def setup(
    compiled: CompiledR1CS,
    rng: random.Random | None = None,
    backend: CurveBackend | None = None,
) -> ProvingKey:
    """Generate proving and verification keys for the compiled circuit."""
    backend = backend or get_backend()
    rng = rng or secrets.SystemRandom()
    tau, alpha, beta, gamma, delta = (random_nonzero_scalar(rng) for _ in range(5))
    # delta == gamma would let anyone forge proofs (the "unset delta" bug class);
    # the chance is 2^-255 but the verifier refuses such keys, so never emit one.
    while delta == gamma or delta == 1:
        delta = random_nonzero_scalar(rng)
    a_tau, b_tau, c_tau, z_tau, log_n = evaluate_at_tau(compiled, tau)
    gamma_inv, delta_inv = inv(gamma), inv(delta)
    num_inputs = compiled.num_public + 1
    combined = [(beta * a + alpha * b + c) % R for a, b, c in zip(a_tau, b_tau, c_tau)]
    gamma_abc = [x * gamma_inv % R for x in combined[:num_inputs]]
    l_scalars = [x * delta_inv % R for x in combined[num_inputs:]]
    h_scalars = []
    acc = z_tau * delta_inv % R
    for _ in range((1 << log_n) - 1):
        h_scalars.append(acc)
        acc = acc * tau % R

    g1, g2 = backend.g1_generator(), backend.g2_generator()
    alpha_g1, beta_g1, delta_g1 = backend.g1_batch_mul(g1, [alpha, beta, delta])
    beta_g2, gamma_g2, delta_g2 = backend.g2_batch_mul(g2, [beta, gamma, delta])
    vk = VerifyingKey(
        alpha_g1=alpha_g1,
        beta_g2=beta_g2,
        gamma_g2=gamma_g2,
        delta_g2=delta_g2,
        gamma_abc_g1=tuple(backend.g1_batch_mul(g1, gamma_abc)),
    )
    a_query, a_bases = backend.g1_batch_mul_bases(g1, a_tau)
    b_g1_query, b_g1_bases = backend.g1_batch_mul_bases(g1, b_tau)
    b_g2_query, b_g2_bases = backend.g2_batch_mul_bases(g2, b_tau)
    # The prover splits H between its two MSM threads: the halves are made (and prepared) apart.
    split = len(h_scalars) // 2
    h_low, h_low_bases = backend.g1_batch_mul_bases(g1, h_scalars[:split])
    h_high, h_high_bases = backend.g1_batch_mul_bases(g1, h_scalars[split:])
    l_query, l_bases = backend.g1_batch_mul_bases(g1, l_scalars)
    pk = ProvingKey(
        vk=vk,
        beta_g1=beta_g1,
        delta_g1=delta_g1,
        a_query=tuple(a_query),
        b_g1_query=tuple(b_g1_query),
        b_g2_query=tuple(b_g2_query),
        h_query=tuple(h_low + h_high),
        l_query=tuple(l_query),
        circuit_digest=compiled.digest(),
    )
    remember_bases(pk, backend, QueryBases(a=a_bases, b_g1=b_g1_bases, b_g2=b_g2_bases, l=l_bases,
                                           h_low=h_low_bases, h_high=h_high_bases, h_split=split))
    return pk
