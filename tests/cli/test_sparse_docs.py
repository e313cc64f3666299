"""Every command docs/sparse.md shows runs as printed (through the CLI, with a fresh key cache) and exits 0."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from zkmargin.cli.main import cli

PAGE = Path(__file__).resolve().parents[2] / "docs" / "sparse.md"


def documented_commands() -> list[str]:
    """The lines of the page's sh blocks."""
    blocks = re.findall(r"```sh\n(.*?)```", PAGE.read_text(), flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_the_page_shows_commands_and_names_every_sparse_model():
    commands = documented_commands()
    assert len(commands) >= 3 and all(c.startswith("zkmargin ") for c in commands)
    from zkmargin.circuits.registry import MODELS

    for model in (m for m in MODELS.values() if m.sparse_statement is not None):
        assert f"`{model.name}-n<N>-p<P>-k<K>`" in PAGE.read_text()


@pytest.mark.parametrize("command", documented_commands())
def test_every_documented_command_runs(tmp_path, command):
    args = shlex.split(command)[1:]
    result = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path / "cache"), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    if "--json" in args:
        assert json.loads(result.stdout)["sizes"]["P"] == 16
