"""The layout rules of DESIGN.md, checked on the source: dependency direction, no import cycles inside a package,
sibling statements, and a light `import zkmargin`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Repository folder -> the name it is installed under (pyproject.toml's package-dir).
INSTALLED_AS = {"zkmargin": "zkmargin", "circuits": "zkmargin.circuits", "cli": "zkmargin.cli",
                "verifier_service": "zkmargin.verifier_service"}
# Old installed names (pyproject.toml) -> the folder whose code they stand for.
ALIASES = {"zkmargin.service": "verifier_service"}
FORBIDDEN = {
    "zkmargin": {"circuits", "cli", "verifier_service"},
    "circuits": {"cli", "verifier_service"},
    "cli": {"verifier_service"},
    "verifier_service": {"cli"},
}


def folder_of(module: str) -> str:
    """The repository folder that holds an absolute module name (the longest installed prefix wins)."""
    pairs = [*INSTALLED_AS.items(), *((folder, name) for name, folder in ALIASES.items())]
    for folder, installed in sorted(pairs, key=lambda item: -len(item[1])):
        if module == installed or module.startswith(installed + "."):
            return folder
    # A top-level name that is not ours, or one of our folders imported by its bare (uninstalled) name.
    return module.split(".")[0]


def imported_top_level_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(folder_of(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(folder_of(node.module))
    return names


def test_folder_of_maps_installed_names_back_to_folders():
    assert folder_of("zkmargin.circuits.registry") == "circuits"
    assert folder_of("zkmargin.verifier_service.routes.keys") == "verifier_service"
    assert folder_of("zkmargin.service.__main__") == "verifier_service"
    assert folder_of("zkmargin.groth16") == "zkmargin"
    assert folder_of("zkmargin.cli") == "cli"
    assert folder_of("numpy.linalg") == "numpy"


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


def module_name(path: Path) -> str:
    """The installed module name of a source file (circuits/x.py -> zkmargin.circuits.x)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    parts = INSTALLED_AS[parts[0]].split(".") + parts[1:]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the nodes under `if TYPE_CHECKING:` (imports for annotations only; they never run)."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        test = getattr(node, "test", None)
        if isinstance(node, ast.If) and (getattr(test, "id", None) == "TYPE_CHECKING"
                                         or getattr(test, "attr", None) == "TYPE_CHECKING"):
            guarded.update(id(child) for statement in node.body for child in ast.walk(statement))
    return guarded


def import_graph(package: str) -> dict[str, set[str]]:
    """Module -> modules of the same package it imports when it runs (lazy imports included)."""
    modules = {module_name(path): path for path in (ROOT / package).rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        tree = ast.parse(path.read_text())
        skipped = type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                    base = ".".join(here[: len(here) - node.level + 1] + ([node.module] if node.module else []))
                candidates = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            targets.update(c for c in candidates if c in modules and c != name)
        edges[name] = targets
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_type_checking_imports_do_not_count():
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\nimport b\n")
    skipped = type_checking_only(tree)
    kept = [n.names[0].name for n in ast.walk(tree) if isinstance(n, ast.Import) and id(n) not in skipped]
    assert kept == ["b"]


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_cycles_inside_a_package(package):
    assert find_cycle(import_graph(package)) is None


def test_statements_are_siblings():
    """No statement imports another statement module or inherits from another statement; no override escapes."""
    from zkmargin.circuits.registry import MODELS

    classes = {model.statement for model in MODELS.values()}
    modules = {cls.__module__ for cls in classes}
    edges = import_graph("circuits")
    for module in modules:
        assert not edges[module] & (modules - {module}), module
    for cls in classes:
        assert not set(cls.__mro__[1:]) & classes, cls
    for path in (ROOT / "circuits").rglob("*.py"):
        assert "type: ignore[override]" not in path.read_text(), path


def test_test_modules_import_no_other_test_module():
    """Shared builders live in helper modules (or conftest.py): a test module imports no test_*.py module."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            offenders += [f"{path.relative_to(ROOT)} imports {name}" for name in names
                          if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")]
    assert not offenders, offenders


def test_zkmargin_reaches_circuits_only_through_the_lazy_public_api():
    """The one sanctioned way up the layering: zkmargin/__init__.py names zkmargin.circuits.api, loaded on first use
    of a public name; no other library module even names the upper packages."""
    offenders = []
    for path in sorted((ROOT / "zkmargin").rglob("*.py")):
        text = path.read_text()
        for installed in ("zkmargin.circuits", "zkmargin.cli", "zkmargin.verifier_service", *ALIASES):
            for line in text.splitlines():
                if installed in line and not line.lstrip().startswith("#") and '"""' not in line:
                    allowed = path.name == "__init__.py" and path.parent == ROOT / "zkmargin" \
                        and '_API = "zkmargin.circuits.api"' in line
                    if not allowed:
                        offenders.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert not offenders, offenders
