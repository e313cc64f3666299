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


# ----- one verdict path -------------------------------------------------------------------
VERDICT_MODULE = ROOT / "circuits" / "verification.py"
GROTH16_FOLDER = ROOT / "zkmargin" / "groth16"
RAW_VERIFIERS = {"verify_with_fixed_inputs"}
"""Functions that decide a proof under folded snapshot inputs: only the verdict module calls them."""
RAW_MODULES = {"zkmargin.groth16.batch"}
"""The weighted batch check: only the verdict module (and groth16 itself) imports it."""
PLAIN_VERIFIER_MODULES = {"zkmargin.groth16", "zkmargin.groth16.verifier"}
"""Where the plain verifier `verify` lives: importing it, or calling it through one of these modules, is a raw
verdict too (a book's batch proofs were once checked that way, one by one, beside the one path)."""


def _dotted(node: ast.expr) -> str | None:
    """a.b.c for a chain of names, None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def raw_verifier_uses(path: Path) -> list[str]:
    """Lines of a source file that import or call the Groth16 batch check, the folded or the plain verifier."""
    found = []
    tree = ast.parse(path.read_text())
    modules = set(PLAIN_VERIFIER_MODULES)  # names bound to the verifier's modules in this file
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.asname for a in node.names if a.asname and a.name in PLAIN_VERIFIER_MODULES}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules |= {a.asname or a.name for a in node.names if f"{node.module}.{a.name}" in PLAIN_VERIFIER_MODULES}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if a.name in RAW_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module in RAW_MODULES:
                found.append(f"{node.lineno}: from {node.module} import ...")
            found += [f"{node.lineno}: from {node.module} import {a.name}" for a in node.names
                      if a.name in RAW_VERIFIERS or f"{node.module}.{a.name}" in RAW_MODULES
                      or (a.name == "verify" and node.module in PLAIN_VERIFIER_MODULES)]
        elif isinstance(node, ast.Attribute) and node.attr in RAW_VERIFIERS:
            found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr == "verify" and _dotted(node.value) in modules:
            found.append(f"{node.lineno}: {_dotted(node.value)}.verify")
    return sorted(found, key=lambda use: int(use.split(":")[0]))


def test_raw_verifier_uses_sees_imports_calls_and_module_imports(tmp_path):
    """The checker itself can fail: each way of reaching the raw verifiers is reported."""
    source = tmp_path / "edge.py"
    source.write_text("import zkmargin.groth16.batch\n"
                      "from zkmargin.groth16.batch import verify_batch\n"
                      "from zkmargin.groth16 import batch\n"
                      "from zkmargin.groth16.verifier import verify_with_fixed_inputs\n"
                      "import zkmargin.groth16.verifier as v\n"
                      "v.verify_with_fixed_inputs(1, 2, 3, 4)\n"
                      "from zkmargin.circuits.verification import SnapshotVerifier\n"
                      "from zkmargin.groth16 import verify\n"
                      "from zkmargin.groth16.verifier import verify as plain\n"
                      "from zkmargin import groth16\n"
                      "groth16.verify(1, 2, 3)\n"
                      "import zkmargin.groth16\n"
                      "zkmargin.groth16.verifier.verify(1, 2, 3)\n"
                      "v.verify(1, 2, 3)\n"
                      "key.verify(signature, message)\n"
                      "from zkmargin.groth16.verifier import check_verifying_key\n")
    assert [line.split(":")[0] for line in raw_verifier_uses(source)] == [
        "1", "2", "3", "4", "6", "8", "9", "11", "13", "14"]


def test_verdicts_are_decided_in_one_module():
    """Only circuits/verification.py (SnapshotVerifier.verify_batch) and groth16/ itself run the batch check, the
    folded or the plain verifier: the service, the cluster workers, the venue run and every CLI command ask the snapshot
    verifier, so a soundness fix to decoding, policy, weights or bisection is made once (issue 24). Benchmarks
    that time groth16's own functions (bench/batch.py, bench/verify.py, bench/cross.py) and groth16's tests
    measure the primitive, not a verdict, and are not scanned."""
    offenders = []
    for package in INSTALLED_AS:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == VERDICT_MODULE or GROTH16_FOLDER in path.parents:
                continue
            offenders += [f"{path.relative_to(ROOT)}:{use}" for use in raw_verifier_uses(path)]
    assert not offenders, offenders


# ----- no upward import inside zkmargin/ ----------------------------------------------------
INSIDE_FORBIDDEN = {
    "backends": {"r1cs", "gadgets", "groth16", "margin", "evm", "venue"},
    "r1cs": {"gadgets", "groth16", "margin", "evm", "venue"},
    "gadgets": {"groth16", "margin", "evm", "venue"},
    "groth16": {"gadgets", "margin", "evm", "venue"},
    "margin": {"groth16", "evm", "venue"},
    "evm": {"margin", "venue"},
}
"""zkmargin's subpackages bottom-up (curve seam, constraint system, gadgets and the proof system, the margin
models, then the venue's tools): none imports one above it, so each layer is usable alone. Shared formats sit
at the root (zkmargin/binfile.py: the iden3 container read by r1cs/circom.py and groth16's zkey/ptau)."""


@pytest.mark.parametrize("subpackage", sorted(INSIDE_FORBIDDEN))
def test_no_upward_import_inside_zkmargin(subpackage):
    offenders = []
    for path in sorted((ROOT / "zkmargin" / subpackage).rglob("*.py")):
        tree = ast.parse(path.read_text())
        skipped = type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                     else [])
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} imports {name}" for name in names
                          if name.startswith("zkmargin.") and name.split(".")[1] in INSIDE_FORBIDDEN[subpackage]]
    assert not offenders, offenders


# ----- thin CLI: shared options and readers in one module ------------------------------------
CLI_SHARED = {"inputs", "output", "keystore", "main", "__init__"}
"""cli/inputs.py (options, readers), cli/output.py (printing, writing), cli/keystore.py (key bundles); main.py is
the root group that registers every command."""


def is_command_module(path: Path) -> bool:
    """A cli module that defines a click command or group (decorated with click.command/group or <group>.command)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Attribute) and target.attr in ("command", "group"):
                    return True
    return False


def cli_modules_imported(path: Path) -> set[str]:
    """The cli modules a source file imports (lazy imports included), by file stem."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("zkmargin.cli."):
            names.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[2] for a in node.names if a.name.startswith("zkmargin.cli."))
    return names


def test_no_command_module_imports_another():
    """Commands share options and readers through cli/inputs.py, never by importing each other (issue 24)."""
    commands = {path.stem for path in (ROOT / "cli").glob("*.py") if is_command_module(path)}
    assert {"proving", "batch", "venue", "venue_run"} <= commands  # the check sees the command modules
    offenders = [f"cli/{path.name} imports cli/{name}.py"
                 for path in sorted((ROOT / "cli").glob("*.py")) if path.stem in commands - CLI_SHARED
                 for name in sorted(cli_modules_imported(path) & (commands - CLI_SHARED))]
    assert not offenders, offenders


def test_bench_uses_only_public_cli_names():
    """A benchmark imports what a user could: no _private helper of the CLI."""
    offenders = []
    for path in sorted((ROOT / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("zkmargin.cli"):
                offenders += [f"{path.name}: {node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    assert not offenders, offenders
