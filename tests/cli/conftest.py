"""Module-scoped fixtures the `zkmargin venue` and `venue run` test modules share."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tests.cli.venue_helpers import COMMITMENTS, IDENTITIES, run
from tests.cli.venue_run_helpers import CIRCUIT, N_ACCOUNTS, SNAPSHOT, account_doc, run_cli, write_accounts
from tests.key_cache import install_bundle
from zkmargin.margin.models import snapshot_to_json
from zkmargin.margin.samples import sample_snapshot


@pytest.fixture(scope="module")
def venue_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("venue")
    snapshot = sample_snapshot()
    (root / "snapshot.json").write_text(json.dumps(snapshot_to_json(snapshot)))
    later = dataclasses.replace(snapshot, snapshot_id="later")
    (root / "later.json").write_text(json.dumps(snapshot_to_json(later)))
    (root / "requests.jsonl").write_text(
        "".join(json.dumps({"account_id": f"acct-{i}", "commitment": str(c), "identity": str(k)}) + "\n"
                for i, (c, k) in enumerate(zip(COMMITMENTS, IDENTITIES))))
    made = run(root, "venue", "keygen", str(root / "venue.key"), "--venue", snapshot.venue, "--json")
    assert made.exit_code == 0, made.output
    other = run(root, "venue", "keygen", str(root / "other.key"), "--venue", "other-venue")
    assert other.exit_code == 0, other.output
    return root


@pytest.fixture(scope="module")
def venue(tmp_path_factory, key_bundle) -> Path:
    root = tmp_path_factory.mktemp("venue-run")
    (root / "snapshot.json").write_text(json.dumps(SNAPSHOT))
    install_bundle(key_bundle(CIRCUIT), root / "cache", CIRCUIT)
    made = run_cli(root, "venue", "keygen", str(root / "venue.key"), "--venue", "v1")
    assert made.exit_code == 0, made.output
    bad_asset = json.dumps({**account_doc(999), "collateral": [{"asset": "DOGE", "amount": "1"}]})
    write_accounts(root / "accounts.jsonl", range(N_ACCOUNTS),
                   extra=["{not json", bad_asset, json.dumps(account_doc(3))])
    return root
