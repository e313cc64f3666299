"""The README is a front door: at most 300 lines, opening with the demo and test commands, pointing only inside
the repository, with the trust chain once and the rest in docs/ pages."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
PAGES = {p.name: p.read_text() for p in (REPO / "docs").glob("*.md")}


def test_readme_is_a_front_door_of_at_most_300_lines():
    assert len(README.splitlines()) <= 300
    for section in ("## What a proof shows", "### Trust chain", "## CLI walkthrough", "## Library",
                    "## Where the rest is"):
        assert section in README, section


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
    assert testing_page.split("```text\n", 1)[1].split("\n", 1)[0] == ci_commands[0]


def test_readme_points_only_inside_the_repository_and_names_every_docs_page():
    assert "../" not in README and "shared/DESIGN" not in README
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not target.startswith(("http://", "https://")):
            assert (REPO / target).exists(), target
    for name in PAGES:
        assert f"docs/{name}" in README, name
    assert "bench/README.md" in README


def test_the_walkthrough_starts_from_the_sample_command():
    walkthrough = README.split("## CLI walkthrough", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    assert walkthrough.lstrip().startswith("zkmargin sample --workdir .")


def test_the_trust_chain_table_is_written_once_in_docs():
    tables = [name for name, text in PAGES.items() if "| link | who holds or makes it |" in text]
    assert tables == ["design.md"]
    assert "| link | who holds or makes it |" not in README


def test_the_service_page_documents_request_bodies_and_where_proof_b64_comes_from():
    service, cli = PAGES["service.md"], PAGES["cli.md"]
    assert '"items": [{"id": "acct-17"' in service and "POST /v1/verify/batch" in service
    assert "`zkmargin prove --json`" in service and "proof_b64" in service
    for request in ("POST /v1/keys", "/v1/venues", "/v1/circuits", "/v1/snapshots", "/v1/verify", "/v1/verify/batch",
                    "/v1/receipts/", "/v1/roots"):
        assert f"http://127.0.0.1:8000{request.split(' ')[-1]}" in service, request
    assert "proof_b64" in cli


def test_the_docs_do_not_claim_that_forgeable_keys_are_refused():
    assert "sanity check" in README and "never makes keys" in README
    for text in (README, *PAGES.values()):
        assert "refuses keys that are forgeable by construction" not in text


def test_the_membership_verify_example_names_its_verification_key():
    verifies = [c for c in re.findall(r"^zkmargin verify proof\.json.*?(?<!\\)\n", PAGES["venue.md"], re.M | re.S)
                if "-m8" in c]
    assert verifies and all("--vk " in c for c in verifies)


def test_benchmark_history_lives_in_bench_readme():
    assert "### Prover speed and the first run" in (REPO / "bench" / "README.md").read_text()
    assert "### Prover speed" not in README
