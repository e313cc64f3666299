"""The README stands on its own: it opens with the demo and test commands and points only inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def test_readme_opens_with_the_demo_and_the_test_command():
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert "zkmargin demo" in first_block and "python -m pytest -q" in first_block


def test_readme_test_command_is_the_one_ci_runs():
    """The README's test command and .ci/run's are one command (two cores through pytest-xdist), word for word."""
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    readme_command = first_block.split(" && python -m pytest", 1)[1].splitlines()[0]
    ci_commands = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
                   if line.startswith("python -m pytest")]
    assert ci_commands == ["python -m pytest" + readme_command]
    assert " -n 2" in readme_command
    testing_page = (REPO / "docs" / "testing.md").read_text()
    assert testing_page.split("```sh\n", 1)[1].split("\n", 1)[0] == ci_commands[0]


def test_readme_points_only_inside_the_repository():
    assert "../" not in README and "shared/DESIGN" not in README
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not target.startswith(("http://", "https://")):
            assert (REPO / target).exists(), target
    assert (REPO / "docs" / "design.md").exists() and "docs/design.md" in README


def test_readme_documents_the_batch_body_and_where_proof_b64_comes_from():
    assert '"items": [{"id": "acct-17"' in README and "POST /v1/verify/batch" in README
    assert "`zkmargin prove --json`" in README and "proof_b64" in README


def test_readme_does_not_claim_that_forgeable_keys_are_refused():
    assert "sanity check" in README and "never makes keys" in README
    assert "refuses keys that are forgeable by construction" not in README
