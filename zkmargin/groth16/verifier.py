"""Groth16 verifier: one product-of-pairings check.

e(A, B) = e(alpha, beta) * e(sum_i x_i * gamma_abc_i, gamma) * e(C, delta)
is checked as e(A, B) * e(-acc, gamma) * e(-C, delta) == e(alpha, beta). A key is
checked and prepared once (prepare_verifying_key): e(alpha, beta) and the Miller-loop
lines of gamma and delta, so a proof costs one Miller loop with fresh lines and two
over precomputed ones, sharing one final exponentiation.
Malformed input (wrong input count, inputs >= r, identity points, an unsafe key)
raises a ZkMarginError subclass; a well-formed but wrong proof returns False.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zkmargin.backends import CurveBackend, get_backend
from zkmargin.backends.base import G1
from zkmargin.errors import MalformedKeyError, MalformedProofError, PublicInputError
from zkmargin.field import R
from zkmargin.groth16.data_structures import Proof, VerifyingKey


def check_verifying_key(vk: VerifyingKey, backend: CurveBackend) -> None:
    """Refuse keys that accept forged proofs: delta equal to gamma or to the G2 generator, identities."""
    if not vk.gamma_abc_g1:
        raise MalformedKeyError("verification key has no gamma_abc_g1 points")
    for name in ("alpha_g1",):
        if backend.g1_is_identity(getattr(vk, name)):
            raise MalformedKeyError(f"verification key {name} is the identity")
    for name in ("beta_g2", "gamma_g2", "delta_g2"):
        if backend.g2_is_identity(getattr(vk, name)):
            raise MalformedKeyError(f"verification key {name} is the identity")
    # An identity gamma_abc point means that input has zero QAP polynomials (a key
    # from a reduction without input rows, for a circuit that never uses it): any
    # value would verify. For a bound input this has probability ~2^-255.
    if any(map(backend.g1_is_identity, vk.gamma_abc_g1)):
        i = next(i for i, point in enumerate(vk.gamma_abc_g1) if backend.g1_is_identity(point))
        raise MalformedKeyError(f"verification key gamma_abc_g1[{i}] is the identity: that public input is unbound")
    check_gamma_delta(vk, backend)
    if backend.g2_eq(vk.delta_g2, backend.g2_generator()):
        raise MalformedKeyError(
            "verification key has delta == the G2 generator (no setup contribution): refusing it"
        )


def check_gamma_delta(vk: VerifyingKey, backend: CurveBackend) -> None:
    """Refuse a key whose delta is gamma or -gamma: with either, anyone can forge proofs for any inputs."""
    # With delta == gamma, C := -sum x_i gamma_abc_i and A, B from alpha, beta satisfy the
    # equation for any inputs; with delta == -gamma, C := +sum x_i gamma_abc_i does. With
    # delta = [1]_2 (no setup contribution) the same forgery works whenever gamma is the generator.
    if backend.g2_eq(vk.delta_g2, vk.gamma_g2):
        raise MalformedKeyError("verification key has delta == gamma: anyone could forge proofs")
    if backend.g2_eq(vk.delta_g2, backend.g2_neg(vk.gamma_g2)):
        raise MalformedKeyError("verification key has delta == -gamma: anyone could forge proofs")


def check_distinct_input_points(vk: VerifyingKey, backend: CurveBackend) -> None:
    """Refuse a key whose gamma_abc points repeat; run where a key is decoded (it costs ~10 us a point)."""
    # Two equal gamma_abc points fold inputs i and j together: a proof made for (x_i, x_j) then passes for any
    # (x_i', x_j') with the same sum, e.g. another commitment with the difference moved into the context.
    first_index: dict[bytes, int] = {}
    for i, point in enumerate(vk.gamma_abc_g1):
        encoded = backend.g1_to_bytes(point)
        if encoded in first_index:
            raise MalformedKeyError(
                f"verification key gamma_abc_g1[{first_index[encoded]}] and gamma_abc_g1[{i}] are equal: "
                "those public inputs are not bound separately"
            )
        first_index[encoded] = i


def check_public_inputs(vk: VerifyingKey, public_inputs: Sequence[int]) -> list[int]:
    """Exact count and every input an integer in [0, r); CVE-2023-33252 class inputs >= r are refused."""
    if len(public_inputs) != vk.num_public:
        raise PublicInputError(
            f"expected {vk.num_public} public inputs, got {len(public_inputs)}"
        )
    return check_input_values(public_inputs)


def check_input_values(values: Sequence[int]) -> list[int]:
    """The values as a list when every one is an integer in [0, r); PublicInputError names the first that is not."""
    values = list(values)
    # Plain ints all in range (the usual case) are accepted in C loops; anything else takes the loop that names it.
    if values and set(map(type, values)) == {int} and min(values) >= 0 and max(values) < R:
        return values
    checked = []
    for i, value in enumerate(values):
        if not isinstance(value, int) or isinstance(value, bool):
            raise PublicInputError(f"public input {i} is not an integer")
        if not 0 <= value < R:
            raise PublicInputError(f"public input {i} is outside [0, r)")
        checked.append(value)
    return checked


def check_proof_points(proof: Proof, backend: CurveBackend) -> None:
    """A, B, C must not be the identity (a real proof has them non-zero except with negligible chance)."""
    if backend.g1_is_identity(proof.a):
        raise MalformedProofError("proof point A is the identity")
    if backend.g2_is_identity(proof.b):
        raise MalformedProofError("proof point B is the identity")
    if backend.g1_is_identity(proof.c):
        raise MalformedProofError("proof point C is the identity")


_FEW_INPUTS = 4
"""Up to this many inputs (the per-proof ones of a folded key) are multiplied one by one, from cached tables."""

_NARROW_BITS = 64
"""Snapshot values (prices and sizes below 2^64, rates up to 1e8) are narrower than this.

The curve library's MSM runs every window up to its widest scalar for all points: one 253-bit input (a layout
digest) among 208 of at most 44 bits costs ~0.6 ms more than those 208 alone. Up to _FEW_INPUTS wider inputs
are therefore multiplied one by one (from the point's cached table once it recurs) and the rest go to one MSM.
"""


def prepare_inputs(vk: VerifyingKey, public_inputs: Sequence[int], backend: CurveBackend) -> Any:
    """gamma_abc_0 + sum_i x_i * gamma_abc_i (G1), after checking the inputs."""
    inputs = check_public_inputs(vk, public_inputs)
    return backend.g1_add(vk.gamma_abc_g1[0], fold_inputs(vk.gamma_abc_g1[1:], inputs, backend))


def fold_inputs(points: Sequence[Any], scalars: Sequence[int], backend: CurveBackend) -> Any:
    """sum_i scalars_i * points_i over a key's input points, for scalars already checked to lie in [0, r)."""
    if len(scalars) <= _FEW_INPUTS:
        # An MSM's fixed costs dominate for a couple of points; the key's points recur with every proof.
        acc = backend.g1_identity()
        for point, value in zip(points, scalars):
            acc = backend.g1_add(acc, backend.g1_mul_fixed(point, value))
        return acc
    wide = [i for i, value in enumerate(scalars) if value >> _NARROW_BITS]
    if not wide or len(wide) > _FEW_INPUTS:
        return backend.g1_msm(list(points), list(scalars))
    acc = backend.g1_identity()
    for i in wide:
        acc = backend.g1_add(acc, backend.g1_mul_fixed(points[i], scalars[i]))
    # Zero inputs (empty slots of a padded snapshot) add nothing: leave them out of the MSM too.
    narrow = [i for i, value in enumerate(scalars) if value and not value >> _NARROW_BITS]
    if narrow:
        acc = backend.g1_add(acc, backend.g1_msm([points[i] for i in narrow], [scalars[i] for i in narrow]))
    return acc


@dataclass(frozen=True)
class FixedInputs:
    """sum_j x_j gamma_abc_(1 + leading + j) over public inputs shared by many proofs."""

    leading: int
    point: Any


def fixed_inputs_sum(vk: VerifyingKey, leading: int, fixed_inputs: Sequence[int], backend: CurveBackend) -> FixedInputs:
    """Fold the public inputs after the first `leading` ones (e.g. a snapshot's values) into one point.

    A verifier checking many proofs against one snapshot computes this once and
    passes it to verify_with_fixed_inputs; only the leading inputs (commitment,
    context) are multiplied per proof.
    """
    if leading < 0 or leading + len(fixed_inputs) != vk.num_public:
        raise PublicInputError(f"expected {vk.num_public - leading} fixed public inputs, got {len(fixed_inputs)}")
    checked = check_input_values(fixed_inputs)
    return FixedInputs(leading, fold_inputs(vk.gamma_abc_g1[1 + leading :], checked, backend))


def verify_with_fixed_inputs(
    vk: VerifyingKey,
    leading_inputs: Sequence[int],
    fixed: FixedInputs,
    proof: Proof,
    backend: CurveBackend | None = None,
) -> bool:
    """verify() where the public inputs after the leading ones were folded beforehand by fixed_inputs_sum."""
    backend = backend or get_backend()
    if len(leading_inputs) != fixed.leading:
        raise PublicInputError(f"expected {fixed.leading} leading public inputs, got {len(leading_inputs)}")
    prepared = prepare_verifying_key(vk, backend)
    check_proof_points(proof, backend)
    leading = fold_inputs(vk.gamma_abc_g1[1 : 1 + fixed.leading], check_input_values(leading_inputs), backend)
    acc = backend.g1_add(backend.g1_add(vk.gamma_abc_g1[0], leading), fixed.point)
    return _pairing_equation(prepared, acc, proof)


@dataclass(frozen=True)
class PreparedVerifyingKey:
    """A checked key with what every proof under it reuses (ark-groth16's PreparedVerifyingKey).

    alpha_beta = e(alpha_g1, beta_g2); beta_g2, gamma_g2, delta_g2 are the backend's prepared operands (their
    Miller-loop lines, made once), so a verification is one Miller loop with fresh lines, e(A, B), and two over
    precomputed lines, sharing one final exponentiation.
    """

    vk: VerifyingKey
    backend: CurveBackend
    alpha_beta: Any
    neg_alpha_g1: Any
    beta_g2: Any
    gamma_g2: Any
    delta_g2: Any


_PREPARED: dict[tuple[int, int], PreparedVerifyingKey] = {}
_PREPARED_ENTRIES = 64
"""Keys kept prepared per process: an entry holds its key (one point a public input) and about 40 kB of lines."""
_PREPARED_LOCK = threading.Lock()


def prepare_verifying_key(vk: VerifyingKey, backend: CurveBackend) -> PreparedVerifyingKey:
    """vk checked (check_verifying_key) and prepared, once per key object and backend; raises MalformedKeyError."""
    # Keyed by object identity, checked with `is`: an entry holds its key and backend, so their ids cannot be
    # reused while it exists; a key that differs in any point (another gamma) is another object, prepared anew.
    key = (id(backend), id(vk))
    entry = _PREPARED.get(key)
    if entry is not None and entry.vk is vk and entry.backend is backend:
        return entry
    check_verifying_key(vk, backend)
    entry = PreparedVerifyingKey(
        vk, backend, backend.pairing(vk.alpha_g1, vk.beta_g2), backend.g1_neg(vk.alpha_g1),
        backend.g2_prepare(vk.beta_g2), backend.g2_prepare(vk.gamma_g2), backend.g2_prepare(vk.delta_g2))
    with _PREPARED_LOCK:
        if len(_PREPARED) >= _PREPARED_ENTRIES:
            _PREPARED.clear()
        _PREPARED[key] = entry
    return entry


def alpha_beta(vk: VerifyingKey, backend: CurveBackend) -> Any:
    """e(alpha_g1, beta_g2) of a checked key, computed once per key and backend (it is the same for every proof)."""
    return prepare_verifying_key(vk, backend).alpha_beta


def _pairing_equation(prepared: PreparedVerifyingKey, acc: G1, proof: Proof) -> bool:
    backend = prepared.backend
    return backend.pairing_product_equals(
        [
            (proof.a, proof.b),
            (backend.g1_neg(acc), prepared.gamma_g2),
            (backend.g1_neg(proof.c), prepared.delta_g2),
        ],
        prepared.alpha_beta,
    )


def verify(
    vk: VerifyingKey,
    public_inputs: Sequence[int],
    proof: Proof,
    backend: CurveBackend | None = None,
) -> bool:
    """True iff the proof is valid for these public inputs under vk."""
    backend = backend or get_backend()
    prepared = prepare_verifying_key(vk, backend)
    check_proof_points(proof, backend)
    return _pairing_equation(prepared, prepare_inputs(vk, public_inputs, backend), proof)
