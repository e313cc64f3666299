"""`zkmargin venue run` with a sparse circuit id (tiered-n4-p1-k1: one held slot over a four-row table) on a real
LocalCluster: every healthy account is proved, attested and placed under the signed root, like a dense run."""

from __future__ import annotations

import json

from tests.cli.venue_run_helpers import SNAPSHOT, check_bundles, run_cli, venue_run_args, write_accounts

SPARSE = "tiered-n4-p1-k1"


def test_a_venue_run_proves_its_book_with_a_sparse_circuit(tmp_path):
    (tmp_path / "snapshot.json").write_text(json.dumps(SNAPSHOT))
    assert run_cli(tmp_path, "setup", "--circuit", SPARSE).exit_code == 0
    made = run_cli(tmp_path, "venue", "keygen", str(tmp_path / "venue.key"), "--venue", "v1")
    assert made.exit_code == 0, made.output
    write_accounts(tmp_path / "accounts.jsonl", range(6))
    result = run_cli(tmp_path, *venue_run_args(tmp_path, "accounts.jsonl", "out", "--workers", "1",
                                               circuit_id=SPARSE))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["accounts"] == {"read": 6, "healthy": 5, "margin_call": 1, "malformed": 0, "proved_now": 5,
                                   "already_done": 0, "failed": 0}
    check_bundles(tmp_path, tmp_path / "out", {f"acct-{i}" for i in range(1, 6)}, SPARSE)
