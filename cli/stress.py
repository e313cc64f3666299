"""zkmargin stress: one account under shocked prices, any model; text, JSON, PNG and HTML charts."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import click

from zkmargin.cli.charts import chart_options, new_figure, write_charts
from zkmargin.cli.inputs import account_argument, load_account_for, snapshot_argument
from zkmargin.cli.output import EXIT_NO, emit, json_option
from zkmargin.margin.fixed_point import SCALE_E8
from zkmargin.margin.models import load_snapshot
from zkmargin.margin.registry import MARGIN_MODELS
from zkmargin.margin.stress import (
    MAX_UP_E8,
    MarginCallPrice,
    StressReport,
    account_underlyings,
    parse_grid,
    parse_shock,
    run_stress,
    stress_to_json,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DEFAULT_GRID = "-50%:+50%:5%"
DEFAULT_GRID_POINTS = 41
MAX_DEFAULT_SERIES = 4


def default_grid(name: str, start_e8: int, call: MarginCallPrice | None) -> tuple[str, tuple[int, ...]]:
    """DEFAULT_GRID, widened to take in the starting move (the shock) and the nearest call (or restoring) move on
    each side plus a fifth of its distance from the start."""
    moves = parse_grid(f"{name}={DEFAULT_GRID}")[1]
    low, high = min(moves[0], start_e8), max(moves[-1], start_e8)
    if call is not None:
        down = call.restore_down_e8 if call.in_call_now else call.move_down_e8
        up = call.restore_up_e8 if call.in_call_now else call.move_up_e8
        if down is not None:
            low = max(-SCALE_E8, min(low, down - (start_e8 - down) // 5))
        if up is not None:
            high = min(MAX_UP_E8, max(high, up + (up - start_e8) // 5))
    step = max(1, (high - low) // (DEFAULT_GRID_POINTS - 1))
    return name, tuple(sorted({*range(low, high, step), high, 0, start_e8}))


def _percent(move: str) -> str:
    return f"{float(move) * 100:+.4f}%"


def _shocks_text(shocks: dict) -> str:
    return ", ".join(f"{k} {float(v) * 100:+g}%" for k, v in shocks.items()) or "none"


def call_summary(call: dict) -> str:
    """One underlying's margin-call prices, or (under margin call at the start) the prices that restore health.

    'going down' and 'going up' start from the underlying's starting price (shocked, if it is); the percentages
    are moves from today's price, as --shock and --grid take them.
    """
    ways = {"below": "going down", "above": "going up"}
    if call["in_call_now"]:
        parts = [f"healthy again at {hit['price']} ({_percent(hit['move'])}) {ways[side]}"
                 for side in ("below", "above") if (hit := call[f"restore_{side}"])]
        return "; ".join(parts) or "no move of this underlying alone restores it"
    return "; ".join(f"margin call at {call[side]['price']} ({_percent(call[side]['move'])}) {ways[side]}"
                     if call[side] else f"no margin call {ways[side]}" for side in ("below", "above"))


def start_text(call: dict, shocks: dict) -> str:
    """'BTC today 64000' or, for a shocked underlying, 'BTC today 64000, shocked -75% to 16000'."""
    name = call["underlying"]
    text = f"{name} today {call['price']}"
    if name in shocks:
        shocked = Decimal(call["price"]) * (1 + Decimal(shocks[name]))
        text += f", shocked {float(shocks[name]) * 100:+g}% to {shocked.normalize():f}"
    return text


def stress_figure(doc: dict) -> Figure:
    """One panel per grid: equity and requirement in currency against the move of its underlying, the margin-call
    zone shaded, each margin-call (or restoring) price as a labelled vertical line, today's price marked."""
    grids = doc["grids"]
    figure = new_figure(8.0, 1.0 + 3.4 * max(1, len(grids)))
    calls = {c["underlying"]: c for c in doc["margin_call_prices"]}
    shocks = doc["points"][0]["shocks"] if doc["points"] else {}
    status = "UNDER MARGIN CALL NOW" if doc.get("under_margin_call") else "healthy today"
    figure.suptitle(f"Stress of account {doc.get('account_id', '?')}: model {doc['model']}, "
                    f"shocks {_shocks_text(shocks)} ({status})")
    for axes, grid in zip(figure.subplots(max(1, len(grids)), 1, squeeze=False)[:, 0], grids):
        name = grid["underlying"]
        points = grid["points"]
        moves = [100 * float(p["shocks"][name]) for p in points]
        equity = [float(p["equity"]) for p in points]
        requirement = [float(p["requirement"]) for p in points]
        axes.plot(moves, equity, marker=".", color="#1f77b4", label="equity", gid=f"equity-{name}")
        axes.plot(moves, requirement, marker=".", color="#d62728", linestyle="--", label="requirement",
                  gid=f"requirement-{name}")
        in_call = [p["status"] == "margin_call" for p in points]
        axes.fill_between(moves, equity, requirement, where=in_call, color="#d62728", alpha=0.15, interpolate=True,
                          label="margin call" if any(in_call) else "_margin call", gid=f"call-zone-{name}")
        today = 100 * float(shocks.get(name, 0))
        axes.axvline(today, color="#555", linewidth=0.8, label="shocked price" if name in shocks else "today",
                     gid=f"today-{name}")
        call = calls.get(name)
        if call is not None:
            kind, color = ("restore", "#2ca02c") if call["in_call_now"] else ("call", "#d62728")
            for side in ("below", "above"):
                hit = call[f"restore_{side}"] if call["in_call_now"] else call[side]
                if hit and min(moves) <= 100 * float(hit["move"]) <= max(moves):
                    word = "healthy again" if call["in_call_now"] else "margin call"
                    axes.axvline(100 * float(hit["move"]), color=color, linestyle=":", linewidth=1.5,
                                 gid=f"{kind}-{name}-{side}",
                                 label=f"{word} at {hit['price']} ({_percent(hit['move'])})")
            axes.set_title(f"{start_text(call, shocks)}: {call_summary(call)}", fontsize="medium")
        axes.set_xlabel(f"move of {name} from today's price (%)")
        axes.set_ylabel("value (quote currency)")
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
    if doc.get("under_margin_call"):
        lines.append(f"UNDER MARGIN CALL NOW: equity {doc['base']['equity']} < requirement {doc['base']['requirement']}")
    shocks = doc["points"][0]["shocks"] if doc["points"] else {}
    if shocks and doc["points"][0]["status"] == "margin_call":
        lines.append(f"under the shocks: margin call, equity {doc['points'][0]['equity']} < requirement "
                     f"{doc['points'][0]['requirement']}")
    calls = doc["margin_call_prices"]
    start = "the shocked prices" if shocks else "today's prices"
    if any(c["in_call_now"] for c in calls):
        lines.append(f"prices that would restore it from {start}, per underlying (others held fixed; % from today):")
    elif calls:
        lines.append(f"margin-call price per underlying from {start} (others held fixed; % from today):")
    for call in calls:
        lines.append(f"  {start_text(call, shocks)}: {call_summary(call)}")
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
    """Equity, requirement, margin ratio and status of ACCOUNT under shocked SNAPSHOT prices, and margin-call prices.

    Exit 1 when ACCOUNT is under margin call at today's prices (as `margin` does); the report then gives,
    per underlying, the moves that would restore it.
    """
    snapshot = load_snapshot(snapshot_path)
    account = load_account_for(account_path, snapshot)
    parsed_shocks = [parse_shock(s) for s in shocks]
    parsed_grids = [parse_grid(g) for g in grids]
    report: StressReport = run_stress(model, account, snapshot, parsed_shocks, parsed_grids)
    if (png_path or html_path) and not parsed_grids:
        # A chart needs a series: default to each shocked underlying, else the account's own, wide enough to
        # show where each margin call (or the return to health) happens.
        names = [name for name, _ in parsed_shocks] or account_underlyings(account)
        calls = {c.underlying: c for c in report.margin_calls}
        starts = dict(parsed_shocks)
        parsed_grids = [default_grid(name, starts.get(name, 0), calls.get(name)) for name in names[:MAX_DEFAULT_SERIES]]
        report = replace(report, grids=run_stress(model, account, snapshot, parsed_shocks, parsed_grids,
                                                  margin_calls=False).grids)
    doc = {"account_id": account.account_id, **stress_to_json(report)}
    if png_path or html_path:
        calls = [[c["underlying"], c["price"], call_summary(c)] for c in doc["margin_call_prices"]]
        write_charts(stress_figure(doc), png_path, html_path,
                     f"Stress report: {account.account_id} under {snapshot.snapshot_id} ({model})",
                     [("Points", ["moves", "equity", "requirement", "margin ratio", "status"], _table_rows(doc)),
                      ("Margin-call prices (others held fixed)", ["underlying", "from", "margin call / restore"],
                       calls)])
    emit(as_json, doc, render_text(doc))
    # Exit as `margin` does: 1 when the account is under margin call at today's prices.
    if not report.base.healthy:
        raise SystemExit(EXIT_NO)
