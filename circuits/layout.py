"""Public inputs declared once: a per-proof header, then a typed tree of named snapshot fields.

A statement declares the snapshot part of its public inputs as a template value:
frozen dataclasses and tuples whose leaves are 0. From that one declaration the
layout counts the inputs, allocates them as public variables (the same tree with
variables at the leaves) and flattens snapshot values into circuit order.

Circuit order: the per-proof header (commitment, context; a membership statement's
root, context, scope, nullifier), then the template's leaves depth-first, dataclass
fields in declaration order, tuples by index. The header's first input is "the
commitment or root" and its second the context, in every layout.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from zkmargin.errors import CircuitError, PublicInputError
from zkmargin.r1cs import ConstraintSystem, LinearCombination

HEADER = ("commitment", "context")
"""Per-proof public inputs of a plain statement; everything after them is fixed by the snapshot (folded once)."""
MEMBER_HEADER = ("root", "context", "scope", "nullifier")
"""Per-proof public inputs of a membership statement (circuits.membership): the root sits where the commitment sits."""

T = TypeVar("T")


def map_tree(tree: Any, leaf: Callable[[str, Any], Any], path: str = "") -> Any:
    """The same tree with every leaf replaced by leaf(path, value); paths read like 'instruments[2].mark_price_e8'."""
    if dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        return type(tree)(**{f.name: map_tree(getattr(tree, f.name), leaf, f"{path}.{f.name}" if path else f.name)
                             for f in dataclasses.fields(tree)})
    if isinstance(tree, tuple):
        return tuple(map_tree(item, leaf, f"{path}[{i}]") for i, item in enumerate(tree))
    return leaf(path, tree)


def leaf_items(tree: Any) -> list[tuple[str, Any]]:
    """(path, leaf) pairs in circuit order."""
    out: list[tuple[str, Any]] = []
    map_tree(tree, lambda path, value: out.append((path, value)))
    return out


@functools.cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    return tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else None


def _flatten_like(template: Any, tree: Any, out: list[Any]) -> bool:
    # True, with tree's leaves appended to out in circuit order, iff tree has template's leaf paths
    # (same field names, tuple lengths and leaf positions): leaf_items's order without building path strings,
    # since every plain verify flattens a snapshot's values.
    if isinstance(template, tuple):
        if not isinstance(tree, tuple) or len(tree) != len(template):
            return False
        for t, v in zip(template, tree):
            if not _flatten_like(t, v, out):
                return False
        return True
    names = _field_names(type(template))
    if names is None:
        if isinstance(tree, tuple) or _field_names(type(tree)) is not None:
            return False
        out.append(tree)
        return True
    if _field_names(type(tree)) != names:
        return False
    for name in names:
        if not _flatten_like(getattr(template, name), getattr(tree, name), out):
            return False
    return True


@dataclass(frozen=True)
class StatementPublic:
    """Commitment (or root), context, the rest of the per-proof header (extra) and the snapshot's values."""

    commitment: int
    context: int
    snapshot_values: tuple[int, ...]
    extra: tuple[int, ...] = ()
    """Header inputs after the context (a membership statement's scope and nullifier); () for plain statements."""

    @property
    def header(self) -> tuple[int, ...]:
        """The per-proof public inputs, in circuit order."""
        return (self.commitment, self.context, *self.extra)

    def as_list(self) -> list[int]:
        """Public inputs in circuit order (snarkjs public.json order)."""
        return [*self.header, *self.snapshot_values]


@dataclass(frozen=True)
class AllocatedPublic(Generic[T]):
    """The public variables of one statement: header variables and the snapshot tree with variables at its leaves."""

    commitment: LinearCombination
    context: LinearCombination
    snapshot: T
    extra: tuple[LinearCombination, ...] = ()
    """Header variables after the context (scope, nullifier in membership mode)."""


@dataclass(frozen=True)
class PublicLayout(Generic[T]):
    """The public-input declaration of a statement: `header` names the per-proof inputs (commitment or root
    first, context second), `template` fixes names, shape and order of the snapshot part."""

    template: T
    header: tuple[str, ...] = HEADER

    def __post_init__(self) -> None:
        if len(self.header) < 2 or self.header[1] != "context":
            raise CircuitError("a public header starts with the commitment (or root) and the context")

    @functools.cached_property
    def paths(self) -> tuple[str, ...]:
        """Names of the snapshot-part inputs, in circuit order."""
        return tuple(path for path, _ in leaf_items(self.template))

    @property
    def count(self) -> int:
        """Number of public inputs, header included."""
        return len(self.header) + len(self.paths)

    def flatten(self, values: T) -> tuple[int, ...]:
        """Snapshot values (the template's shape, ints at the leaves) in circuit order."""
        out: list[Any] = []
        if not _flatten_like(self.template, values, out):
            raise CircuitError("snapshot values do not have the statement's declared layout")
        return tuple(out)

    def allocate(self, cs: ConstraintSystem, public: StatementPublic | None) -> AllocatedPublic[T]:
        """Allocate every declared input as a public variable (with values when public is given)."""
        if public is not None and len(public.snapshot_values) != len(self.paths):
            raise PublicInputError(f"expected {len(self.paths)} snapshot inputs, got {len(public.snapshot_values)}")
        if public is not None and len(public.header) != len(self.header):
            raise PublicInputError(f"expected {len(self.header)} per-proof inputs ({', '.join(self.header)}), "
                                   f"got {len(public.header)}")
        header = [cs.public_input(name, None if public is None else public.header[i])
                  for i, name in enumerate(self.header)]
        values: Iterator[int] | None = None if public is None else iter(public.snapshot_values)
        snapshot = map_tree(self.template,
                            lambda path, _: cs.public_input(path, None if values is None else next(values)))
        return AllocatedPublic(header[0], header[1], snapshot, tuple(header[2:]))


def at(values: Sequence[int] | None, i: int) -> int | None:
    """values[i], or None when there are no values (setup mode)."""
    return None if values is None else values[i]
