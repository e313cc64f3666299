"""Batch reports: JSON (everything), CSV (one row per proof), self-contained HTML."""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path

from zkmargin.cli.output import write_atomic

REPORT_FORMATS = ("json", "csv", "html")
"""The report files verify-batch can write (report.<format>)."""
CSV_COLUMNS = ("id", "source", "commitment", "context", "outcome", "valid", "error", "duplicate_of", "refused")
MEMBER_CSV_COLUMNS = ("id", "source", "root", "context", "scope", "nullifier", "outcome", "valid", "error",
                      "duplicate_of", "refused")
"""Membership-mode batches (rows carry root, scope and nullifier in place of the commitment)."""


def write_reports(directory: Path, summary: dict, rows: list[dict],
                  formats: tuple[str, ...] = REPORT_FORMATS) -> list[Path]:
    """Write report.<format> for each of formats (json, csv, html); returns their paths."""
    paths = []
    for name in formats:
        path = Path(directory) / f"report.{name}"
        write_atomic(path, _render(name, summary, rows).encode())
        paths.append(path)
    return paths


def _render(name: str, summary: dict, rows: list[dict]) -> str:
    if name == "json":
        return json.dumps({"summary": summary, "items": rows}, indent=1) + "\n"
    if name == "csv":
        buffer = io.StringIO()
        columns = MEMBER_CSV_COLUMNS if summary.get("mode") == "membership" else CSV_COLUMNS
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    if name == "html":
        return render_html(summary, rows)
    raise ValueError(f"unknown report format {name!r}")


def render_html(summary: dict, rows: list[dict]) -> str:
    """One page, no external resources: counts, the snapshot, timings, a row per proof."""
    esc = html.escape
    snapshot = summary["snapshot"]
    counts = "".join(
        f"<div class='count {name}'><b>{summary[name]}</b><span>{name}</span></div>"
        for name in ("total", "valid", "invalid", "malformed", "refused", "duplicates") if name in summary
    )
    instruments = "".join(
        f"<tr><td>{esc(i['instrument'])}</td><td>{esc(i['mark_price'])}</td><td>{esc(i['maintenance_rate'])}</td>"
        f"<td>{esc(i['contract_size'])}</td></tr>" for i in snapshot["instruments"]
    )
    assets = "".join(
        f"<tr><td>{esc(a['asset'])}</td><td>{esc(a['price'])}</td><td>{esc(a['haircut'])}</td></tr>"
        for a in snapshot["assets"]
    )
    items = "".join(
        f"<tr class='{'ok' if r['outcome'] == 'valid' else 'bad'}'><td>{esc(str(r['id']))}</td>"
        f"<td class='mono'>{esc(str(r.get('commitment', r.get('root'))))}</td>"
        f"<td class='mono'>{esc(str(r['context']))}</td>"
        f"<td>{r['outcome'] if r['outcome'] in ('valid', 'malformed', 'duplicate') else r['outcome'].upper()}</td>"
        f"<td>{esc(r['error'] or r.get('refused') or '')}{' (duplicate of ' + esc(str(r['duplicate_of'])) + ')' if r['duplicate_of'] else ''}</td></tr>"
        for r in rows
    )
    timings = ", ".join(f"{esc(k)} {v} s" for k, v in summary["timings_s"].items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>zkmargin batch report: {esc(snapshot['snapshot_id'])}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}} .mono{{font-family:monospace;font-size:.85em;word-break:break-all}}
.count{{display:inline-block;margin-right:1.5em}} .count b{{font-size:1.8em;display:block}}
tr.bad{{background:#fde8e8}} .invalid b,.malformed b,.refused b{{color:#b00}} .valid b{{color:#070}}
</style></head><body>
<h1>Batch verification report</h1>
<p>Circuit <b>{esc(summary['circuit_id'])}</b>; snapshot <b>{esc(snapshot['snapshot_id'])}</b> of
{esc(snapshot['venue'])} at {esc(snapshot['timestamp'])}; {summary['pairing_checks']} pairing checks; {timings}.</p>
<div>{counts}</div>
<h2>Proofs</h2>
<table><tr><th>id</th><th>{'root' if summary.get('mode') == 'membership' else 'commitment'}</th><th>context</th><th>result</th><th>detail</th></tr>{items}</table>
<h2>Snapshot</h2>
<table><tr><th>instrument</th><th>mark price</th><th>maintenance rate</th><th>contract size</th></tr>{instruments}</table>
<table><tr><th>asset</th><th>price</th><th>haircut</th></tr>{assets}</table>
</body></html>
"""
