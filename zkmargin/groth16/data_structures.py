"""Groth16 keys and proofs (field names and meanings follow the paper and ark-groth16).

Points are opaque objects of one curve backend; the functions that create or
read them take that backend as an argument. tau, alpha, beta, gamma and delta
are the setup's toxic waste: they exist only inside ``generator.setup``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

G1 = Any
G2 = Any


@dataclass(frozen=True)
class Proof:
    """pi = (A, B, C) with A, C in G1 and B in G2."""

    a: G1
    b: G2
    c: G1


@dataclass(frozen=True)
class VerifyingKey:
    """Everything a verifier needs; gamma_abc_g1 has one point per public input plus one."""

    alpha_g1: G1
    """[alpha]_1"""
    beta_g2: G2
    """[beta]_2"""
    gamma_g2: G2
    """[gamma]_2"""
    delta_g2: G2
    """[delta]_2"""
    gamma_abc_g1: tuple[G1, ...]
    """[(beta*A_i(tau) + alpha*B_i(tau) + C_i(tau)) / gamma]_1 for i = 0 (the constant one) .. num_public"""

    @property
    def num_public(self) -> int:
        """Number of public inputs the key expects (excluding the constant one)."""
        return len(self.gamma_abc_g1) - 1


@dataclass(frozen=True)
class ProvingKey:
    """The prover's share of the setup, bound to one compiled circuit by its digest."""

    vk: VerifyingKey
    beta_g1: G1
    """[beta]_1"""
    delta_g1: G1
    """[delta]_1"""
    a_query: tuple[G1, ...]
    """[A_i(tau)]_1 for every variable i"""
    b_g1_query: tuple[G1, ...]
    """[B_i(tau)]_1 for every variable i"""
    b_g2_query: tuple[G2, ...]
    """[B_i(tau)]_2 for every variable i"""
    h_query: tuple[G1, ...]
    """[tau^i * Z(tau) / delta]_1 for i = 0 .. n - 2, Z the vanishing polynomial of the domain"""
    l_query: tuple[G1, ...]
    """[(beta*A_i(tau) + alpha*B_i(tau) + C_i(tau)) / delta]_1 for every private variable i"""
    circuit_digest: bytes
    """SHA-256 of the compiled constraint system this key was made for."""

    @property
    def domain_size(self) -> int:
        """Size n of the evaluation domain."""
        return len(self.h_query) + 1
