"""Installation claims one top-level name, `zkmargin`; the repository's folders map onto it (pyproject.toml)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"zkmargin": "zkmargin", "circuits": "zkmargin.circuits", "cli": "zkmargin.cli",
           "verifier_service": "zkmargin.service"}


def installed_packages() -> set[str]:
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return set(config["packages"])


def test_every_source_package_is_installed_under_zkmargin():
    """A new subpackage that pyproject.toml does not list would be missing from a wheel."""
    expected = set()
    for folder, name in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            expected.add(".".join([name, *relative]))
    assert installed_packages() == expected


def test_no_generic_top_level_names_outside_the_repository(tmp_path):
    """Run from elsewhere (the repository not on sys.path): `circuits`, `cli` and `verifier_service` do not exist,
    and the zkmargin.* names resolve to the repository's folders."""
    code = (
        "import importlib.util, json, zkmargin.circuits.registry, zkmargin.cli.main, zkmargin.service.app\n"
        "print(json.dumps({'generic': [n for n in ('circuits', 'cli', 'verifier_service') "
        "if importlib.util.find_spec(n)],\n"
        " 'files': [zkmargin.circuits.registry.__file__, zkmargin.cli.main.__file__, zkmargin.service.app.__file__]}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                            env={"PATH": "/usr/bin:/bin", "PYTHONSAFEPATH": "1"})
    assert result.returncode == 0, result.stderr


    found = json.loads(result.stdout)
    assert found["generic"] == []
    assert [Path(f).relative_to(ROOT).as_posix() for f in found["files"]] == [
        "circuits/registry.py", "cli/main.py", "verifier_service/app.py"]
