"""Review of issue 22 item 2 through `venue run --identities`: the identity registry is the run's memory between
snapshots. Without it a later snapshot's accounts file could bind an account to a new identity, giving it fresh
nullifiers in every scope (a verifier counting accounts per scope would count it twice); now such a line is
skipped by line like any other bad account line, and a plan made without the registry is refused whole."""

from __future__ import annotations

import json

from tests.cli.venue_run_helpers import (
    CIRCUIT,
    SNAPSHOT,
    account_doc,
    identity,
    identity_secret,
    run_cli,
    venue_run_args,
    write_accounts,
)
from zkmargin.circuits.proving import prepare_proof
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.gadgets.merkle import member_leaf
from zkmargin.margin.models import parse_account, parse_snapshot
from zkmargin.venue.run import bundle_file_name
from zkmargin.venue.tree import parse_merkle_path

SECOND = {**SNAPSHOT, "snapshot_id": "s2", "timestamp": "2026-11-25T16:00:00Z"}


def run_under(venue, snapshot: str, accounts: str, out: str, *extra: str):
    """`venue run` of accounts under venue/snapshot into venue/out, one LocalCluster worker."""
    args = venue_run_args(venue, accounts, out, "--workers", "1", *extra)
    args[args.index(str(venue / "snapshot.json"))] = str(venue / snapshot)
    return run_cli(venue, *args)


def registry_accounts(path) -> dict[str, dict]:
    return json.loads(path.read_text())["accounts"]


def nullifier_of(venue, out: str, snapshot: dict, number: int, scope: int = 99) -> tuple[int, int]:
    """(root, nullifier) of account number's membership statement from its bundle in venue/out, in scope."""
    bundle = json.loads((venue / out / "bundles" / bundle_file_name(f"acct-{number}")).read_text())
    path = parse_merkle_path(bundle["merkle_path"])
    assert path.leaf == member_leaf(int(bundle["commitment"]), int(identity(number)))
    public, _ = prepare_proof(circuit_from_id(f"{CIRCUIT}-m8"), parse_account(account_doc(number, with_identity=False)),
                              parse_snapshot(snapshot), int(bundle["opening"]["salt"]), 5, path, scope,
                              identity_secret(number))
    return path.root, public.extra[1]


def test_a_second_snapshot_with_the_same_identities_passes_and_shows_the_same_nullifier(venue):
    (venue / "s2.json").write_text(json.dumps(SECOND))
    write_accounts(venue / "ids.jsonl", range(1, 4))
    registry = venue / "identities.json"
    first = run_under(venue, "snapshot.json", "ids.jsonl", "out-ids-s1", "--identities", str(registry))
    assert first.exit_code == 0, first.output
    assert "not checked across snapshots" not in first.stderr
    assert registry_accounts(registry) == {f"acct-{i}": {"identity": identity(i), "since": "s1"} for i in range(1, 4)}
    recorded = registry.read_bytes()
    second = run_under(venue, "s2.json", "ids.jsonl", "out-ids-s2", "--identities", str(registry))
    assert second.exit_code == 0, second.output
    assert registry.read_bytes() == recorded
    (root1, null1), (root2, null2) = (nullifier_of(venue, "out-ids-s1", SNAPSHOT, 2),
                                      nullifier_of(venue, "out-ids-s2", SECOND, 2))
    assert root1 != root2 and null1 == null2


def test_a_changed_or_moved_identity_in_a_later_snapshot_is_skipped_by_line(venue):
    """acct-2 under a new identity, acct-3's identity handed in for acct-8: both lines skipped (exit 2), named by
    line; acct-1 and the new acct-4 are proved; the registry gains acct-4 only."""
    (venue / "s2.json").write_text(json.dumps(SECOND))
    write_accounts(venue / "first.jsonl", range(1, 4))
    registry = venue / "moved-identities.json"
    assert run_under(venue, "snapshot.json", "first.jsonl", "out-moved-s1", "--identities",
                     str(registry)).exit_code == 0
    lines = [account_doc(1), {**account_doc(2), "identity": identity(50)}, {**account_doc(8), "identity": identity(3)},
             account_doc(4)]
    (venue / "moved.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = run_under(venue, "s2.json", "moved.jsonl", "out-moved-s2", "--identities", str(registry))
    assert result.exit_code == 2, result.output
    malformed = {m["source"]: m["error"] for m in json.loads(result.stdout)["malformed"]}
    assert set(malformed) == {"moved.jsonl:2", "moved.jsonl:3"}
    assert "account 'acct-2' has identity" in malformed["moved.jsonl:2"]
    assert "identities are not rotated" in malformed["moved.jsonl:2"]
    assert "of account 'acct-8' is account 'acct-3''s" in malformed["moved.jsonl:3"]
    assert "skipped moved.jsonl:2" in result.stderr
    assert sorted(p.name for p in (venue / "out-moved-s2" / "bundles").iterdir()) == sorted(
        bundle_file_name(a) for a in ("acct-1", "acct-4"))
    assert registry_accounts(registry) == {**{f"acct-{i}": {"identity": identity(i), "since": "s1"} for i in (1, 2, 3)},
                                           "acct-4": {"identity": identity(4), "since": "s2"}}
    # One registry for both surfaces: `venue tree` refuses the changed identity the same way.
    (venue / "tree-requests.jsonl").write_text(json.dumps({"account_id": "acct-2", "commitment": "12345",
                                                           "identity": identity(50)}) + "\n")
    tree = run_cli(venue, "venue", "tree", str(venue / "s2.json"), str(venue / "tree-requests.jsonl"), "--key",
                   str(venue / "venue.key"), "--depth", "4", "--out", str(venue / "tree-moved"),
                   "--identities", str(registry))
    assert tree.exit_code == 2 and "tree-requests.jsonl:1: account 'acct-2' has identity" in tree.stderr
    assert not (venue / "tree-moved").exists()


def test_a_plan_made_without_the_registry_is_refused_whole_and_nothing_is_recorded(venue):
    """A run started without --identities binds acct-2 to a new identity; resumed with the registry, its plan
    (fixed before any proof) cannot set that line aside: refused, naming the account and the plan line."""
    (venue / "s2.json").write_text(json.dumps(SECOND))
    write_accounts(venue / "plain.jsonl", range(1, 4))
    registry = venue / "plan-identities.json"
    assert run_under(venue, "snapshot.json", "plain.jsonl", "out-plain-s1", "--identities",
                     str(registry)).exit_code == 0
    recorded = registry.read_bytes()
    lines = [account_doc(1), {**account_doc(2), "identity": identity(60)}, account_doc(3)]
    (venue / "unchecked.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    unchecked = run_under(venue, "s2.json", "unchecked.jsonl", "out-unchecked")
    assert unchecked.exit_code == 0, unchecked.output
    assert "warning: no --identities registry: identities are not checked across snapshots" in unchecked.stderr
    root = (venue / "out-unchecked" / "root.json").read_bytes()
    resumed = run_under(venue, "s2.json", "unchecked.jsonl", "out-unchecked", "--identities", str(registry))
    assert resumed.exit_code == 2, resumed.output
    assert "unchecked.jsonl:2: account 'acct-2' has identity" in resumed.stderr
    assert "plan.jsonl:3), so nothing was signed" in resumed.stderr
    assert registry.read_bytes() == recorded and (venue / "out-unchecked" / "root.json").read_bytes() == root
