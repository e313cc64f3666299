"""Charts for the risk reports: matplotlib figures (no pyplot state), PNG files and self-contained HTML pages."""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from zkmargin.cli.output import write_atomic

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.figure import Figure


def new_figure(width_in: float = 8.0, height_in: float = 4.5) -> Figure:
    """A figure detached from pyplot, so rendering never touches a display or global state."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), layout="constrained")


def figure_bytes(figure: Figure, fmt: str) -> bytes:
    """The figure as PNG or SVG bytes (SVG keeps its text as text, so a page stays searchable)."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "zkmargin"}):
        figure.savefig(buffer, format=fmt, dpi=110)
    return buffer.getvalue()


def write_png(path: Path, figure: Figure) -> None:
    """Write the figure as a PNG, atomically."""
    write_atomic(Path(path), figure_bytes(figure, "png"))


def write_html(path: Path, title: str, figures: list[Figure], tables: list[tuple[str, list[str], list[list[str]]]]) -> None:
    """One page, no external resources: the figures as inline SVG, then (caption, header, rows) tables."""
    esc = html.escape
    # Inline SVG starts at its <svg> element: the XML prolog and DOCTYPE (a remote DTD) stay out of the page.
    svgs = [figure_bytes(f, "svg").decode() for f in figures]
    charts = "".join(f"<figure>{svg[svg.index('<svg'):]}</figure>" for svg in svgs)
    body = "".join(
        f"<h2>{esc(caption)}</h2><table><tr>{''.join(f'<th>{esc(h)}</th>' for h in header)}</tr>"
        + "".join(f"<tr>{''.join(f'<td>{esc(str(c))}</td>' for c in row)}</tr>" for row in rows) + "</table>"
        for caption, header, rows in tables)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:right}} figure{{margin:1em 0}} svg{{max-width:100%;height:auto}}</style>
</head><body><h1>{esc(title)}</h1>{charts}{body}</body></html>
"""
    write_atomic(Path(path), page.encode())


def write_charts(figure: Figure, png_path: Path | None, html_path: Path | None, title: str,
                 tables: list[tuple[str, list[str], list[list[str]]]]) -> None:
    """The figure as a PNG and/or a self-contained page with the tables, where asked for."""
    if png_path:
        write_png(png_path, figure)
    if html_path:
        write_html(html_path, title, [figure], tables)


def chart_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--png PATH and --html PATH (png_path, html_path) for a command that draws one chart."""
    command = click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
                           help="Write a self-contained HTML page (chart and tables).")(command)
    return click.option("--png", "png_path", type=click.Path(dir_okay=False, path_type=Path),
                        help="Write the chart as PNG.")(command)
