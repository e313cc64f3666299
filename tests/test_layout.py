"""The layout rules of DESIGN.md, checked on the source: dependency direction and a light `import zkmargin`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "zkmargin": {"circuits", "cli", "verifier_service"},
    "circuits": {"cli", "verifier_service"},
    "cli": {"verifier_service"},
    "verifier_service": {"cli"},
}


def imported_top_level_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependency_direction(package):
    offenders = [
        f"{path.relative_to(ROOT)} imports {sorted(imported_top_level_packages(path) & FORBIDDEN[package])}"
        for path in sorted((ROOT / package).rglob("*.py"))
        if imported_top_level_packages(path) & FORBIDDEN[package]
    ]
    assert not offenders, offenders


def test_import_zkmargin_loads_no_heavy_library():
    """numba, galois, py_ecc and the curve library load on first use, never at `import zkmargin`."""
    code = (
        "import sys, zkmargin, zkmargin.field, zkmargin.r1cs, zkmargin.groth16, zkmargin.margin.models; "
        "print(sorted(m for m in ('numba', 'galois', 'py_ecc', 'py_arkworks_bls12381') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.strip() == "[]", loaded.stdout
