"""The margin models, in one place: the CLI, the service and the docs read this registry.

A model has a name, a one-line summary, its statement (built from a capacity)
and its reference engine (health report). Circuit ids read
'<model>-n<N>-k<K>', plus '-t<T>' for models with bracket tables or '-s<S>' for
models with scenarios; a model with a sparse statement (cross, isolated, tiered with T = 4, portfolio) also
reads '<model>-n<N>-p<P>-k<K>' (P held-position slots selecting from an N-row table, circuits.sparse_cross and
its siblings; docs/sparse.md); any of them
plus '-m<depth>' is that statement in anonymous membership mode (circuits.membership), depth 1..32.

Adding a model: write a sibling statement module that implements
circuits.protocol.Statement by composing circuits.parts (its snapshot inputs a
parts.SnapshotInputs, so the layout digest comes first), add one MarginModel
line below, and name its circuit id in the README's "Margin models" section
(tests/circuits/test_registry.py checks that the README lists every model).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zkmargin.circuits.book_batch import MAX_BATCH_DEPTH, BookBatchStatement
from zkmargin.circuits.book_sparse import SparseBookBatchStatement
from zkmargin.circuits.book_top import BookTopStatement
from zkmargin.circuits.circuit import Circuit
from zkmargin.circuits.cross import CrossStatement
from zkmargin.circuits.isolated import IsolatedStatement
from zkmargin.circuits.membership import Membership
from zkmargin.circuits.portfolio import PortfolioStatement
from zkmargin.circuits.protocol import Statement
from zkmargin.circuits.sparse_cross import SparseCrossStatement
from zkmargin.circuits.sparse_isolated import SparseIsolatedStatement
from zkmargin.circuits.sparse_portfolio import SparsePortfolioStatement
from zkmargin.circuits.sparse_tiered import SparseTieredStatement
from zkmargin.circuits.tiered import TieredStatement
from zkmargin.circuits.var import RiskStatement
from zkmargin.errors import CircuitError
from zkmargin.gadgets.merkle import MAX_DEPTH
from zkmargin.margin.models import Account, Snapshot
from zkmargin.margin.registry import evaluate

DEFAULT_CIRCUIT_ID = "cross-n64-k8"
DEFAULT_TIERS = 4
CAPACITY = r"n([1-9][0-9]{0,3})-k([1-9][0-9]{0,3})"
SPARSE_CAPACITY = r"n([1-9][0-9]{0,3})-p([1-9][0-9]{0,3})-k([1-9][0-9]{0,3})"
"""Table rows N, held-position slots P, collateral slots K."""
TIERS = r"t[1-9][0-9]?"
SCENARIOS = r"s(?:[1-9][0-9]{0,2}|1000)"
DEFAULT_SCENARIOS = 250
BOOK_BATCH = r"book-cross-" + CAPACITY + r"-b([1-9][0-9]{0,3})(-h)?"
"""A book batch over dense cross accounts: book-cross-n<N>-k<K>-b<B>, B a power of two 2..1024; -h hides its sums."""
BOOK_SPARSE_BATCH = r"book-cross-" + SPARSE_CAPACITY + r"-b([1-9][0-9]{0,3})(-h)?"
"""A book batch over sparse cross accounts: book-cross-n<N>-p<P>-k<K>-b<B>; -h hides its sums."""
BOOK_BATCH_IDS = f"(?:{BOOK_BATCH}|{BOOK_SPARSE_BATCH})"
"""Every book batch id, dense or sparse (for request schemas)."""
BOOK_TOP = r"book-top-k([1-9][0-9]{0,3})-b([1-9][0-9]{0,3})-t([1-9][0-9]?)(-h)?"
"""A book top over 2^T batch roots of B accounts, K asset slots: totals public, or (-h) reserves >= liabilities."""
DEPTH = r"m(?:[1-9]|[12][0-9]|3[0-2])"
"""Membership depth suffix: 1..MAX_DEPTH (32)."""


def _report(name: str) -> Callable[[Account, Snapshot], tuple[bool, dict]]:
    """The model's reference engine, from the engines' own registry (zkmargin.margin.registry)."""

    def report(account: Account, snapshot: Snapshot) -> tuple[bool, dict]:
        result = evaluate(name, account, snapshot)
        return result.healthy, result.json

    return report


@dataclass(frozen=True)
class MarginModel:
    """One registered margin model."""

    name: str
    summary: str
    statement: Callable[..., Statement[Any]]
    """Builds the statement: statement(n_positions, n_collateral), with brackets (n, k, n_tiers), with scenarios (n, k, n_scenarios)."""
    report: Callable[[Account, Snapshot], tuple[bool, dict]]
    """The reference engine: (healthy, report as JSON)."""
    has_tiers: bool = False
    has_scenarios: bool = False
    """Circuit ids end in -s<S>: the number of historical scenarios (var, es)."""
    statement_options: tuple[tuple[str, Any], ...] = ()
    """Keyword arguments of the statement for this model (var and es share one statement)."""
    sparse_statement: Callable[[int, int, int], Statement[Any]] | None = None
    """Builds the sparse statement (n_rows, n_held, n_collateral), for models that have one."""

    def circuit_id(self, capacity: str) -> str:
        """'<model>-<capacity>', with the default bracket or scenario count appended where the model has one."""
        return f"{self.name}-{capacity}" + (f"-t{DEFAULT_TIERS}" if self.has_tiers else "") + (
            f"-s{DEFAULT_SCENARIOS}" if self.has_scenarios else "")


MODELS: dict[str, MarginModel] = {
    model.name: model
    for model in (
        MarginModel("cross", "one pool: equity covers the maintenance of every position", CrossStatement,
                    _report("cross"), sparse_statement=SparseCrossStatement),
        MarginModel("isolated", "isolated positions against their own collateral, the rest as one cross pool",
                    IsolatedStatement, _report("isolated"), sparse_statement=SparseIsolatedStatement),
        MarginModel("tiered", "maintenance by notional brackets (rate and amount per bracket)", TieredStatement,
                    _report("tiered"), has_tiers=True, sparse_statement=SparseTieredStatement),
        MarginModel("portfolio", "equity covers every scenario of SPAN-style risk arrays", PortfolioStatement,
                    _report("portfolio"), sparse_statement=SparsePortfolioStatement),
        MarginModel("var", "equity covers the historical value at risk of published scenarios, plus an add-on",
                    RiskStatement, _report("var"), has_scenarios=True, statement_options=(("model", "var"),)),
        MarginModel("es", "equity covers the expected shortfall of published scenarios, plus an add-on",
                    RiskStatement, _report("es"), has_scenarios=True, statement_options=(("model", "es"),)),
    )
}
MODEL_NAMES = tuple(MODELS)


def _suffix(model: MarginModel) -> str | None:
    """The id suffix a model's capacity needs: brackets (-t<T>), scenarios (-s<S>) or none."""
    return TIERS if model.has_tiers else SCENARIOS if model.has_scenarios else None


def _circuit_id_regex() -> str:
    alternatives = []
    for suffix in (None, TIERS, SCENARIOS):
        names = "|".join(m.name for m in MODELS.values() if _suffix(m) == suffix)
        if names:
            alternatives.append(rf"({names})-{CAPACITY}" + (f"-{suffix}" if suffix else ""))
    sparse_names = "|".join(m.name for m in MODELS.values() if m.sparse_statement is not None)
    if sparse_names:
        alternatives.append(rf"({sparse_names})-{SPARSE_CAPACITY}")
    return "(?:" + "|".join(alternatives) + f")(?:-{DEPTH})?"


CIRCUIT_ID_PATTERN = f"^{_circuit_id_regex()}$"
"""Every valid circuit id (for request schemas)."""


def get_model(name: str) -> MarginModel:
    """The registered model of this name; CircuitError otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise CircuitError(f"unknown margin model {name!r}; expected one of {', '.join(MODEL_NAMES)}") from None


def circuit_from_id(circuit_id: str) -> Circuit[Any]:
    """Parse '<model>-n<N>-k<K>', plus '-t<T>' (brackets) or '-s<S>' (scenarios) where the model has them,
    plus '-m<depth>' for the membership variant."""
    book = re.fullmatch(BOOK_BATCH, circuit_id) if isinstance(circuit_id, str) else None
    if book is not None:
        return book_circuit(int(book.group(1)), int(book.group(2)), int(book.group(3)), book.group(4) is not None)
    sparse_book = re.fullmatch(BOOK_SPARSE_BATCH, circuit_id) if isinstance(circuit_id, str) else None
    if sparse_book is not None:
        n, p, k, b = (int(g) for g in sparse_book.groups()[:4])
        return Circuit(SparseBookBatchStatement(SparseCrossStatement(n, p, k),
                                                _batch_depth(b, f"book-cross-n{n}-p{p}-k{k}-b{b}"),
                                                sparse_book.group(5) is not None))
    top = re.fullmatch(BOOK_TOP, circuit_id) if isinstance(circuit_id, str) else None
    if top is not None:
        return book_top_circuit(int(top.group(1)), int(top.group(2)), int(top.group(3)), top.group(4) is not None)
    member = re.fullmatch(r"(.+)-m([0-9]+)", circuit_id) if isinstance(circuit_id, str) else None
    if member is not None:
        depth_text = member.group(2)
        if not re.fullmatch(DEPTH, "m" + depth_text):
            raise CircuitError(f"unknown circuit {circuit_id!r}: a membership depth -m<depth> is 1..{MAX_DEPTH}")
        inner = circuit_from_id(member.group(1))
        return Circuit(Membership(inner.statement, int(depth_text)))
    sparse = re.fullmatch(r"([a-z]+)-" + SPARSE_CAPACITY, circuit_id) if isinstance(circuit_id, str) else None
    if sparse is not None:
        sparse_model = MODELS.get(sparse.group(1))
        if sparse_model is None or sparse_model.sparse_statement is None:
            raise CircuitError(f"unknown circuit {circuit_id!r}: -n<N>-p<P>-k<K> (sparse) exists for "
                               f"{', '.join(m.name for m in MODELS.values() if m.sparse_statement is not None)}")
        return Circuit(sparse_model.sparse_statement(int(sparse.group(2)), int(sparse.group(3)),
                                                     int(sparse.group(4))))
    match = re.fullmatch(r"([a-z]+)-" + CAPACITY + r"(?:-(" + TIERS + "|" + SCENARIOS + "))?", circuit_id or "")
    model = MODELS.get(match.group(1)) if match else None
    if match is None or model is None:
        raise CircuitError(
            f"unknown circuit {circuit_id!r}; expected <model>-n<N>-k<K> with model "
            f"{', '.join(m.name for m in MODELS.values() if _suffix(m) is None)}, or "
            f"{'/'.join(m.name for m in MODELS.values() if m.has_tiers)}-n<N>-k<K>-t<T>, or "
            f"{'/'.join(m.name for m in MODELS.values() if m.has_scenarios)}-n<N>-k<K>-s<S>, e.g. {DEFAULT_CIRCUIT_ID}; "
            f"{'/'.join(m.name for m in MODELS.values() if m.sparse_statement)}-n<N>-p<P>-k<K> (sparse: P held "
            f"positions of an N-row table); "
            f"any of them plus -m<depth> in membership mode")
    n, k, extra = int(match.group(2)), int(match.group(3)), match.group(4)
    kind = extra[0] if extra else None
    wanted = "t" if model.has_tiers else "s" if model.has_scenarios else None
    if kind != wanted:
        need = {"t": "end in -t<brackets>", "s": "end in -s<scenarios>", None: "have no -t or -s suffix"}[wanted]
        raise CircuitError(f"unknown circuit {circuit_id!r}: {model.name} circuits {need}")
    args = (n, k, int(extra[1:])) if extra else (n, k)
    statement = model.statement(*args, **dict(model.statement_options))
    return Circuit(statement)


def _batch_depth(batch_size: int, circuit_id: str) -> int:
    """log2 of a batch size that is a power of two 2..2^MAX_BATCH_DEPTH; CircuitError naming the id otherwise."""
    depth = batch_size.bit_length() - 1
    if batch_size != 1 << depth or not 1 <= depth <= MAX_BATCH_DEPTH:
        raise CircuitError(f"unknown circuit {circuit_id}: a batch holds a power of two 2..{1 << MAX_BATCH_DEPTH} "
                           "accounts")
    return depth


def book_circuit(n_positions: int, n_collateral: int, batch_size: int, hidden_sums: bool = False) -> Circuit[Any]:
    """The book batch statement over cross accounts of capacity (N, K), batch_size (a power of two) a proof."""
    depth = _batch_depth(batch_size, f"book-cross-n{n_positions}-k{n_collateral}-b{batch_size}")
    return Circuit(BookBatchStatement(CrossStatement(n_positions, n_collateral), depth, hidden_sums))


def book_top_circuit(n_collateral: int, batch_size: int, top_depth: int, hidden_sums: bool = False) -> Circuit[Any]:
    """The book top over 2^top_depth batch roots of batch_size accounts (docs/book.md)."""
    circuit_id = f"book-top-k{n_collateral}-b{batch_size}-t{top_depth}"
    return Circuit(BookTopStatement(n_collateral, _batch_depth(batch_size, circuit_id), top_depth, hidden_sums))
