"""zkmargin cascade (liquidation cascade over a population) and zkmargin sample-population (its demo input)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from zkmargin.cli.charts import chart_options, new_figure, write_charts
from zkmargin.cli.inputs import snapshot_argument
from zkmargin.cli.output import ProgressBar, emit, json_option, note, write_atomic
from zkmargin.errors import FormatError
from zkmargin.margin.cascade import (
    PROGRESS_EVERY,
    cascade_to_json,
    generate_population,
    load_population,
    run_cascade,
)
from zkmargin.margin.fixed_point import parse_e8
from zkmargin.margin.models import load_snapshot
from zkmargin.margin.stress import parse_shock

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_SAMPLE_ACCOUNTS = 1_000_000


def parse_depth(text: str) -> tuple[str, float]:
    """'BTC=250000000' as (underlying, notional that moves the price by 1%)."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise FormatError(f"depth {text!r}: expected UNDERLYING=NOTIONAL, e.g. BTC=250000000")
    depth = parse_e8(value.strip(), f"depth {name.strip()}", 1, 2**96)
    return name.strip(), depth / 1e8


def moved_underlyings(doc: dict) -> list[str]:
    """Underlyings whose price changed at some stage (the series worth drawing)."""
    path = doc["price_path"]
    return [u for u in path[0]["prices"] if any(stage["prices"][u] != path[0]["prices"][u] for stage in path)]


MIN_DRAWN_MOVE = 0.001
"""An underlying is drawn when it moves by at least 0.1% at some stage: below that its line hides others at 100%."""


def drawn_underlyings(doc: dict) -> list[str]:
    """Underlyings that moved visibly (MIN_DRAWN_MOVE) at some stage: the price series worth drawing."""
    path = doc["price_path"]
    return [u for u in moved_underlyings(doc)
            if any(abs(stage["prices"][u] / path[0]["prices"][u] - 1) >= MIN_DRAWN_MOVE for stage in path)]


def cascade_figure(doc: dict) -> Figure:
    """Top: each visibly moving underlying's price as % of its pre-shock price, right after the shock (round 0) and
    after each round; bottom: notional liquidated per round (bars labelled with the number of accounts)."""
    from matplotlib.ticker import StrMethodFormatter

    figure = new_figure(8.0, 6.5)
    prices, bars = figure.subplots(2, 1, sharex=True)
    path = doc["price_path"][1:]  # from "after shock": round r is at x = r
    rounds = list(range(len(path)))
    drawn = drawn_underlyings(doc)
    for name in drawn:
        start = doc["price_path"][0]["prices"][name]
        prices.plot(rounds, [100 * stage["prices"][name] / start for stage in path], marker="o", label=name,
                    gid=f"price-{name}")
    prices.axhline(100, color="#888", linewidth=0.8, linestyle="--", label="pre-shock price", gid="pre-shock")
    hidden = [u for u in moved_underlyings(doc) if u not in drawn]
    if hidden:
        # A legend entry without a line: it names what was left out without covering any data.
        prices.plot([], [], " ", label=f"not drawn (moved < {100 * MIN_DRAWN_MOVE:g}%): {', '.join(hidden)}",
                    gid="not-drawn")
    prices.set_ylabel("price (% of pre-shock)")
    shocks = ", ".join(f"{k} {v * 100:+g}%" for k, v in doc.get("shocks", {}).items())
    figure.suptitle(f"Liquidation cascade over {doc['accounts']:,} accounts, shocks {shocks or 'none'}: "
                    f"{doc['accounts_liquidated']:,} liquidated in {len(doc['rounds'])} rounds")
    prices.grid(True, alpha=0.3)
    prices.legend(loc="best", fontsize="small")
    numbers = [r["round"] for r in doc["rounds"]]
    drawn_bars = bars.bar(numbers, [r["notional_liquidated"] for r in doc["rounds"]], color="#c44",
                          gid="notional-liquidated", label="notional liquidated")
    bars.bar_label(drawn_bars, labels=[f"{r['accounts_liquidated']:,} accounts" for r in doc["rounds"]],
                   fontsize="small", padding=2)
    bars.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    bars.set_ylabel("notional liquidated")
    bars.set_xlabel("liquidation round (0: right after the shock)")
    bars.margins(y=0.15)
    bars.xaxis.get_major_locator().set_params(integer=True)
    bars.grid(True, alpha=0.3)
    return figure


def render_text(doc: dict) -> str:
    """Human-readable cascade report."""
    lines = [f"accounts: {doc['accounts']:,}; shocks: "
             + ", ".join(f"{k} {v * 100:+g}%" for k, v in doc["shocks"].items()),
             "round  accounts liquidated  notional liquidated  prices after the round"]
    for r, stage in zip(doc["rounds"], doc["price_path"][2:]):
        moved = ", ".join(f"{u} {stage['prices'][u]:.8g}" for u in moved_underlyings(doc))
        lines.append(f"{r['round']:>5}  {r['accounts_liquidated']:>19,}  {r['notional_liquidated']:>19,.2f}  {moved}")
    lines.append(f"total: {doc['accounts_liquidated']:,} accounts, notional {doc['notional_liquidated']:,.2f}; "
                 + ("stopped: no account newly liquidated" if doc["reached_fixpoint"] else "stopped at the round limit"))
    return "\n".join(lines)


@click.command()
@click.argument("accounts_path", metavar="ACCOUNTS", type=click.Path(path_type=Path))
@snapshot_argument
@click.option("--shock", "shocks", multiple=True, required=True, metavar="UNDERLYING=MOVE",
              help="Move an underlying, e.g. BTC=-20% (repeatable).")
@click.option("--depth", "depths", multiple=True, metavar="UNDERLYING=NOTIONAL",
              help="Notional whose sale moves the underlying by 1% (default: the population's open notional).")
@chart_options
@json_option
def cascade(accounts_path: Path, snapshot_path: Path, shocks: tuple[str, ...], depths: tuple[str, ...],
            png_path: Path | None, html_path: Path | None, as_json: bool) -> None:
    """Shock SNAPSHOT, liquidate the ACCOUNTS (JSON lines) under margin call, repeat with price impact until none is."""
    snapshot = load_snapshot(snapshot_path)
    parsed_shocks = dict(parse_shock(s) for s in shocks)
    parsed_depths = dict(parse_depth(d) for d in depths)
    with ProgressBar("reading accounts", quiet=as_json) as progress:
        population = load_population(accounts_path, snapshot, progress)
    doc = cascade_to_json(run_cascade(population, snapshot, parsed_shocks, parsed_depths))
    if png_path or html_path:
        names = moved_underlyings(doc)
        rows = [[stage["stage"], *(f"{stage['prices'][u]:.8g}" for u in names)] for stage in doc["price_path"]]
        per_round = [[r["round"], f"{r['accounts_liquidated']:,}", f"{r['notional_liquidated']:,.2f}"]
                     for r in doc["rounds"]]
        write_charts(cascade_figure(doc), png_path, html_path, f"Liquidation cascade under {snapshot.snapshot_id}",
                     [("Rounds", ["round", "accounts liquidated", "notional liquidated"], per_round),
                      ("Price path", ["stage", *names], rows)])
    emit(as_json, doc, render_text(doc))


@click.command("sample-population")
@snapshot_argument
@click.option("--count", type=click.IntRange(1, MAX_SAMPLE_ACCOUNTS), default=1000, show_default=True,
              help="Number of accounts.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generator.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the accounts (JSON lines).")
def sample_population(snapshot_path: Path, count: int, seed: int, out_path: Path) -> None:
    """Write a seeded sample population of accounts for SNAPSHOT (the cascade demo's input)."""
    snapshot = load_snapshot(snapshot_path)
    with ProgressBar("generating accounts") as progress:
        # One bar over both halves of the work: drawing the accounts, then writing them as JSON lines.
        documents = generate_population(snapshot, count, seed, lambda done, total: progress(done, 2 * total))
        lines = []
        for done, document in enumerate(documents, 1):
            lines.append(json.dumps(document, separators=(",", ":")) + "\n")
            if done % PROGRESS_EVERY == 0 or done == count:
                progress(count + done, 2 * count)
    write_atomic(out_path, "".join(lines).encode())
    note(f"wrote {count} accounts to {out_path}")
