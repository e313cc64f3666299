"""Installation claims one top-level name, `zkmargin`; the repository's folders map onto it (pyproject.toml)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"zkmargin": "zkmargin", "circuits": "zkmargin.circuits", "cli": "zkmargin.cli",
           "verifier_service": "zkmargin.verifier_service"}
# Installed names kept only for `python -m` from before docs/service-migration.md: name -> the folder it comes from.
ALIASES = {"zkmargin.service": "verifier_service/service_alias"}


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
            if "/".join([folder, *relative]) not in ALIASES.values():
                expected.add(".".join([name, *relative]))
    assert installed_packages() == expected | set(ALIASES)


def test_installed_names_match_their_folders():
    """zkmargin.X comes from folder X (the service's folder is verifier_service/, so is its name); the old names
    are the only exceptions, each from a folder of its own."""
    tomllib = pytest.importorskip("tomllib")
    package_dir = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    mismatched = {name: folder for name, folder in package_dir.items()
                  if name not in ALIASES and name.split(".", 1)[-1].replace(".", "/") != folder}
    assert mismatched == {}
    assert {name: package_dir[name] for name in ALIASES} == ALIASES


def test_the_old_service_name_still_serves_with_python_m(tmp_path):
    """`python -m zkmargin.service` (the name before the move) runs the same entry point and says the new name."""
    result = subprocess.run([sys.executable, "-m", "zkmargin.service", "--workers", "0"], capture_output=True,
                            text=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "PYTHONSAFEPATH": "1"})
    assert result.returncode == 2, result.stderr
    assert "zkmargin.verifier_service" in result.stderr
    assert "--workers must be at least 1" in result.stderr


def test_no_generic_top_level_names_outside_the_repository(tmp_path):
    """Run from elsewhere (the repository not on sys.path): `circuits`, `cli` and `verifier_service` do not exist,
    and the zkmargin.* names resolve to the repository's folders."""
    code = (
        "import importlib.util, json, zkmargin.circuits.registry, zkmargin.cli.main, zkmargin.verifier_service.app\n"
        "print(json.dumps({'generic': [n for n in ('circuits', 'cli', 'verifier_service') "
        "if importlib.util.find_spec(n)],\n"
        " 'files': [zkmargin.circuits.registry.__file__, zkmargin.cli.main.__file__, zkmargin.verifier_service.app.__file__]}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                            env={"PATH": "/usr/bin:/bin", "PYTHONSAFEPATH": "1"})
    assert result.returncode == 0, result.stderr


    found = json.loads(result.stdout)
    assert found["generic"] == []
    assert [Path(f).relative_to(ROOT).as_posix() for f in found["files"]] == [
        "circuits/registry.py", "cli/main.py", "verifier_service/app.py"]


def test_each_native_module_ships_its_stub_beside_it():
    """zkmargin/native/X.c compiles to zkmargin.native.X (setup.py); X.pyi beside it types it, and the wheel carries
    it (package-data), so mypy and editors see the same names in a checkout and an install."""
    tomllib = pytest.importorskip("tomllib")
    shipped = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    setup_text = (ROOT / "setup.py").read_text()
    sources = sorted((ROOT / "zkmargin" / "native").glob("*.c"))
    assert sources
    for source in sources:
        assert f'Extension("zkmargin.native.{source.stem}", ["zkmargin/native/{source.name}"]' in setup_text
        assert source.with_suffix(".pyi").is_file(), source.name
        assert f"{source.stem}.pyi" in shipped["zkmargin.native"]
    assert not list((ROOT / "zkmargin").glob("*.[ch]")), "C sources belong in zkmargin/native/"
