"""The docs site builds with `mkdocs build --strict`: a broken link, anchor or page left out of the nav fails it."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.runner import REPO

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None or
                                importlib.util.find_spec("material") is None,
                                reason="mkdocs and mkdocs-material are not installed (pip install -e '.[docs]')")


def build(root: Path, site: Path) -> subprocess.CompletedProcess:
    """`mkdocs build --strict` of the mkdocs.yml in root, into site (never into the repository)."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(root / "mkdocs.yml"),
                           "-d", str(site)], capture_output=True, text=True, env=env, timeout=300)


def test_the_site_builds_strictly(tmp_path):
    result = build(REPO, tmp_path / "site")
    assert result.returncode == 0, result.stderr[-3000:]
    for page in ("design", "service", "venue", "ceremony"):
        assert (tmp_path / "site" / page / "index.html").exists(), page


@pytest.mark.parametrize("breakage", [
    "see [the tree](venue.md#no-such-anchor)",
    "see [the book](no-such-page.md)",
])
def test_a_broken_link_fails_the_strict_build(tmp_path, breakage):
    copy = tmp_path / "repo"
    shutil.copytree(REPO / "docs", copy / "docs")
    shutil.copy(REPO / "mkdocs.yml", copy / "mkdocs.yml")
    with open(copy / "docs" / "models.md", "a") as page:
        page.write(f"\n{breakage}\n")
    result = build(copy, tmp_path / "site")
    assert result.returncode != 0 and "models.md" in result.stderr


def test_a_page_outside_the_nav_fails_the_strict_build(tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(REPO / "docs", copy / "docs")
    shutil.copy(REPO / "mkdocs.yml", copy / "mkdocs.yml")
    (copy / "docs" / "orphan.md").write_text("# Orphan\n")
    result = build(copy, tmp_path / "site")
    assert result.returncode != 0 and "orphan.md" in result.stderr
