"""Constraint-system builder: variables, linear combinations and rank-1 constraints.

A circuit is ordinary Python that calls the builder. It runs in one of three modes:

* ``setup``: constraints are recorded, no values exist (key generation).
* ``prove``: only values are computed; recording is skipped because the prover
  already holds the compiled constraint matrices from setup. The circuit's
  *shape* must not depend on values, and the prover re-checks every constraint
  against the compiled matrices, so a shape mismatch cannot go unnoticed.
* ``check``: both (tests: solve a witness and name the first broken constraint).

Variable 0 is the constant one. Public inputs and private variables are numbered
in allocation order while building; :meth:`ConstraintSystem.compile` renumbers
them into the Groth16 order ``[one, public..., private...]``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from zkmargin.errors import CircuitError
from zkmargin.field import R

Mode = Literal["setup", "prove", "check"]
ONE_VARIABLE = 0


class LinearCombination:
    """sum_i coeff_i * var_i over Fr, with its value when the builder has values."""

    __slots__ = ("terms", "value")

    def __init__(self, terms: dict[int, int] | None, value: int | None) -> None:
        self.terms = terms
        self.value = value

    # Arithmetic below keeps terms canonical (no zero coefficients) so that
    # "does this variable appear in a constraint" is a dictionary lookup.
    def _combine(self, other: Operand, sign: int) -> LinearCombination:
        if isinstance(other, int):
            other = _constant(other, self.terms is not None, self.value is not None)
        if self.terms is None or other.terms is None:
            terms = None
        else:
            terms = dict(self.terms)
            for var, coeff in other.terms.items():
                new = (terms.get(var, 0) + sign * coeff) % R
                if new:
                    terms[var] = new
                else:
                    terms.pop(var, None)
        value = None
        if self.value is not None and other.value is not None:
            value = (self.value + sign * other.value) % R
        return LinearCombination(terms, value)

    def __add__(self, other: Operand) -> LinearCombination:
        return self._combine(other, 1)

    __radd__ = __add__

    def __sub__(self, other: Operand) -> LinearCombination:
        return self._combine(other, -1)

    def __rsub__(self, other: Operand) -> LinearCombination:
        return (-self)._combine(other, 1)

    def __neg__(self) -> LinearCombination:
        return self * -1

    def __mul__(self, scalar: int) -> LinearCombination:
        if not isinstance(scalar, int):
            raise TypeError("a linear combination can only be scaled by a constant; use cs.mul")
        scalar %= R
        terms = None
        if self.terms is not None:
            terms = {v: c * scalar % R for v, c in self.terms.items()} if scalar else {}
        value = None if self.value is None else self.value * scalar % R
        return LinearCombination(terms, value)

    __rmul__ = __mul__

    def constant_value(self) -> int | None:
        """The value if this combination is a known constant (only the one-variable), else None."""
        if self.terms is None:
            return None
        if not self.terms:
            return 0
        if set(self.terms) == {ONE_VARIABLE}:
            return self.terms[ONE_VARIABLE]
        return None

    def __repr__(self) -> str:
        return f"LinearCombination(terms={self.terms}, value={self.value})"


Operand = LinearCombination | int


def _constant(c: int, with_terms: bool, with_value: bool) -> LinearCombination:
    c %= R
    terms = ({ONE_VARIABLE: c} if c else {}) if with_terms else None
    return LinearCombination(terms, c if with_value else None)


@dataclass(frozen=True)
class CompiledR1CS:
    """Constraint matrices in Groth16 variable order: z = [1, public..., private...]."""

    num_public: int
    """Public inputs, excluding the constant one."""
    num_variables: int
    """Length of z, including the constant one."""
    a: tuple[tuple[tuple[int, int], ...], ...]
    b: tuple[tuple[tuple[int, int], ...], ...]
    c: tuple[tuple[tuple[int, int], ...], ...]
    labels: tuple[str, ...]
    public_names: tuple[str, ...]

    @property
    def num_constraints(self) -> int:
        """Number of rank-1 constraints."""
        return len(self.labels)

    def digest(self) -> bytes:
        """SHA-256 of the constraint matrices and counts (labels excluded: they do not change the statement)."""
        return self._digest

    @functools.cached_property
    def _digest(self) -> bytes:
        # Computed once per compiled circuit: the prover checks it on every proof.
        canonical = repr((self.num_public, self.num_variables, self.a, self.b, self.c)).encode()
        return hashlib.sha256(canonical).digest()

    def first_unsatisfied(self, z: Sequence[int]) -> str | None:
        """Label of the first constraint that the full assignment z breaks, or None."""
        for i in range(self.num_constraints):
            if _dot(self.a[i], z) * _dot(self.b[i], z) % R != _dot(self.c[i], z):
                return self.labels[i]
        return None


def _dot(row: Sequence[tuple[int, int]], z: Sequence[int]) -> int:
    return sum(coeff * z[var] for var, coeff in row) % R


class ConstraintSystem:
    """Records rank-1 constraints a * b = c over Fr and/or solves their witness."""

    def __init__(self, mode: Mode = "setup") -> None:
        if mode not in ("setup", "prove", "check"):
            raise CircuitError(f"unknown mode {mode!r}")
        self.mode: Mode = mode
        self.records_constraints = mode != "prove"
        self.has_values = mode != "setup"
        self._values: list[int | None] = [1]
        self._is_public: list[bool] = [False]
        self._names: list[str] = ["one"]
        self._constraints: list[tuple[dict[int, int], dict[int, int], dict[int, int], str]] = []
        self._num_constraints = 0
        self._namespace: list[str] = []
        self.one = LinearCombination(
            {ONE_VARIABLE: 1} if self.records_constraints else None,
            1 if self.has_values else None,
        )

    # ----- variables -------------------------------------------------------
    def _new_variable(self, name: str, value: int | None, public: bool) -> LinearCombination:
        if self.has_values:
            if value is None:
                raise CircuitError(f"{self._label(name)}: no value assigned")
            value %= R
        index = len(self._values)
        self._values.append(value if self.has_values else None)
        self._is_public.append(public)
        self._names.append(self._label(name))
        terms = {index: 1} if self.records_constraints else None
        return LinearCombination(terms, value if self.has_values else None)

    def public_input(self, name: str, value: int | None = None) -> LinearCombination:
        """Allocate a public input (an instance variable the verifier supplies)."""
        return self._new_variable(name, value, public=True)

    def private_input(self, name: str, value: int | None = None) -> LinearCombination:
        """Allocate a private witness input."""
        return self._new_variable(name, value, public=False)

    def alloc(self, name: str, value_fn: Callable[[], int] | None = None) -> LinearCombination:
        """Allocate a private auxiliary variable; value_fn is a hint run only when solving."""
        value = None
        if self.has_values:
            if value_fn is None:
                raise CircuitError(f"{self._label(name)}: no hint to compute its value")
            value = value_fn()
        return self._new_variable(name, value, public=False)

    def constant(self, c: int) -> LinearCombination:
        """A constant as a linear combination (free)."""
        return _constant(c, self.records_constraints, self.has_values)

    # ----- constraints -----------------------------------------------------
    @contextmanager
    def namespace(self, name: str) -> Iterator[None]:
        """Prefix every label created inside the block with name/."""
        self._namespace.append(name)
        try:
            yield
        finally:
            self._namespace.pop()

    def _label(self, label: str) -> str:
        return "/".join([*self._namespace, label])

    def enforce(
        self, a: LinearCombination, b: LinearCombination, c: LinearCombination, label: str
    ) -> None:
        """Add the constraint a * b = c."""
        self._num_constraints += 1
        if self.records_constraints:
            self._constraints.append((a.terms, b.terms, c.terms, self._label(label)))  # type: ignore[arg-type]

    def mul(self, a: LinearCombination, b: LinearCombination, label: str = "mul") -> LinearCombination:
        """Return a new variable z with the constraint a * b = z (1 constraint)."""
        # No constant folding: in prove mode terms are absent, so folding in setup
        # mode only would give the two modes different variable layouts.
        product = self.alloc(label, (lambda: a.value * b.value % R) if self.has_values else None)  # type: ignore[operator]
        self.enforce(a, b, product, label)
        return product

    def assert_equal(self, a: LinearCombination, b: LinearCombination | int, label: str) -> None:
        """Enforce a == b (1 constraint)."""
        self.enforce(a - b, self.one, self.constant(0), label)

    def assert_bool(self, a: LinearCombination, label: str) -> None:
        """Enforce a in {0, 1} via a * (a - 1) = 0 (1 constraint)."""
        self.enforce(a, a - 1, self.constant(0), label)

    def to_bits(self, a: LinearCombination, n_bits: int, label: str = "bits") -> list[LinearCombination]:
        """Little-endian bits of a, enforcing a < 2^n_bits (n_bits + 1 constraints).

        Soundness: n_bits <= 253 so that sum b_i 2^i < r and the decomposition of
        a field element is unique; a value >= 2^n_bits has no satisfying bits.
        """
        if not 1 <= n_bits <= 253:
            raise CircuitError(f"{self._label(label)}: to_bits needs 1 <= n_bits <= 253, got {n_bits}")
        bits: list[LinearCombination] = []
        for i in range(n_bits):
            hint = (lambda i=i: (a.value >> i) & 1) if self.has_values else None  # type: ignore[operator]
            bit = self.alloc(f"{label}[{i}]", hint)
            self.assert_bool(bit, f"{label}[{i}]/bool")
            bits.append(bit)
        self.assert_equal(self.pack(bits), a, f"{label}/pack")
        return bits

    def pack(self, bits: Sequence[LinearCombination]) -> LinearCombination:
        """sum_i bits[i] * 2^i as a linear combination (free)."""
        acc = self.constant(0)
        for i, bit in enumerate(bits):
            acc = acc + bit * (1 << i)
        return acc

    def select(
        self, cond: LinearCombination, if_true: LinearCombination, if_false: LinearCombination,
        label: str = "select",
    ) -> LinearCombination:
        """cond ? if_true : if_false for a boolean cond (1 constraint; cond is not checked here)."""
        return self.mul(cond, if_true - if_false, label) + if_false

    # ----- introspection ---------------------------------------------------
    @property
    def num_constraints(self) -> int:
        """Constraints added so far."""
        return self._num_constraints

    @property
    def num_public(self) -> int:
        """Public inputs, excluding the constant one."""
        return sum(self._is_public)

    @property
    def num_private(self) -> int:
        """Private variables (inputs and auxiliaries)."""
        return len(self._values) - 1 - self.num_public

    def which_is_unsatisfied(self) -> str | None:
        """Label of the first constraint the assigned values break (check mode only)."""
        if self.mode != "check":
            raise CircuitError("which_is_unsatisfied needs a constraint system in check mode")
        values = self._values
        for a, b, c, label in self._constraints:
            av = sum(coeff * values[v] for v, coeff in a.items()) % R  # type: ignore[operator, misc]
            bv = sum(coeff * values[v] for v, coeff in b.items()) % R  # type: ignore[operator, misc]
            cv = sum(coeff * values[v] for v, coeff in c.items()) % R  # type: ignore[operator, misc]
            if av * bv % R != cv:
                return label
        return None

    def is_satisfied(self) -> bool:
        """True when every constraint holds for the assigned values (check mode only)."""
        return self.which_is_unsatisfied() is None

    def set_value(self, lc: LinearCombination, value: int) -> None:
        """Overwrite a single variable's value (tests: tamper with a solved witness)."""
        if lc.terms is None or len(lc.terms) != 1 or next(iter(lc.terms.values())) != 1:
            raise CircuitError("set_value needs a plain variable")
        self._values[next(iter(lc.terms))] = value % R

    # ----- compilation -----------------------------------------------------
    def _order(self) -> list[int]:
        """Old index -> new index for the Groth16 order [one, public..., private...]."""
        publics = [i for i, p in enumerate(self._is_public) if p]
        privates = [i for i, p in enumerate(self._is_public) if not p and i != ONE_VARIABLE]
        new_index = [0] * len(self._is_public)
        for new, old in enumerate([ONE_VARIABLE, *publics, *privates]):
            new_index[old] = new
        return new_index

    def bind_unused_public_inputs(self) -> int:
        """Add x * 1 = x for every public input no constraint mentions; returns how many.

        Groth16 only binds a public input through its QAP polynomials. Under a
        reduction without input rows, an input that appears in no constraint has
        zero polynomials, its verification-key point is the identity and any
        value verifies. Our reduction adds input rows (as arkworks does), but the
        statement itself should not depend on that: every input is constrained.
        """
        used: set[int] = set()
        for a, b, c, _ in self._constraints:
            used.update(a)
            used.update(b)
            used.update(c)
        added = 0
        for index, public in enumerate(self._is_public):
            if public and index not in used:
                var = LinearCombination({index: 1}, self._values[index])
                self.enforce(var, self.one, var, f"bind_public/{self._names[index]}")
                added += 1
        return added

    def compile(self) -> CompiledR1CS:
        """Freeze the recorded constraints into matrices in Groth16 variable order."""
        if not self.records_constraints:
            raise CircuitError("compile needs a constraint system in setup or check mode")
        self.bind_unused_public_inputs()
        new_index = self._order()

        def remap(terms: dict[int, int]) -> tuple[tuple[int, int], ...]:
            return tuple(sorted((new_index[v], c) for v, c in terms.items()))

        a, b, c, labels = [], [], [], []
        for ta, tb, tc, label in self._constraints:
            a.append(remap(ta))
            b.append(remap(tb))
            c.append(remap(tc))
            labels.append(label)
        public_names = tuple(n for n, p in zip(self._names, self._is_public) if p)
        return CompiledR1CS(
            num_public=self.num_public,
            num_variables=len(self._is_public),
            a=tuple(a), b=tuple(b), c=tuple(c),
            labels=tuple(labels),
            public_names=public_names,
        )

    def assignment(self) -> list[int]:
        """Full assignment z in Groth16 order [1, public..., private...] (prove/check mode)."""
        if not self.has_values:
            raise CircuitError("a setup-mode constraint system has no values")
        new_index = self._order()
        z = [0] * len(self._values)
        for old, value in enumerate(self._values):
            z[new_index[old]] = value  # type: ignore[assignment]
        return z

    def public_values(self) -> list[int]:
        """Values of the public inputs in allocation order (prove/check mode)."""
        if not self.has_values:
            raise CircuitError("a setup-mode constraint system has no values")
        return [v for v, p in zip(self._values, self._is_public) if p]  # type: ignore[misc]
