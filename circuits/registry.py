"""The margin models, in one place: the CLI, the service and the docs read this registry.

A model has a name, a one-line summary, its statement (built from a capacity)
and its reference engine (health report). Circuit ids read
'<model>-n<N>-k<K>', plus '-t<T>' for models with bracket tables.

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

from circuits.circuit import Circuit
from circuits.cross import CrossStatement
from circuits.isolated import IsolatedStatement
from circuits.portfolio import PortfolioStatement
from circuits.protocol import Statement
from circuits.tiered import TieredStatement
from zkmargin.errors import CircuitError
from zkmargin.margin.models import Account, Snapshot

DEFAULT_CIRCUIT_ID = "cross-n64-k8"
DEFAULT_TIERS = 4
CAPACITY = r"n([1-9][0-9]{0,3})-k([1-9][0-9]{0,3})"
TIERS = r"t([1-9][0-9]?)"


def _cross_report(account: Account, snapshot: Snapshot) -> tuple[bool, dict]:
    from zkmargin.margin.engine import compute_margin, report_to_json

    report = compute_margin(account, snapshot)
    return report.healthy, report_to_json(report)


def _isolated_report(account: Account, snapshot: Snapshot) -> tuple[bool, dict]:
    from zkmargin.margin.isolated import compute_isolated_margin, isolated_report_to_json

    report = compute_isolated_margin(account, snapshot)
    return report.healthy, isolated_report_to_json(report)


def _tiered_report(account: Account, snapshot: Snapshot) -> tuple[bool, dict]:
    from zkmargin.margin.tiered import compute_tiered_margin, tiered_report_to_json

    report = compute_tiered_margin(account, snapshot)
    return report.healthy, tiered_report_to_json(report)


def _portfolio_report(account: Account, snapshot: Snapshot) -> tuple[bool, dict]:
    from zkmargin.margin.portfolio import compute_portfolio_margin, portfolio_report_to_json

    report = compute_portfolio_margin(account, snapshot)
    return report.healthy, portfolio_report_to_json(report)


@dataclass(frozen=True)
class MarginModel:
    """One registered margin model."""

    name: str
    summary: str
    statement: Callable[..., Statement[Any]]
    """Builds the statement: statement(n_positions, n_collateral) or, with brackets, (n, k, n_tiers)."""
    report: Callable[[Account, Snapshot], tuple[bool, dict]]
    """The reference engine: (healthy, report as JSON)."""
    has_tiers: bool = False

    def circuit_id(self, capacity: str) -> str:
        """'<model>-<capacity>', with the default bracket count appended for models with brackets."""
        return f"{self.name}-{capacity}" + (f"-t{DEFAULT_TIERS}" if self.has_tiers else "")


MODELS: dict[str, MarginModel] = {
    model.name: model
    for model in (
        MarginModel("cross", "one pool: equity covers the maintenance of every position", CrossStatement,
                    _cross_report),
        MarginModel("isolated", "isolated positions against their own collateral, the rest as one cross pool",
                    IsolatedStatement, _isolated_report),
        MarginModel("tiered", "maintenance by notional brackets (rate and amount per bracket)", TieredStatement,
                    _tiered_report, has_tiers=True),
        MarginModel("portfolio", "equity covers every scenario of SPAN-style risk arrays", PortfolioStatement,
                    _portfolio_report),
    )
}
MODEL_NAMES = tuple(MODELS)


def _circuit_id_regex() -> str:
    plain = "|".join(m.name for m in MODELS.values() if not m.has_tiers)
    tiered = "|".join(m.name for m in MODELS.values() if m.has_tiers)
    return rf"(?:({plain})-{CAPACITY}|({tiered})-{CAPACITY}-{TIERS})"


CIRCUIT_ID_PATTERN = f"^{_circuit_id_regex()}$"
"""Every valid circuit id (for request schemas)."""


def get_model(name: str) -> MarginModel:
    """The registered model of this name; CircuitError otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise CircuitError(f"unknown margin model {name!r}; expected one of {', '.join(MODEL_NAMES)}") from None


def circuit_from_id(circuit_id: str) -> Circuit[Any]:
    """Parse '<model>-n<N>-k<K>' (or '<model>-n<N>-k<K>-t<T>' for models with brackets); CircuitError otherwise."""
    match = re.fullmatch(r"([a-z]+)-" + CAPACITY + r"(?:-" + TIERS + r")?", circuit_id or "")
    model = MODELS.get(match.group(1)) if match else None
    if match is None or model is None:
        raise CircuitError(
            f"unknown circuit {circuit_id!r}; expected <model>-n<N>-k<K> with model "
            f"{', '.join(m.name for m in MODELS.values() if not m.has_tiers)}, or "
            f"{'/'.join(m.name for m in MODELS.values() if m.has_tiers)}-n<N>-k<K>-t<T>, e.g. {DEFAULT_CIRCUIT_ID}")
    n, k, tiers = int(match.group(2)), int(match.group(3)), match.group(4)
    if model.has_tiers != (tiers is not None):
        raise CircuitError(f"unknown circuit {circuit_id!r}: {model.name} circuits "
                           + ("end in -t<brackets>" if model.has_tiers else "have no -t<brackets>"))
    statement = model.statement(n, k, int(tiers)) if tiers is not None else model.statement(n, k)
    return Circuit(statement)
