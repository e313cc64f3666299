"""`zkmargin venue`: keygen, attest, tree and check in CLI order, with the refusal and bad-input exit codes."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.cli.venue_helpers import COMMITMENTS, IDENTITIES, check, run
from zkmargin.field import R
from zkmargin.gadgets.merkle import identity_commitment, member_leaf
from zkmargin.margin.models import account_to_json
from zkmargin.margin.samples import sample_account, sample_snapshot
from zkmargin.venue.attestation import parse_attestation, parse_public_key, parse_signed_root
from zkmargin.venue.tree import parse_merkle_path


def test_keygen_writes_a_private_pem_0600_and_a_public_document(venue_dir):
    key = venue_dir / "venue.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    public = parse_public_key(json.loads((venue_dir / "venue.key.pub.json").read_text()))
    assert public.venue == sample_snapshot().venue
    again = run(venue_dir, "venue", "keygen", str(key), "--venue", "x")
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_one_attestation_checks_and_each_mismatch_is_refused(venue_dir):
    d = venue_dir
    out = d / "one.json"
    made = run(d, "venue", "attest", str(d / "snapshot.json"), "--key", str(d / "venue.key"),
               "--account-id", "alice", "--commitment", "12345", "--out", str(out))
    assert made.exit_code == 0, made.output
    assert parse_attestation(json.loads(out.read_text())).account_id == "alice"

    ok = check(d, "--attestation", str(out), "--commitment", "12345", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["valid"] is True
    text = check(d, "--attestation", str(out), "--commitment", "12345")
    assert "attests the commitment of account 'alice'" in text.stdout and "''s" not in text.stdout
    refusals = {
        "commitment": check(d, "--attestation", str(out), "--commitment", "12346"),
        "snapshot": check(d, "--attestation", str(out), "--commitment", "12345", snapshot="later.json"),
        "venue": check(d, "--attestation", str(out), "--commitment", "12345", public="other.key.pub.json"),
    }
    for what, result in refusals.items():
        assert result.exit_code == 1, (what, result.output)
        assert "REFUSED" in result.stdout and what in result.stdout.lower()

    doc = json.loads(out.read_text())
    doc["signature"] = ("0" if doc["signature"][0] != "0" else "1") + doc["signature"][1:]
    (d / "forged.json").write_text(json.dumps(doc))
    forged = check(d, "--attestation", str(d / "forged.json"), "--commitment", "12345")
    assert forged.exit_code == 1 and "signature" in forged.stdout


@pytest.mark.parametrize("args, message", [
    (["--account-id", "alice"], "both"),
    (["--account-id", "alice", "--commitment", str(R)], "[0, r)"),
    (["--account-id", " alice", "--commitment", "5"], "account_id"),
    (["--account-id", "alice", "--commitment", "5", "REQUESTS"], "not both"),
    ([], "REQUESTS"),
])
def test_attest_bad_input_exits_2_and_writes_nothing(venue_dir, args, message):
    d = venue_dir
    out = d / "never.json"
    args = [str(d / "requests.jsonl") if a == "REQUESTS" else a for a in args]
    result = run(d, "venue", "attest", str(d / "snapshot.json"), *args[4:], "--key", str(d / "venue.key"),
                 *args[:4], "--out", str(out))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and not out.exists()


def test_batch_attestation_from_jsonl(venue_dir):
    d = venue_dir
    out = d / "attestations.jsonl"
    made = run(d, "venue", "attest", str(d / "snapshot.json"), str(d / "requests.jsonl"), "--key", str(d / "venue.key"),
               "--out", str(out), "--json")
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["attestations"] == len(COMMITMENTS)
    lines = out.read_text().splitlines()
    assert [parse_attestation(json.loads(line)).commitment for line in lines] == COMMITMENTS
    (d / "third.json").write_text(lines[2])
    assert check(d, "--attestation", str(d / "third.json"), "--commitment", str(COMMITMENTS[2])).exit_code == 0


@pytest.mark.parametrize("lines, message", [
    (['{"account_id": "a", "commitment": "1"}', "not json"], ":2: not valid JSON"),
    (['{"account_id": "a", "commitment": "1"}', '{"account_id": "a", "commitment": "2"}'], "already requested"),
    (['{"account_id": "a", "commitment": "1"}', '{"account_id": "b", "commitment": "1"}'], "already requested"),
    (['{"account_id": "a", "commitment": "' + str(R + 1) + '"}'], "[0, r)"),
    (['{"account_id": "a", "commitment": "0"}'], "empty-slot"),
    (['{"account_id": "a"}'], "account_id and commitment"),
    (['{"account_id": 5, "commitment": "1"}'], "account_id"),
    (['{"account_id": "a", "commitment": "1", "snapshot_id": "elsewhere"}'], "elsewhere"),
    ([""], "no requests"),
])
def test_one_bad_request_fails_the_whole_batch(tmp_path, venue_dir, lines, message):
    requests = tmp_path / "bad.jsonl"
    requests.write_text("\n".join(lines) + "\n")
    for command in ("attest", "tree"):
        out = tmp_path / f"{command}-out"
        result = run(tmp_path, "venue", command, str(venue_dir / "snapshot.json"), str(requests),
                     "--key", str(venue_dir / "venue.key"), "--out", str(out))
        assert result.exit_code == 2, result.output
        assert message in result.stderr and not out.exists()


def test_attest_a_directory_of_openings_from_commit(tmp_path, venue_dir):
    """The trader's `zkmargin commit` output is a valid request; the salt is not what gets signed."""
    openings = tmp_path / "openings"
    openings.mkdir()
    (tmp_path / "healthy.json").write_text(json.dumps(account_to_json(sample_account("healthy"))))
    committed = run(tmp_path, "commit", str(tmp_path / "healthy.json"), str(venue_dir / "snapshot.json"),
                    "--opening", str(openings / "healthy.json"), "--circuit", "cross-n8-k4", "--json")
    assert committed.exit_code == 0, committed.output
    commitment = json.loads(committed.stdout)["commitment"]
    out = tmp_path / "att.jsonl"
    made = run(tmp_path, "venue", "attest", str(venue_dir / "snapshot.json"), str(openings),
               "--key", str(venue_dir / "venue.key"), "--out", str(out))
    assert made.exit_code == 0, made.output
    (tmp_path / "att.json").write_text(out.read_text().strip())
    assert "salt" not in out.read_text()
    assert check(venue_dir, "--attestation", str(tmp_path / "att.json"), "--commitment", commitment).exit_code == 0
    # The same opening under another snapshot is refused before anything is signed.
    moved = run(tmp_path, "venue", "attest", str(venue_dir / "later.json"), str(openings),
                "--key", str(venue_dir / "venue.key"), "--out", str(tmp_path / "moved.jsonl"))
    assert moved.exit_code == 2 and "committed under snapshot" in moved.stderr


def test_tree_writes_signed_root_and_every_path(tmp_path, venue_dir):
    d = venue_dir
    out = tmp_path / "tree"
    made = run(d, "venue", "tree", str(d / "snapshot.json"), str(d / "requests.jsonl"), "--key", str(d / "venue.key"),
               "--depth", "4", "--out", str(out))
    assert made.exit_code == 0, made.output
    assert "warning: no --identities registry: identities are not checked across snapshots" in made.stderr
    signed = parse_signed_root(json.loads((out / "root.json").read_text()))
    assert (signed.depth, signed.leaf_count) == (4, len(COMMITMENTS))
    paths = [json.loads(line) for line in (out / "paths.jsonl").read_text().splitlines()]
    assert [parse_merkle_path(p).leaf for p in paths] == [member_leaf(c, k) for c, k in zip(COMMITMENTS, IDENTITIES)]
    for i, path in enumerate(paths):
        (tmp_path / f"path{i}.json").write_text(json.dumps(path))
        ok = check(d, "--root", str(out / "root.json"), "--path", str(tmp_path / f"path{i}.json"))
        assert ok.exit_code == 0, ok.output
        assert f"acct-{i}" in ok.stdout

    wrong_leaf = dict(paths[1], leaf=str(COMMITMENTS[1]))  # the bare commitment is not the leaf
    (tmp_path / "wrong.json").write_text(json.dumps(wrong_leaf))
    refused = check(d, "--root", str(out / "root.json"), "--path", str(tmp_path / "wrong.json"))
    assert refused.exit_code == 1 and "does not lead" in refused.stdout
    assert check(d, "--root", str(out / "root.json"), snapshot="later.json").exit_code == 1
    assert check(d, "--root", str(out / "root.json"), public="other.key.pub.json").exit_code == 1

    short = dict(paths[0], siblings=paths[0]["siblings"][:3])
    (tmp_path / "short.json").write_text(json.dumps(short))
    malformed = check(d, "--root", str(out / "root.json"), "--path", str(tmp_path / "short.json"))
    assert malformed.exit_code == 2 and "siblings" in malformed.stderr


@pytest.mark.parametrize("identities, message", [
    ([None, "5011"], "no identity"),
    (["5011", "abc"], "identity"),
    (["5011", "5011"], "already another account's (at "),
    (["5011", "0"], "0 is no trader's identity"),
    (["5011", str(identity_commitment(0))], "identity of secret 0"),
])
def test_tree_refuses_a_missing_malformed_or_repeated_identity(tmp_path, venue_dir, identities, message):
    """Issue 22 item 2: each leaf binds its account's identity; one identity in two leaves would give its owner
    two nullifiers in every scope, so the whole tree is refused, naming the line."""
    lines = [{"account_id": f"acct-{i}", "commitment": str(c), **({"identity": k} if k is not None else {})}
             for i, (c, k) in enumerate(zip(COMMITMENTS, identities))]
    (tmp_path / "requests.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "tree"
    result = run(tmp_path, "venue", "tree", str(venue_dir / "snapshot.json"), str(tmp_path / "requests.jsonl"),
                 "--key", str(venue_dir / "venue.key"), "--depth", "4", "--out", str(out))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "requests.jsonl:" in result.stderr and not out.exists()


def tree_with_registry(tmp_path, venue_dir, snapshot: str, name: str, changes: dict[int, dict] = {}):  # noqa: B006
    """`venue tree` of SNAPSHOT over venue_dir's requests (line i+1 updated by changes[i]) with the registry
    tmp_path/identities.json, into tmp_path/name."""
    lines = [json.loads(line) for line in (venue_dir / "requests.jsonl").read_text().splitlines()]
    requests = tmp_path / f"{name}.jsonl"
    requests.write_text("".join(json.dumps({**line, **changes.get(i, {})}) + "\n" for i, line in enumerate(lines)))
    return run(tmp_path, "venue", "tree", str(venue_dir / snapshot), str(requests), "--key", str(venue_dir / "venue.key"),
               "--depth", "4", "--out", str(tmp_path / name), "--identities", str(tmp_path / "identities.json"),
               "--json")


def test_tree_records_each_identity_once_and_a_later_snapshot_with_the_same_ones_passes(tmp_path, venue_dir):
    """Review of issue 22 item 2: the registry is `venue tree`'s memory between snapshots."""
    first = tree_with_registry(tmp_path, venue_dir, "snapshot.json", "first")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["identities_recorded"] == len(IDENTITIES)
    assert "not checked across snapshots" not in first.stderr
    registry = json.loads((tmp_path / "identities.json").read_text())
    snapshot_id = sample_snapshot().snapshot_id
    assert registry["accounts"] == {f"acct-{i}": {"identity": str(k), "since": snapshot_id}
                                    for i, k in enumerate(IDENTITIES)}
    recorded = (tmp_path / "identities.json").read_bytes()
    later = tree_with_registry(tmp_path, venue_dir, "later.json", "later")
    assert later.exit_code == 0, later.output
    assert json.loads(later.stdout)["identities_recorded"] == 0
    assert (tmp_path / "identities.json").read_bytes() == recorded
    leaves = [[parse_merkle_path(json.loads(line)).leaf for line in (tmp_path / name / "paths.jsonl").read_text()
               .splitlines()] for name in ("first", "later")]
    assert leaves[0] == leaves[1] == [member_leaf(c, k) for c, k in zip(COMMITMENTS, IDENTITIES)]


@pytest.mark.parametrize("changes, message", [
    ({2: {"identity": str(identity_commitment(77))}}, "later.jsonl:3: account 'acct-2' has identity"),  # changed
    ({2: {"account_id": "acct-9"}}, "later.jsonl:3: identity {k2} of account 'acct-9' is account 'acct-2''s"),  # moved
    ({1: {"identity": str(IDENTITIES[2])}, 2: {"identity": str(IDENTITIES[1])}},
     "later.jsonl:2: account 'acct-1' has identity {k2}"),  # swapped
])
def test_tree_refuses_an_identity_the_registry_does_not_hold_for_the_account(tmp_path, venue_dir, changes, message):
    """A changed identity (fresh nullifiers in every scope: the account would count twice), an identity moved to
    another account, two swapped: exit 2, naming the request line; nothing written, the registry unchanged."""
    assert tree_with_registry(tmp_path, venue_dir, "snapshot.json", "first").exit_code == 0
    recorded = (tmp_path / "identities.json").read_bytes()
    refused = tree_with_registry(tmp_path, venue_dir, "later.json", "later", changes)
    assert refused.exit_code == 2, refused.output
    assert message.format(k2=IDENTITIES[2]) in refused.stderr
    assert not (tmp_path / "later").exists()
    assert (tmp_path / "identities.json").read_bytes() == recorded


def test_tree_with_a_damaged_or_another_venues_registry_exits_2_and_writes_nothing(tmp_path, venue_dir):
    (tmp_path / "identities.json").write_text("{not json")
    damaged = tree_with_registry(tmp_path, venue_dir, "snapshot.json", "first")
    assert damaged.exit_code == 2 and "damaged" in damaged.stderr
    (tmp_path / "identities.json").write_text(json.dumps({"format": "zkmargin-identity-registry/1",
                                                          "venue": "other-venue", "accounts": {}}))
    other = tree_with_registry(tmp_path, venue_dir, "snapshot.json", "first")
    assert other.exit_code == 2 and "is venue 'other-venue''s" in other.stderr
    assert not (tmp_path / "first").exists()


def test_tree_too_shallow_or_bad_key_exits_2(tmp_path, venue_dir):
    d = venue_dir
    shallow = run(d, "venue", "tree", str(d / "snapshot.json"), str(d / "requests.jsonl"), "--key", str(d / "venue.key"),
                  "--depth", "2", "--out", str(tmp_path / "t"))
    assert shallow.exit_code == 2 and "raise --depth" in shallow.stderr
    (tmp_path / "bad.key").write_text("not a key")
    for key in (tmp_path / "bad.key", tmp_path / "missing.key"):
        result = run(d, "venue", "tree", str(d / "snapshot.json"), str(d / "requests.jsonl"), "--key", str(key),
                     "--out", str(tmp_path / "t"))
        assert result.exit_code == 2 and "key" in result.stderr
    assert not (tmp_path / "t").exists()


def test_check_needs_exactly_one_document(venue_dir):
    assert check(venue_dir).exit_code == 2
    assert check(venue_dir, "--attestation", str(venue_dir / "x.json")).exit_code == 2
