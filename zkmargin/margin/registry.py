"""The margin models of the reference engines, in one place: name -> report (and its JSON)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zkmargin.errors import FormatError
from zkmargin.margin.models import Account, Snapshot

MARGIN_MODELS = ("cross", "isolated", "tiered", "portfolio", "var", "es")


@dataclass(frozen=True)
class ModelResult:
    """What every model reports: equity, requirement, status, and the model's own JSON."""

    model: str
    report: Any
    equity_e32: int
    requirement_e32: int
    healthy: bool
    json: dict


def _engine(model: str) -> tuple[Callable[[Account, Snapshot], Any], Callable[[Any], dict]]:
    # Imported lazily: the portfolio engine pulls in Black-76, which cross users never need.
    if model == "cross":
        from zkmargin.margin.engine import compute_margin, report_to_json

        return compute_margin, report_to_json
    if model == "isolated":
        from zkmargin.margin.isolated import compute_isolated_margin, isolated_report_to_json

        return compute_isolated_margin, isolated_report_to_json
    if model == "tiered":
        from zkmargin.margin.tiered import compute_tiered_margin, tiered_report_to_json

        return compute_tiered_margin, tiered_report_to_json
    if model == "portfolio":
        from zkmargin.margin.portfolio import compute_portfolio_margin, portfolio_report_to_json

        return compute_portfolio_margin, portfolio_report_to_json
    if model in ("var", "es"):
        from zkmargin.margin.var import compute_risk_margin, risk_report_to_json

        return (lambda account, snapshot: compute_risk_margin(account, snapshot, model)), risk_report_to_json
    raise FormatError(f"unknown margin model {model!r}; expected one of {', '.join(MARGIN_MODELS)}")


def evaluate(model: str, account: Account, snapshot: Snapshot, with_json: bool = True) -> ModelResult:
    """Run one model's reference engine; FormatError for an unknown model or a document that does not fit it."""
    compute, to_json = _engine(model)
    report = compute(account, snapshot)
    return ModelResult(model, report, report.equity_e32, report.maintenance_e32, report.healthy,
                       to_json(report) if with_json else {})
