"""Review findings on `zkmargin venue run` resuming: a bundle on disk was skipped as done when its format,
account, commitment and root matched, whatever its opening, context, attestation or proof said. Now every field
but the proof must equal the plan's bundle, and the skipped bundles' proofs are checked in one batch."""

from __future__ import annotations

import json

import pytest

from tests.cli.venue_run_helpers import check_bundles, run_cli, venue_run_args, write_accounts
from zkmargin.venue_run import bundle_file_name

IDS = range(1, 4)
HEALTHY = {f"acct-{i}" for i in IDS}


@pytest.fixture(scope="module")
def resumed(venue):  # noqa: F811
    write_accounts(venue / "resume.jsonl", IDS)
    args = venue_run_args(venue, "resume.jsonl", "out-resume", "--workers", "1")
    first = run_cli(venue, *args)
    assert first.exit_code == 0, first.output
    return venue / "out-resume", args


def rewrite(out, account_id: str, change) -> None:
    path = out / "bundles" / bundle_file_name(account_id)
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def test_a_bundle_with_an_altered_opening_is_made_again_on_resume(venue, resumed):  # noqa: F811
    out, args = resumed
    rewrite(out, "acct-1", lambda d: d["opening"].__setitem__("salt", "1"))
    rewrite(out, "acct-2", lambda d: d.__setitem__("context", "7"))
    again = run_cli(venue, *args)
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert summary["accounts"]["already_done"] == 1 and summary["accounts"]["proved_now"] == 2
    check_bundles(venue, out, HEALTHY)


def test_a_bundle_carrying_another_accounts_proof_is_made_again_on_resume(venue, resumed):  # noqa: F811
    out, args = resumed
    other = json.loads((out / "bundles" / bundle_file_name("acct-3")).read_text())["proof"]
    rewrite(out, "acct-1", lambda d: d.__setitem__("proof", other))
    rewrite(out, "acct-2", lambda d: d.__setitem__("proof", {"pi_a": "damaged"}))
    again = run_cli(venue, *args)
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert summary["accounts"]["already_done"] == 1 and summary["accounts"]["proved_now"] == 2
    check_bundles(venue, out, HEALTHY)
