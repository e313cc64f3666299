"""A sparse book end to end through the CLI: `venue run` with cross-n1-p1-k1, `venue book prove` with
book-cross-n1-p1-k1-b4 on a LocalCluster, `venue book verify`, `book check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.venue_run_helpers import SNAPSHOT, account_doc, run_cli, write_accounts
from zkmargin.book.reference import book_totals
from zkmargin.margin.models import parse_account, parse_snapshot

TRADER = "cross-n1-p1-k1"
BOOK = "book-cross-n1-p1-k1-b4"
N = 6


def ok(root: Path, *args: str):
    made = run_cli(root, *args)
    assert made.exit_code == 0, (args, made.output)
    return made


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A venue run of N accounts under the sparse trader circuit, and its book proved with the sparse batch."""
    root = tmp_path_factory.mktemp("sparse-book")
    (root / "snapshot.json").write_text(json.dumps(SNAPSHOT))
    write_accounts(root / "accounts.jsonl", range(N))
    (root / "acct-3.json").write_text(json.dumps(account_doc(3, with_identity=False)))
    ok(root, "setup", "--circuit", TRADER)
    ok(root, "setup", "--circuit", BOOK)
    ok(root, "venue", "keygen", str(root / "venue.key"), "--venue", "v1")
    ok(root, "venue", "run", str(root / "accounts.jsonl"), str(root / "snapshot.json"), "--keys",
       str(root / "cache" / TRADER), "--signing-key", str(root / "venue.key"), "--out", str(root / "run"),
       "--circuit", TRADER, "--depth", "4", "--workers", "1")
    ok(root, *prove_args(root))
    return root


def prove_args(root: Path, *extra: str) -> list[str]:
    return ["venue", "book", "prove", str(root / "run"), str(root / "accounts.jsonl"), str(root / "snapshot.json"),
            "--keys", str(root / "cache" / BOOK), "--signing-key", str(root / "venue.key"), "--out",
            str(root / "book"), "--circuit", BOOK, "--workers", "1", "--json", *extra]


def test_a_sparse_book_proves_every_account_with_the_reference_totals_and_verifies(run):
    book = json.loads((run / "book" / "book.json").read_text())
    assert book["circuit_id"] == BOOK and len(book["batches"]) == 2
    totals = book_totals([parse_account(account_doc(i, with_identity=False)) for i in range(N)],
                         parse_snapshot(SNAPSHOT))
    assert book["root"]["sums"]["accounts"] == str(N)
    assert book["root"]["sums"]["below_maintenance"] == str(totals.below_maintenance) != "0"
    assert book["root"]["sums"]["shortfall_e32"] == str(totals.shortfall_e32)
    verified = ok(run, "venue", "book", "verify", str(run / "book" / "book.json"), str(run / "snapshot.json"),
                  "--keys", str(run / "cache" / BOOK), "--public-key", str(run / "venue.key.pub.json"))
    assert "valid: 2 batch proofs" in verified.output
    book["batches"][1]["root"]["sums"]["deposits_e8[0]"] = "0"
    (run / "forged.json").write_text(json.dumps(book))
    forged = run_cli(run, "venue", "book", "verify", str(run / "forged.json"), str(run / "snapshot.json"), "--keys",
                     str(run / "cache" / BOOK), "--public-key", str(run / "venue.key.pub.json"))
    assert forged.exit_code == 1 and "batch 1" in forged.output


def test_a_trader_of_the_sparse_run_checks_its_leaf_and_a_changed_balance_fails(run):
    def check(account: Path):
        return run_cli(run, "book", "check", str(account), str(run / "snapshot.json"), "--opening",
                       str(run / "run" / "bundles" / "acct-3.json"), "--path", str(run / "book" / "paths" / "acct-3.json"),
                       "--book", str(run / "book" / "book.json"), "--public-key", str(run / "venue.key.pub.json"))

    included = check(run / "acct-3.json")
    assert included.exit_code == 0, included.output
    richer = {**account_doc(3, with_identity=False), "collateral": [{"asset": "USDC", "amount": "1000.01"}]}
    (run / "richer.json").write_text(json.dumps(richer))
    changed = check(run / "richer.json")
    assert changed.exit_code == 1 and "NOT INCLUDED" in changed.output


def test_a_rerun_of_the_sparse_book_proves_nothing_again(run):
    rerun = run_cli(run, *prove_args(run))
    assert rerun.exit_code == 0, rerun.output
    assert json.loads(rerun.stdout)["proved_now"] == 0
