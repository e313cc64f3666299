"""R1CS to QAP: the evaluation domain, the key's polynomials at tau, the prover's quotient h.

As in ark-groth16's LibsnarkReduction, the domain holds one extra row per public
input (and the constant one) where A(x) = z_i: this makes the public inputs'
polynomials linearly independent, which Groth16's soundness proof assumes.
"""

from __future__ import annotations

from collections.abc import Sequence

from zkmargin import field, ntt
from zkmargin.errors import CircuitError, UnsatisfiedError
from zkmargin.field import MULTIPLICATIVE_GENERATOR, R, inv, root_of_unity
from zkmargin.r1cs import CompiledR1CS

MAX_DOMAIN_LOG_SIZE = 24


def domain_log_size(compiled: CompiledR1CS) -> int:
    """log2 of the smallest power-of-two domain holding the constraints and the input rows."""
    rows = compiled.num_constraints + compiled.num_public + 1
    log_n = max(1, (rows - 1).bit_length())
    if log_n > MAX_DOMAIN_LOG_SIZE:
        raise CircuitError(f"{rows} QAP rows exceed the supported domain 2^{MAX_DOMAIN_LOG_SIZE}")
    return log_n


def _batch_inverse(values: list[int]) -> list[int]:
    """Montgomery's trick: n inverses for one exponentiation (all values must be non-zero)."""
    prefix = [1] * (len(values) + 1)
    for i, v in enumerate(values):
        prefix[i + 1] = prefix[i] * v % R
    acc = inv(prefix[-1])
    out = [0] * len(values)
    for i in range(len(values) - 1, -1, -1):
        out[i] = acc * prefix[i] % R
        acc = acc * values[i] % R
    return out


def lagrange_at(tau: int, log_n: int) -> list[int]:
    """L_j(tau) for every point omega^j of the domain: Z(tau) * omega^j / (n * (tau - omega^j))."""
    n = 1 << log_n
    omega = root_of_unity(log_n)
    z_tau = (pow(tau, n, R) - 1) % R
    if z_tau == 0:
        raise CircuitError("tau lies in the evaluation domain; draw it again")
    powers = [1] * n
    for j in range(1, n):
        powers[j] = powers[j - 1] * omega % R
    inverses = _batch_inverse([(tau - w) % R for w in powers])
    scale = z_tau * inv(n) % R
    return [scale * w % R * d % R for w, d in zip(powers, inverses)]


def evaluate_at_tau(
    compiled: CompiledR1CS, tau: int
) -> tuple[list[int], list[int], list[int], int, int]:
    """(A_i(tau), B_i(tau), C_i(tau)) for every variable, Z(tau) and log2 of the domain size."""
    log_n = domain_log_size(compiled)
    n = 1 << log_n
    lagrange = lagrange_at(tau, log_n)
    num_vars = compiled.num_variables
    a_tau, b_tau, c_tau = [0] * num_vars, [0] * num_vars, [0] * num_vars
    for matrix, out in ((compiled.a, a_tau), (compiled.b, b_tau), (compiled.c, c_tau)):
        for row, l_j in zip(matrix, lagrange):
            for var, coeff in row:
                out[var] = (out[var] + coeff * l_j) % R
    m = compiled.num_constraints
    for i in range(compiled.num_public + 1):
        a_tau[i] = (a_tau[i] + lagrange[m + i]) % R
    z_tau = (pow(tau, n, R) - 1) % R
    return a_tau, b_tau, c_tau, z_tau, log_n


def witness_evaluations(
    compiled: CompiledR1CS, z: Sequence[int]
) -> tuple[list[int], list[int], list[int]]:
    """A(x), B(x), C(x) on the domain for assignment z; raises UnsatisfiedError naming a broken row."""
    if not ntt.NATIVE:
        return witness_evaluations_reference(compiled, z)
    raw = witness_evaluations_raw(compiled, ntt.to_bytes(z))
    return ntt.from_bytes(raw[0]), ntt.from_bytes(raw[1]), ntt.from_bytes(raw[2])


def witness_evaluations_raw(compiled: CompiledR1CS, z_raw: bytes) -> tuple[bytes, bytes, bytes]:
    """witness_evaluations on the kernel's buffers (32 little-endian bytes an element), as the prover keeps them."""
    if len(z_raw) != 32 * compiled.num_variables:
        raise CircuitError(f"assignment must have {compiled.num_variables} entries, got {len(z_raw) // 32}")
    if not ntt.NATIVE:
        a_ints, b_ints, c_ints = witness_evaluations_reference(compiled, ntt.from_bytes(z_raw))
        return ntt.to_bytes(a_ints), ntt.to_bytes(b_ints), ntt.to_bytes(c_ints)
    n = 1 << domain_log_size(compiled)
    rows = [part for matrix in compiled.sparse_rows for part in matrix]
    az, bz, cz, bad_row = ntt.kernel.evaluate(z_raw, n, compiled.num_public + 1, *rows)
    if bad_row >= 0:
        raise UnsatisfiedError(compiled.labels[bad_row])
    return az, bz, cz


def witness_evaluations_reference(
    compiled: CompiledR1CS, z: Sequence[int]
) -> tuple[list[int], list[int], list[int]]:
    """Pure-Python witness_evaluations, row by row (the kernel's fallback and its test oracle)."""
    n = 1 << domain_log_size(compiled)
    m = compiled.num_constraints
    az, bz, cz = [0] * n, [0] * n, [0] * n
    for j in range(m):
        av = sum(coeff * z[var] for var, coeff in compiled.a[j]) % R
        bv = sum(coeff * z[var] for var, coeff in compiled.b[j]) % R
        cv = sum(coeff * z[var] for var, coeff in compiled.c[j]) % R
        if av * bv % R != cv:
            raise UnsatisfiedError(compiled.labels[j])
        az[j], bz[j], cz[j] = av, bv, cv
    for i in range(compiled.num_public + 1):
        az[m + i] = z[i]
    return az, bz, cz


def quotient_coefficients(az: list[int], bz: list[int], cz: list[int]) -> list[int]:
    """Coefficients of h = (A*B - C) / Z over the domain (length n, top entry zero).

    Runs the compiled kernel (zkmargin.ntt); tests check it against the
    pure-Python reference below.
    """
    return ntt.quotient_coefficients(az, bz, cz)


def quotient_coefficients_reference(az: list[int], bz: list[int], cz: list[int]) -> list[int]:
    """Pure-Python h: interpolate, evaluate on the coset g*H where Z is the constant g^n - 1, divide, interpolate."""
    n = len(az)
    g = MULTIPLICATIVE_GENERATOR
    g_powers = [1] * n
    for i in range(1, n):
        g_powers[i] = g_powers[i - 1] * g % R
    coset_evals = []
    for evals in (az, bz, cz):
        coeffs = field.intt(list(evals))
        coset_evals.append(field.ntt([c * p % R for c, p in zip(coeffs, g_powers)]))
    z_inv = inv((pow(g, n, R) - 1) % R)
    h_coset = [(a * b - c) * z_inv % R for a, b, c in zip(*coset_evals)]
    h_shifted = field.intt(h_coset)
    g_inv_powers = [1] * n
    g_inv = inv(g)
    for i in range(1, n):
        g_inv_powers[i] = g_inv_powers[i - 1] * g_inv % R
    return [c * p % R for c, p in zip(h_shifted, g_inv_powers)]
