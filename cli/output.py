"""Shared output helpers: results to stdout (text or JSON), diagnostics to stderr, safe writes."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import click

from zkmargin import files
from zkmargin.jsontext import decode_json

EXIT_OK = 0
EXIT_NO = 1
"""The answer is no: proof invalid, or the account is subject to a margin call."""
EXIT_ERROR = 2
"""Bad input or usage: nothing was decided."""

class CliError(click.ClickException):
    """A user-facing error: 'error: message' on stderr, exit status 2."""

    exit_code = EXIT_ERROR

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def _json_wanted(ctx: click.Context, _: click.Parameter, value: bool) -> bool:
    # `zkmargin --json CMD` and `zkmargin CMD --json` mean the same.
    return value or bool(getattr(ctx.find_root().obj, "as_json", False))


json_option = click.option("--json", "as_json", is_flag=True, callback=_json_wanted,
                           help="Print a JSON object instead of text (errors too, as {\"error\": ...}).")


def error_payload(code: str, message: str, exit_code: int) -> str:
    """The JSON error object a --json command prints on stdout when it fails."""
    return json.dumps({"error": {"code": code, "message": message}, "exit_code": exit_code}, indent=2, sort_keys=True)


def emit(as_json: bool, payload: dict[str, Any], text: str) -> None:
    """Print the result: the payload as JSON, or the human text."""
    click.echo(json.dumps(payload, indent=2, sort_keys=True) if as_json else text)


def note(message: str) -> None:
    """A progress or diagnostic line on stderr."""
    click.echo(message, err=True)


class ProgressBar:
    """progress(done, total) for a long library loop: a click bar on stderr while stderr is a terminal.

    Silent when stderr is piped or redirected, and under --json (quiet=True): stdout never carries it.
    """

    def __init__(self, label: str, quiet: bool = False) -> None:
        self.label = label
        self.enabled = not quiet and sys.stderr.isatty()
        self._bar: Any = None
        self._done = 0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            # Created on the first report: the library knows the total only once it has read its input.
            self._bar = click.progressbar(length=total, label=self.label, file=sys.stderr, show_pos=True)
            self._bar.__enter__()
        self._bar.update(done - self._done)
        self._done = done

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc_info)
            self._bar = None


@contextmanager
def step(message: str) -> Iterator[dict[str, float]]:
    """Print 'message ...' to stderr and its duration when done."""
    click.echo(f"{message} ...", err=True, nl=False)
    result: dict[str, float] = {}
    started = time.perf_counter()
    try:
        yield result
    except BaseException:
        click.echo(" failed", err=True)
        raise
    result["seconds"] = time.perf_counter() - started
    click.echo(f" done in {result['seconds']:.2f} s", err=True)


def write_atomic(path: Path, data: bytes, mode: int = 0o644, overwrite: bool = True) -> None:
    """zkmargin.files.write_atomic, with a refused overwrite reported as a CLI error."""
    try:
        files.write_atomic(path, data, mode, overwrite)
    except FileExistsError as exc:
        raise CliError(str(exc)) from None


def write_json(path: Path, obj: Any, mode: int = 0o644, overwrite: bool = True) -> None:
    """zkmargin.files.write_json, with a refused overwrite reported as a CLI error."""
    try:
        files.write_json(path, obj, mode, overwrite)
    except FileExistsError as exc:
        raise CliError(str(exc)) from None


def read_bytes(path: Path, what: str) -> bytes:
    """A file's bytes, or fail with a message naming it."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CliError(f"{what} file not found: {path}") from None
    except IsADirectoryError:
        raise CliError(f"{what} file {path} is a directory") from None
    except OSError as exc:
        raise CliError(f"cannot read {what} file {path}: {exc.strerror}") from None


def read_json(path: Path, what: str) -> Any:
    """Load a JSON file or fail with a message naming it."""
    data = read_bytes(Path(path), what)
    try:
        return decode_json(data)
    except ValueError as exc:
        raise CliError(f"{what} file {path} is not valid JSON: {exc}") from None


def read_json_documents(path: Path, what: str) -> list[Any]:
    """One JSON document, or JSON Lines of them (a batch as `venue attest` or `venue tree` writes it)."""
    data = read_bytes(path, what)
    try:
        return [decode_json(data)]
    except ValueError:
        pass
    try:
        docs = [decode_json(line) for line in data.splitlines() if line.strip()]
    except ValueError:
        docs = []
    if not docs:
        raise CliError(f"{what} file {path} is neither a JSON document nor JSON Lines of them")
    return docs


