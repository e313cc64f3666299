"""Review finding: `venue check --root --path` printed "OK: account X is a leaf" for whatever account_id the path
document named, although a signed root covers commitments only: editing the name in alice's path made the check
vouch for "mallory"."""

from __future__ import annotations

import json

from tests.cli.venue_helpers import check, run


def test_a_path_with_another_account_name_is_not_reported_as_that_account(tmp_path, venue_dir):  # noqa: F811
    d = venue_dir
    out = tmp_path / "tree"
    made = run(d, "venue", "tree", str(d / "snapshot.json"), str(d / "requests.jsonl"), "--key", str(d / "venue.key"),
               "--depth", "4", "--out", str(out))
    assert made.exit_code == 0, made.output
    path = json.loads((out / "paths.jsonl").read_text().splitlines()[0])
    renamed = dict(path, account_id="mallory")
    (tmp_path / "renamed.json").write_text(json.dumps(renamed))
    result = check(d, "--root", str(out / "root.json"), "--path", str(tmp_path / "renamed.json"), "--json")
    assert result.exit_code == 0, result.output  # the commitment really is a leaf
    doc = json.loads(result.stdout)
    assert doc["leaf"] == path["leaf"] and doc["index"] == path["index"]
    assert "account_id" not in doc  # no field presents the unsigned name as checked
    text = check(d, "--root", str(out / "root.json"), "--path", str(tmp_path / "renamed.json"))
    assert "account 'mallory' is a leaf" not in text.stdout and "not sign account names" in text.stdout
