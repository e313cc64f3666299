"""Every shell example of README.md and docs/*.md runs as written (tests/docs/runner.py says how)."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from tests.docs.runner import REPO, PageRun, commands, doc_pages, json_field, python_env, shell_blocks
from zkmargin.backends import get_backend
from zkmargin.groth16.ptau import insecure_ptau_for_tests

# Placeholders a reader fills from what an earlier command printed or wrote.
FILL = {
    "C": json_field("opening.json", "commitment"),
    "ALICE_C": json_field("alice.opening.json", "commitment"),
    "N": lambda d: (d / "public.json").read_text().split('"')[7],  # public.json: root, context, scope, nullifier
    "VENUE_TOKEN": json_field("venue-token.json", "token"),
    "VERIFIER_TOKEN": json_field("verifier-token.json", "token"),
    "VENUE_KEY_ID": json_field("venue-token.json", "key_id"),
    "ROOT_ID": json_field("root-registered.json", "root_id"),
    "RECEIPT_ID": json_field("verified.json", "receipt_id"),
    "BEACON_HEX": lambda d: "5ae1b7c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f901",
    "CONTEXT": json_field("context.json", "context"),
    "ADMIN_KEY": lambda d: "docs-admin-secret",
}

PAGES = [p for p in doc_pages() if shell_blocks(p.read_text())]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    """One key cache for every page (ZKMARGIN_CACHE_DIR when the run sets it), so keys are made once."""
    shared = os.environ.get("ZKMARGIN_CACHE_DIR")
    return Path(shared) if shared else tmp_path_factory.mktemp("doc-keys")


def given_files(page: Path, workdir: Path, cache_dir: Path) -> None:
    """What a page's reader already has: the venue's key bundles (from the shared cache when made before), a ptau."""
    for bundle in cache_dir.glob("cross-n6-k4*"):
        if (bundle / "verification_key.sha256").exists():
            shutil.copytree(bundle, workdir / "venue-keys" / bundle.name)
    if "pot12_final.ptau" in page.read_text():
        ptau = cache_dir / "docs-pot12-insecure.ptau"
        if not ptau.exists():
            # Known tau: good for a test, worthless for a venue (docs/ceremony.md says so).
            ptau.write_bytes(insecure_ptau_for_tests(12, random.Random(7), get_backend("arkworks")))
        shutil.copy(ptau, workdir / "pot12_final.ptau")


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(REPO)) for p in PAGES])
def test_every_shell_example_of_the_page_runs(page, tmp_path, cache_dir):
    env = python_env(cache_dir)
    env["ZKMARGIN_ADMIN_KEY"] = FILL["ADMIN_KEY"](tmp_path)
    env["PATH"] = f"{env['PATH']}{os.pathsep}{REPO / '.ci' / 'npm' / 'node_modules' / '.bin'}"
    if "snarkjs " in page.read_text() and shutil.which("snarkjs", path=env["PATH"]) is None:
        pytest.skip("snarkjs is not installed (.ci/run installs it into .ci/npm)")
    given_files(page, tmp_path, cache_dir)
    run = PageRun(tmp_path, env, FILL)
    blocks = shell_blocks(page.read_text())
    if page.name == "README.md":
        # The opening block installs the package and runs the whole suite: .ci/run runs exactly that
        # (test_the_readme_install_block_is_what_ci_runs), a test cannot run the suite inside itself.
        blocks = blocks[1:]
    try:
        for block in blocks:
            for command in commands(block):
                run.run(command)
    finally:
        run.close()
    for bundle in (tmp_path / "venue-keys").glob("*"):
        if not (cache_dir / bundle.name).exists() and (bundle / "verification_key.sha256").exists():
            shutil.copytree(bundle, cache_dir / bundle.name)


def test_the_readme_install_block_is_what_ci_runs():
    install = shell_blocks((REPO / "README.md").read_text())[0]
    ci = (REPO / ".ci" / "run").read_text()
    assert "pip install -e '.[test]' && python -m pytest -q" in install and "zkmargin demo" in install
    assert "pip install -q -e '.[test]'" in ci and "python -m pytest -q" in ci
