"""zkmargin risk-arrays: the venue publishes portfolio risk arrays in the snapshot; anyone checks them."""

from __future__ import annotations

from pathlib import Path

import click

from zkmargin.cli.inputs import snapshot_argument
from zkmargin.cli.output import EXIT_NO, emit, json_option, write_json
from zkmargin.margin.fixed_point import format_e8
from zkmargin.margin.models import load_snapshot, snapshot_to_json
from zkmargin.margin.portfolio import publish_risk_arrays, risk_array_mismatches


@click.command("risk-arrays")
@snapshot_argument
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write SNAPSHOT with every instrument's generated risk array embedded (the venue's step).")
@click.option("--tolerance", "tolerance_e8", type=click.IntRange(0, 10**8), default=1, show_default=True,
              help="Allowed difference per option entry, in units of 1e-8 (linear instruments must match exactly).")
@json_option
def risk_arrays(snapshot_path: Path, out_path: Path | None, tolerance_e8: int, as_json: bool) -> None:
    """Publish (--out) or check SNAPSHOT's portfolio risk arrays against this platform's generator (exit 1 on mismatch)."""
    snapshot = load_snapshot(snapshot_path)
    if out_path is not None:
        published = publish_risk_arrays(snapshot)
        write_json(out_path, snapshot_to_json(published))
        emit(as_json, {"published": str(out_path), "instruments": len(published.instruments)},
             f"wrote {out_path}: risk arrays for {len(published.instruments)} instruments")
        return
    mismatches = risk_array_mismatches(snapshot, tolerance_e8)
    checked = sum(1 for q in snapshot.instruments if q.risk_array_e8)
    doc = {"checked": checked, "mismatches": [
        {"instrument": name, "scenario": s + 1, "published": format_e8(p), "generated": format_e8(g)}
        for name, s, p, g in mismatches]}
    lines = [f"{checked} published risk arrays checked, {len(mismatches)} entries differ"]
    lines += [f"  {m['instrument']} scenario {m['scenario']}: published {m['published']}, generated {m['generated']}"
              for m in doc["mismatches"]]
    emit(as_json, doc, "\n".join(lines))
    if mismatches:
        raise SystemExit(EXIT_NO)
