"""Batch verification of Groth16 proofs under one key, with exact failure isolation.

For proofs (A_i, B_i, C_i) with prepared inputs acc_i, one product of pairings
  prod_i e(rho_i A_i, B_i) * e(-(sum rho_i) alpha, beta) * e(-sum rho_i acc_i, gamma) * e(-sum rho_i C_i, delta) == 1
checks them all: n + 3 Miller loops and one final exponentiation instead of 4n.
The rho_i are fresh for every check, from the OS CSPRNG (a forger who could predict
them could make invalid proofs cancel out), in GLV form: rho = a + b * lambda mod r
with (a, b) two uniform 64-bit halves, not both zero, and lambda = -z^2 mod r, the
eigenvalue of sigma(x, y) = (beta x, y) on G1. Then rho A = a A + b sigma(A) costs 64
doublings instead of 128 (zkmargin/native/_batch.c).

Soundness (at most 2^-128 a check, as with 128-bit weights): distinct halves give
distinct weights, since a + b lambda = a' + b' lambda (mod r) means a - a' = (b - b') z^2
(mod r), both sides are integers below 2^192 < r / 2 in absolute value, so they are
equal, and |a - a'| < 2^64 < z^2 forces b = b', then a = a'. Each rho_i is thus uniform
over 2^128 - 1 non-zero residues. Write each proof's equation as E_i in GT (prime
order r); the check is prod E_i^rho_i = 1. If some E_j != 1, then for any fixed other
weights at most one residue of rho_j passes: probability <= 1 / (2^128 - 1).
sum rho_i acc_i is one MSM over gamma_abc: (sum rho_i) gamma_abc_0 + sum_j (sum_i rho_i x_ij) gamma_abc_j.
When a check fails the batch is bisected, with fresh weights each time, down
to the exact invalid proofs; a group of one falls back to the plain verifier.
Malformed items (decoding errors, inputs >= r, identity points) are reported
per item and never stop the batch.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from zkmargin.backends import CurveBackend, get_backend
from zkmargin.errors import FormatError, ZkMarginError
from zkmargin.field import R
from zkmargin.groth16.data_structures import Proof, VerifyingKey
from zkmargin.groth16.verifier import (
    FixedInputs,
    PreparedVerifyingKey,
    check_proof_points,
    check_public_inputs,
    prepare_verifying_key,
    verify,
    verify_with_fixed_inputs,
)

GLV_LAMBDA = R - 0xD201000000010000**2
"""-z^2 mod r: sigma(x, y) = (beta x, y) multiplies every G1 point by it (zkmargin/native/_msm.c, the subgroup check)."""
WEIGHT_HALF_BITS = 64
MAX_BATCH_ITEMS = 100_000
"""Largest batch the library accepts in one call (the service documents its own, smaller limit)."""
PARALLEL_THRESHOLD = 64
"""Groups at least this large are split over two threads (the curve library releases the GIL)."""


@dataclass(frozen=True)
class BatchItem:
    """One proof to check: its public inputs and proof, or the reason it could not be decoded."""

    public_inputs: Sequence[int] | None = None
    proof: Proof | None = None
    error: str | None = None
    label: str = ""


@dataclass(frozen=True)
class ItemResult:
    """The verdict on one item: valid, invalid (error None), or malformed (error set)."""

    index: int
    label: str
    valid: bool
    error: str | None = None


@dataclass
class BatchResult:
    """Per-item verdicts plus how much work the batch took."""

    items: list[ItemResult]
    pairing_checks: int = 0
    invalid_indices: list[int] = field(default_factory=list)

    @property
    def all_valid(self) -> bool:
        """True iff every item is valid (an empty batch is vacuously valid)."""
        return not self.invalid_indices


def random_weight(rng: random.Random | None = None) -> tuple[int, int]:
    """A weight in GLV form: (a, b), 64-bit halves not both zero, from the OS CSPRNG unless a seeded rng is given."""
    while True:
        if rng is None:
            a, b = secrets.randbits(WEIGHT_HALF_BITS), secrets.randbits(WEIGHT_HALF_BITS)
        else:
            a, b = rng.getrandbits(WEIGHT_HALF_BITS), rng.getrandbits(WEIGHT_HALF_BITS)
        if a or b:
            return a, b


def weight_value(halves: tuple[int, int]) -> int:
    """w = a + b * GLV_LAMBDA mod r for a weight's halves (a, b)."""
    a, b = halves
    return (a + b * GLV_LAMBDA) % R


def verify_batch(
    vk: VerifyingKey,
    items: Sequence[BatchItem],
    backend: CurveBackend | None = None,
    rng: random.Random | None = None,
    fixed: FixedInputs | None = None,
    workers: int | None = None,
) -> BatchResult:
    """Verify every item under vk; the verdicts equal verifying each item alone.

    With fixed (from fixed_inputs_sum: the public inputs every item shares, e.g. a
    snapshot's values), each item carries only its leading inputs. workers: threads
    for the native weighted check (default: the CPU count).
    """
    backend = backend or get_backend()
    if len(items) > MAX_BATCH_ITEMS:
        raise FormatError(f"a batch holds at most {MAX_BATCH_ITEMS} items, got {len(items)}")
    prepared = prepare_verifying_key(vk, backend)
    # Items are checked against the key's leading part when the rest is fixed.
    item_vk = vk if fixed is None else VerifyingKey(
        vk.alpha_g1, vk.beta_g2, vk.gamma_g2, vk.delta_g2, vk.gamma_abc_g1[: 1 + fixed.leading])
    verdicts: list[ItemResult | None] = [None] * len(items)
    ready: list[int] = []
    inputs: dict[int, list[int]] = {}
    proofs: dict[int, Proof] = {}
    for index, item in enumerate(items):
        if item.error is not None or item.proof is None or item.public_inputs is None:
            verdicts[index] = ItemResult(index, item.label, False, item.error or "missing proof or public inputs")
            continue
        try:
            inputs[index] = check_public_inputs(item_vk, item.public_inputs)
            check_proof_points(item.proof, backend)
        except ZkMarginError as exc:
            verdicts[index] = ItemResult(index, item.label, False, str(exc))
            continue
        proofs[index] = item.proof
        ready.append(index)
    checker = _Checker(prepared, proofs, inputs, rng, fixed, workers)
    invalid = checker.find_invalid(ready)
    for index in ready:
        verdicts[index] = ItemResult(index, items[index].label, index not in invalid)
    results = [v for v in verdicts if v is not None]
    return BatchResult(results, checker.checks, [r.index for r in results if not r.valid])


class _Checker:
    """Combined checks and bisection over indices of well-formed items."""

    def __init__(self, prepared: PreparedVerifyingKey, proofs: dict[int, Proof], inputs: dict[int, list[int]],
                 rng: random.Random | None, fixed: FixedInputs | None, workers: int | None = None) -> None:
        self.prepared, self.vk, self.backend = prepared, prepared.vk, prepared.backend
        vk, backend = self.vk, self.backend
        self.proofs, self.inputs, self.rng = proofs, inputs, rng
        self.fixed, self.workers = fixed, workers
        # The backend's threaded check of the whole weighted equation, when it has one (zkmargin/native/_batch.c).
        self.native_check = getattr(backend, "weighted_pairing_check", None)
        self.leading = vk.num_public if fixed is None else fixed.leading
        self.checks = 0

    def find_invalid(self, indices: list[int], known_bad: bool = False) -> set[int]:
        """Indices of the invalid proofs; known_bad says a check already failed on exactly this group.

        A group of valid proofs passes every weighted check (completeness is
        exact), so a failed group holds an invalid proof for certain: a failed
        single item needs no second look, and when the left half of a failed
        group passes, the right half is bisected without checking it whole.
        Large groups are checked as two halves on two threads, which also tells
        which half to descend into.
        """
        if not indices:
            return set()
        if len(indices) == 1:
            if known_bad:
                return set(indices)
            index = indices[0]
            self.checks += 1
            proof = self.proofs[index]
            if self.fixed is None:
                valid = verify(self.vk, self.inputs[index], proof, self.backend)
            else:
                valid = verify_with_fixed_inputs(self.vk, self.inputs[index], self.fixed, proof, self.backend)
            return set() if valid else {index}
        middle = len(indices) // 2
        halves = (indices[:middle], indices[middle:])
        if len(indices) >= PARALLEL_THRESHOLD:
            self.checks += 2
            with ThreadPoolExecutor(max_workers=2) as pool:
                passed = list(pool.map(self._check, halves))
            return set().union(*(self.find_invalid(h, known_bad=True) for h, ok in zip(halves, passed) if not ok))
        if not known_bad:
            self.checks += 1
            if self._check(indices):
                return set()
        bad_left = self.find_invalid(halves[0])
        return bad_left | self.find_invalid(halves[1], known_bad=not bad_left)

    def _check(self, indices: list[int]) -> bool:
        backend, vk, prepared = self.backend, self.vk, self.prepared
        halves = [random_weight(self.rng) for _ in indices]
        weights = [weight_value(h) for h in halves]
        weight_sum = sum(weights) % R
        # sum_i rho_i x_ij per public input j (Python ints; reduced once per column).
        columns = [0] * self.leading
        for weight, index in zip(weights, indices):
            for j, x in enumerate(self.inputs[index]):
                if x:
                    columns[j] += weight * x
        points = list(vk.gamma_abc_g1[: 1 + self.leading])
        scalars = [weight_sum] + [c % R for c in columns]
        if self.fixed is not None:
            # Every item shares the fixed inputs: their weighted sum is (sum rho_i) * fixed.
            points.append(self.fixed.point)
            scalars.append(weight_sum)
        acc = backend.g1_msm(points, scalars)
        proofs = [self.proofs[i] for i in indices]
        if self.native_check is not None:
            fixed_pairs = [(backend.g1_mul(prepared.neg_alpha_g1, weight_sum), prepared.beta_g2),
                           (backend.g1_neg(acc), prepared.gamma_g2)]
            verdict = self.native_check([(p.a, p.b, p.c) for p in proofs], halves, fixed_pairs, prepared.delta_g2,
                                        self.workers)
            if verdict is not None:
                return verdict
        c_sum = backend.g1_msm([p.c for p in proofs], weights)
        pairs = [(backend.g1_mul(p.a, w), p.b) for p, w in zip(proofs, weights)]
        pairs.append((backend.g1_mul(prepared.neg_alpha_g1, weight_sum), prepared.beta_g2))
        pairs.append((backend.g1_neg(acc), prepared.gamma_g2))
        pairs.append((backend.g1_neg(c_sum), prepared.delta_g2))
        return backend.pairing_check(pairs)
