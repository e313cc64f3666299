"""zkmargin stress: one account under shocked prices, any model; text, JSON, PNG and HTML charts."""

from __future__ import annotations

import math
from pathlib import Path

import click

from zkmargin.cli.account import account_argument, load_account_for, snapshot_argument
from zkmargin.cli.charts import chart_options, new_figure, write_charts
from zkmargin.cli.output import emit, json_option
from zkmargin.margin.models import load_snapshot
from zkmargin.margin.registry import MARGIN_MODELS
from zkmargin.margin.stress import (
    StressReport,
    account_underlyings,
    parse_grid,
    parse_shock,
    run_stress,
    stress_to_json,
)

DEFAULT_GRID = "-50%:+50%:5%"
MAX_DEFAULT_SERIES = 4


def _ratio(point: dict) -> float:
    return math.nan if point["margin_ratio"] is None else float(point["margin_ratio"])


def stress_figure(doc: dict):  # noqa: ANN201 - a matplotlib Figure
    """Margin ratio against the price move: one series per grid, the margin-call line at ratio 1,
    each series' margin-call move as a dotted vertical line, and points without equity as red crosses."""
    figure = new_figure()
    axes = figure.add_subplot()
    calls = {c["underlying"]: c for c in doc["margin_call_prices"]}
    finite = [_ratio(p) for g in doc["grids"] for p in g["points"] if p["margin_ratio"] is not None]
    top = max(1.25, min(max(finite, default=1.0) * 1.1, 5.0))
    for grid in doc["grids"]:
        name = grid["underlying"]
        moves = [100 * float(p["shocks"][name]) for p in grid["points"]]
        line, = axes.plot(moves, [min(_ratio(p), top) for p in grid["points"]], marker=".", label=name, gid=f"series-{name}")
        broke = [m for m, p in zip(moves, grid["points"]) if p["margin_ratio"] is None]
        if broke:
            axes.plot(broke, [top] * len(broke), "x", color="#c00", gid=f"no-equity-{name}",
                      label=f"{name}: equity <= 0")
        for side in ("below", "above"):
            hit = calls.get(name, {}).get(side)
            if hit and min(moves) <= 100 * float(hit["move"]) <= max(moves):
                axes.axvline(100 * float(hit["move"]), color=line.get_color(), linestyle=":", gid=f"call-{name}-{side}",
                             label=f"{name} margin call at {hit['price']} ({100 * float(hit['move']):+.2f}%)")
    axes.axhline(1.0, color="#c00", linestyle="--", label="margin call (requirement = equity)", gid="margin-call-line")
    axes.set_ylim(0, top * 1.05)
    axes.set_xlabel("price move of the underlying (%)")
    axes.set_ylabel("margin ratio (requirement / equity)")
    axes.set_title(f"zkmargin stress, model {doc['model']}")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best", fontsize="small")
    return figure


def render_text(doc: dict) -> str:
    """Human-readable stress report."""
    lines = [f"model: {doc['model']}", "scenario                      equity            requirement       ratio       status"]

    def row(name: str, point: dict) -> str:
        ratio = point["margin_ratio"] if point["margin_ratio"] is not None else "n/a"
        return f"{name:<29} {point['equity']:>17} {point['requirement']:>17} {ratio:>11} {point['status']}"

    lines.append(row("base", doc["base"]))
    for point in doc["points"]:
        lines.append(row(" ".join(f"{k}={float(v) * 100:+g}%" for k, v in point["shocks"].items()), point))
    for grid in doc["grids"]:
        for point in grid["points"]:
            lines.append(row(" ".join(f"{k}={float(v) * 100:+g}%" for k, v in point["shocks"].items()), point))
    if doc["margin_call_prices"]:
        lines.append("margin-call price per underlying (others held fixed):")
    for call in doc["margin_call_prices"]:
        parts = []
        for side in ("below", "above"):
            hit = call[side]
            parts.append(f"{side} {hit['price']} ({float(hit['move']) * 100:+.4f}%)" if hit else f"{side} none")
        lines.append(f"  {call['underlying']:<8} today {call['price']}: " + ", ".join(parts))
    return "\n".join(lines)


def _table_rows(doc: dict) -> list[list[str]]:
    rows = []
    for point in [doc["base"], *doc["points"], *(p for g in doc["grids"] for p in g["points"])]:
        moves = " ".join(f"{k}={float(v) * 100:+g}%" for k, v in point["shocks"].items()) or "base"
        rows.append([moves, point["equity"], point["requirement"], point["margin_ratio"] or "n/a", point["status"]])
    return rows


@click.command()
@account_argument
@snapshot_argument
@click.option("--model", type=click.Choice(MARGIN_MODELS), default="cross", show_default=True, help="Margin model.")
@click.option("--shock", "shocks", multiple=True, metavar="UNDERLYING=MOVE",
              help="Move an underlying, e.g. BTC=-20% (repeatable; all shocks apply together).")
@click.option("--grid", "grids", multiple=True, metavar="UNDERLYING=START:STOP:STEP",
              help="A series of moves of one underlying on top of the shocks, e.g. BTC=-50%:+50%:5%.")
@chart_options
@json_option
def stress(account_path: Path, snapshot_path: Path, model: str, shocks: tuple[str, ...], grids: tuple[str, ...],
           png_path: Path | None, html_path: Path | None, as_json: bool) -> None:
    """Equity, requirement, margin ratio and status of ACCOUNT under shocked SNAPSHOT prices, and margin-call prices."""
    snapshot = load_snapshot(snapshot_path)
    account = load_account_for(account_path, snapshot)
    parsed_shocks = [parse_shock(s) for s in shocks]
    parsed_grids = [parse_grid(g) for g in grids]
    if (png_path or html_path) and not parsed_grids:
        # A chart needs a series: default to each shocked underlying, else the account's own.
        names = [name for name, _ in parsed_shocks] or account_underlyings(account)
        parsed_grids = [parse_grid(f"{name}={DEFAULT_GRID}") for name in names[:MAX_DEFAULT_SERIES]]
    report: StressReport = run_stress(model, account, snapshot, parsed_shocks, parsed_grids)
    doc = stress_to_json(report)
    if png_path or html_path:
        calls = [[c["underlying"], c["price"], c["below"]["price"] if c["below"] else "none",
                  c["above"]["price"] if c["above"] else "none"] for c in doc["margin_call_prices"]]
        write_charts(stress_figure(doc), png_path, html_path,
                     f"Stress report: {account.account_id} under {snapshot.snapshot_id} ({model})",
                     [("Points", ["moves", "equity", "requirement", "margin ratio", "status"], _table_rows(doc)),
                      ("Margin-call prices (others held fixed)", ["underlying", "today", "below", "above"], calls)])
    emit(as_json, doc, render_text(doc))
