"""mypy over the library (zkmargin/) is clean, with the configuration in pyproject.toml, so its type hints stay true."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                                reason="mypy is not installed (it is in the test extras: pip install -e '.[test]')")


def mypy(*args: str) -> subprocess.CompletedProcess:
    """python -m mypy with the repository's configuration, run from the repository (its cache is .mypy_cache)."""
    return subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_mypy_finds_no_error_in_the_library():
    result = mypy("zkmargin/")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Success: no issues found" in result.stdout


def test_the_library_hints_are_checked_not_ignored():
    """A call against a hint (a group addition that is a string) is an error under the same configuration: the
    library is checked, not silenced by an ignore_errors or a follow_imports = skip."""
    code = ("from zkmargin.backends.base import fixed_base_table\n"
            "fixed_base_table(1, 'not an addition', 0)\n")
    result = mypy("-c", code)
    assert result.returncode == 1, result.stdout
    assert 'Argument 2 to "fixed_base_table" has incompatible type "str"' in result.stdout
