"""`zkmargin venue book prove|verify` and `zkmargin book check`, end to end on a small venue run."""

from __future__ import annotations

import copy
import json
import os
import shlex
from dataclasses import replace
from pathlib import Path

import pytest

from tests.book.builders import spy_verify_batch
from tests.cli.venue_run_helpers import SNAPSHOT, account_doc, run_cli, write_accounts
from zkmargin.book.document import book_to_json, census_json, parse_book, sign_book
from zkmargin.book.reference import book_totals, census_by_size
from zkmargin.cli.inputs import load_signing_key
from zkmargin.margin.engine import format_e32
from zkmargin.margin.models import parse_account, parse_snapshot
from zkmargin.venue.attestation import parse_signed_root

BOOK = "book-cross-n1-k1-b4"
TOP = "book-top-k1-b4-t2"
N = 10


DOCS = Path(__file__).resolve().parents[2] / "docs" / "book.md"


def docs_commands() -> list[list[str]]:
    """The `$ zkmargin ...` lines of docs/book.md, as argument lists."""
    return [shlex.split(line[len("$ zkmargin "):]) for line in DOCS.read_text().splitlines()
            if line.startswith("$ zkmargin ")]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A directory where every command of docs/book.md ran, in order, with exit 0."""
    root = tmp_path_factory.mktemp("book")
    (root / "snapshot.json").write_text(json.dumps(SNAPSHOT))
    write_accounts(root / "accounts.jsonl", range(N))
    (root / "acct-3.json").write_text(json.dumps(account_doc(3, with_identity=False)))
    (root / "reserves.json").write_text(json.dumps({"USDC": "9010"}))  # exactly the deposits (no P&L is owed)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        for args in docs_commands():
            args = [a.replace("~/.cache/zkmargin", str(root / "cache")) for a in args]
            made = run_cli(root, *args)
            assert made.exit_code == 0, (args, made.output)
    finally:
        os.chdir(cwd)
    return root


def prove_args(root: Path, *extra: str) -> list[str]:
    return ["venue", "book", "prove", str(root / "run"), str(root / "accounts.jsonl"), str(root / "snapshot.json"),
            "--keys", str(root / "cache" / BOOK), "--signing-key", str(root / "venue.key"), "--out",
            str(root / "book"), "--circuit", BOOK, "--top", TOP, "--top-keys", str(root / "cache" / TOP), "--workers",
            "1", "--json", *extra]


@pytest.fixture(scope="module")
def proved(run) -> dict:
    return json.loads((run / "book" / "book.json").read_text())


def verify(root: Path, book: Path, *extra: str):
    return run_cli(root, "venue", "book", "verify", str(book), str(root / "snapshot.json"), "--keys",
                   str(root / "cache" / BOOK), "--public-key", str(root / "venue.key.pub.json"), *extra)


def check(root: Path, i: int, account: Path | None = None, book: Path | None = None):
    bundle = root / "run" / "bundles" / f"acct-{i}.json"
    return run_cli(root, "book", "check", str(account or root / f"acct-{i}.json"), str(root / "snapshot.json"),
                   "--opening", str(bundle), "--path", str(root / "book" / "paths" / f"acct-{i}.json"), "--book",
                   str(book or root / "book" / "book.json"), "--public-key", str(root / "venue.key.pub.json"))


def test_docs_cover_every_book_command():
    shown = {" ".join(args[:3] if args[0] == "venue" else args[:2]) for args in docs_commands()}
    assert {"venue book prove", "venue book verify", "venue book reserves", "book check"} <= shown
    assert any("--reserves" in args for args in docs_commands())


def test_prove_covers_every_account_healthy_or_not_with_the_reference_totals(run, proved):
    assert len(proved["batches"]) == 3
    totals = book_totals([parse_account(account_doc(i, with_identity=False)) for i in range(N)],
                         parse_snapshot(SNAPSHOT))
    sums = proved["root"]["sums"]
    assert sums["accounts"] == str(N)
    assert sums["below_maintenance"] == str(totals.below_maintenance) != "0"
    assert sums["deposits_e8[0]"] == str(totals.deposits_e8[0])


def test_a_rerun_proves_nothing_again_and_a_damaged_batch_is_proved_again(run, proved):
    rerun = run_cli(run, *prove_args(run))
    assert json.loads(rerun.stdout)["proved_now"] == 0
    (run / "book" / "batches" / "1.json").write_text("{damaged")
    resumed = run_cli(run, *prove_args(run))
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["proved_now"] == 1
    # A whole file whose proof is another batch's (it decodes, its root is right) is proved again too.
    swapped = json.loads((run / "book" / "batches" / "0.json").read_text())
    swapped["proof"] = json.loads((run / "book" / "batches" / "2.json").read_text())["proof"]
    (run / "book" / "batches" / "0.json").write_text(json.dumps(swapped))
    again = run_cli(run, *prove_args(run))
    assert json.loads(again.stdout)["proved_now"] == 1
    assert verify(run, run / "book" / "book.json").exit_code == 0


def test_verify_accepts_the_book_and_names_a_forged_batch(run, proved):
    good = verify(run, run / "book" / "book.json")
    assert good.exit_code == 0, good.output
    assert "valid: 3 batch proofs" in good.output
    book = json.loads((run / "book" / "book.json").read_text())
    book["batches"][2]["root"]["sums"]["deposits_e8[0]"] = "0"
    (run / "forged.json").write_text(json.dumps(book))
    bad = verify(run, run / "forged.json")
    assert bad.exit_code == 1
    assert "batch 2" in bad.output
    book["root"]["sums"]["deposits_e8[0]"] = str(int(book["root"]["sums"]["deposits_e8[0]"]) - 1)
    (run / "forged-root.json").write_text(json.dumps(book))
    unsigned = verify(run, run / "forged-root.json", "--public-key", str(run / "venue.key.pub.json"))
    assert unsigned.exit_code == 2
    assert "signature" in unsigned.output


def test_a_trader_checks_its_leaf_and_a_changed_balance_fails(run, proved):
    doc = account_doc(3, with_identity=False)
    (run / "acct-3.json").write_text(json.dumps(doc))
    ok = check(run, 3)
    assert ok.exit_code == 0, ok.output
    assert "included" in ok.output
    richer = {**doc, "collateral": [{"asset": "USDC", "amount": "1000.01"}]}
    (run / "richer.json").write_text(json.dumps(richer))
    changed = check(run, 3, account=run / "richer.json")
    assert changed.exit_code == 1
    assert "NOT INCLUDED" in changed.output


@pytest.mark.parametrize(("what", "content", "message"), [
    ("book", "{not json", "not valid JSON"),
    ("book", json.dumps({"format": "zkmargin-book/1"}), "missing"),
    ("book", json.dumps([1]), "expected a JSON object"),
])
def test_bad_input_is_a_message_and_exit_2(run, proved, what, content, message):
    path = run / f"bad-{what}.json"
    path.write_text(content)
    result = verify(run, path)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_prove_refuses_a_run_of_another_circuit_or_a_missing_run(run, proved):
    wrong = run_cli(run, *prove_args(run)[:-2], "--circuit", "book-cross-n2-k1-b4", "--keys", str(run / "cache" / BOOK))
    assert wrong.exit_code == 2
    missing = run_cli(run, "venue", "book", "prove", str(run / "nowhere"), str(run / "accounts.jsonl"),
                      str(run / "snapshot.json"), "--keys", str(run / "cache" / BOOK), "--signing-key",
                      str(run / "venue.key"), "--out", str(run / "book2"), "--circuit", BOOK)
    assert missing.exit_code == 2
    assert "no venue run" in missing.output or "plan.jsonl" in missing.output


def test_the_auditor_report_shows_totals_census_and_reserves(run, proved):
    page = (run / "book.html").read_text()
    assert "reserves / liabilities per asset" in page and "<svg" in page
    shortfall = format_e32(int(proved["root"]["sums"]["shortfall_e32"]))
    assert f"<td>total shortfall</td><td>{shortfall}</td>" in page


def test_the_auditor_report_and_summary_show_the_proved_census_by_size(run, proved):
    totals = book_totals([parse_account(account_doc(i, with_identity=False)) for i in range(N)],
                         parse_snapshot(SNAPSHOT))
    assert totals.below_by_size[0] == totals.below_maintenance == 1  # acct-0's margin call: size 32, bucket 0
    page = (run / "book.html").read_text()
    assert "accounts below maintenance by size" in page and "shortfall by size" in page  # the charts' titles
    for b in census_by_size(totals):
        assert (f"<td>{b.size_range}</td><td>{b.below_maintenance}</td>" in page), b
    assert f"<td>[0, 1000)</td><td>1</td><td>100.00 %</td><td>{format_e32(totals.shortfall_e32)}</td>" in page
    summary = verify(run, run / "book" / "book.json", "--json")
    assert summary.exit_code == 0 and json.loads(summary.stdout)["census"] == census_json(totals)
    text = verify(run, run / "book" / "book.json")
    assert f"  [0, 1000): 1, {format_e32(totals.shortfall_e32)}" in text.output
    assert "  [1000000, inf): 0, 0" in text.output


def test_reserves_short_of_liabilities_fail_and_a_forged_statement_is_refused(run, proved):
    assert proved["root"]["sums"]["deposits_e8[0]"] == "901000000000"
    short = run / "short.json"
    short.write_text(json.dumps({"USDC": "9009.99999999"}))
    signed = run / "short.signed.json"
    assert run_cli(run, "venue", "book", "reserves", str(short), str(run / "snapshot.json"), "--signing-key",
                   str(run / "venue.key"), "--out", str(signed)).exit_code == 0
    args = ["venue", "book", "verify", str(run / "book" / "book.json"), str(run / "snapshot.json"), "--keys",
            str(run / "cache" / BOOK), "--public-key", str(run / "venue.key.pub.json")]
    result = run_cli(run, *args, "--reserves", str(signed))
    assert result.exit_code == 1
    assert "SHORT" in result.output
    forged = json.loads(signed.read_text())
    forged["reserves_e8"]["USDC"] = "901000000000"  # raised after signing
    (run / "forged.signed.json").write_text(json.dumps(forged))
    refused = run_cli(run, *args, "--reserves", str(run / "forged.signed.json"))
    assert refused.exit_code == 2
    assert "signature" in refused.output


def test_verify_against_the_signed_root_refuses_a_book_that_dropped_accounts(run, proved, tmp_path):
    args = ["venue", "book", "verify", str(run / "book" / "book.json"), str(run / "snapshot.json"), "--keys",
            str(run / "cache" / BOOK), "--public-key", str(run / "venue.key.pub.json")]
    signed = json.loads((run / "run" / "root.json").read_text())
    assert signed["leaf_count"] == N
    # A venue run over fewer accounts signs a root with fewer leaves: the full book does not match it.
    fewer = run / "fewer"
    fewer.mkdir(exist_ok=True)
    write_accounts(fewer / "accounts.jsonl", range(N - 1))
    made = run_cli(run, "venue", "run", str(fewer / "accounts.jsonl"), str(run / "snapshot.json"), "--keys",
                   str(run / "cache" / "cross-n1-k1"), "--signing-key", str(run / "venue.key"), "--out",
                   str(fewer / "run"), "--circuit", "cross-n1-k1", "--depth", "4", "--workers", "1")
    assert made.exit_code == 0, made.output
    result = run_cli(run, *args, "--root", str(fewer / "run" / "root.json"))
    assert result.exit_code == 1
    assert "another signed root" in result.output
    # The book carrying that root (a venue checking its book against a root it did not give its traders): the
    # auditor refuses it, and so does a trader whose membership path names the run's root.
    # The venue signs that book itself (its signature covers the signed root the book carries).
    swapped = parse_book(json.loads((run / "book" / "book.json").read_text()))
    swapped = replace(swapped, signature=b"", signed_root=parse_signed_root(
        json.loads((fewer / "run" / "root.json").read_text())))
    swapped = sign_book(load_signing_key(run / "venue.key"), swapped)
    (tmp_path / "swapped.json").write_text(json.dumps(book_to_json(swapped)))
    refused = verify(run, tmp_path / "swapped.json")
    assert refused.exit_code == 1 and f"attests {N - 1}" in refused.output
    trader = check(run, 3, book=tmp_path / "swapped.json")
    assert trader.exit_code == 1 and "another venue root" in trader.output
    # Whoever hands the trader that book cannot put the trader's own root back in its place: the venue signed the
    # book with the root it was verified against.
    mitm = {**book_to_json(swapped), "signed_root": signed}
    (tmp_path / "mitm.json").write_text(json.dumps(mitm))
    passed_on = check(run, 3, book=tmp_path / "mitm.json")
    assert passed_on.exit_code == 1 and "the venue did not sign this book" in passed_on.output
    lone = run_cli(run, "venue", "book", "verify", str(run / "book" / "book.json"), str(run / "snapshot.json"),
                   "--root", str(run / "run" / "root.json"))
    assert lone.exit_code == 2


@pytest.mark.parametrize(("case", "message"), [
    ("path", "path: missing"),
    ("opening", "opening"),
    ("reserves", "must not be negative"),
])
def test_trader_and_reserves_bad_input_is_a_message_and_exit_2(run, proved, case, message):
    bad = run / f"bad-{case}.json"
    if case == "path":
        bad.write_text(json.dumps({"format": "zkmargin-book-path/1"}))
        result = run_cli(run, "book", "check", str(run / "acct-3.json"), str(run / "snapshot.json"), "--opening",
                         str(run / "run" / "bundles" / "acct-3.json"), "--path", str(bad), "--book",
                         str(run / "book" / "book.json"), "--public-key",
                         str(run / "venue.key.pub.json"))
    elif case == "opening":
        bad.write_text(json.dumps({"format": "zkmargin-opening/1", "circuit_id": "cross-n2-k1", "commitment": "1",
                                   "salt": "2"}))
        result = run_cli(run, "book", "check", str(run / "acct-3.json"), str(run / "snapshot.json"), "--opening",
                         str(bad), "--path", str(run / "book" / "paths" / "acct-3.json"), "--book",
                         str(run / "book" / "book.json"), "--public-key",
                         str(run / "venue.key.pub.json"))
    else:
        bad.write_text(json.dumps({"USDC": "-1"}))
        result = run_cli(run, "venue", "book", "reserves", str(bad), str(run / "snapshot.json"), "--signing-key",
                         str(run / "venue.key"), "--out", str(run / "never.json"))
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_a_trader_checks_only_a_book_the_venue_signed(run, proved):
    """A book.json anyone could have written (its root counting just this account) shows nothing about the venue's
    totals: the venue's key is required, and a book it did not sign is NOT INCLUDED (exit 1)."""
    without_key = run_cli(run, "book", "check", str(run / "acct-3.json"), str(run / "snapshot.json"), "--opening",
                          str(run / "run" / "bundles" / "acct-3.json"), "--path",
                          str(run / "book" / "paths" / "acct-3.json"), "--book", str(run / "book" / "book.json"))
    assert without_key.exit_code == 2 and "--public-key" in without_key.output
    unsigned = run / "unsigned-book.json"
    unsigned.write_text(json.dumps({**proved, "signature": "00" * 64}))
    result = check(run, 3, book=unsigned)
    assert result.exit_code == 1 and "NOT INCLUDED: the venue did not sign this book" in result.output
    assert check(run, 3).exit_code == 0


@pytest.mark.parametrize(("case", "message"), [
    ("book_upper_hex", "book.signature: expected 128 lowercase hex digits"),
    ("reserves_upper_hex", "reserves.signature: expected 128 lowercase hex digits"),
    ("reserves_unknown_field", "reserves: unknown field note"),
])
def test_book_and_reserves_are_read_strictly(run, proved, case, message):
    """One spelling per document (issue 27 debts, item 5): upper-case hex or an unknown field is exit 2, named."""
    book = json.loads((run / "book" / "book.json").read_text())
    args = ["venue", "book", "verify", str(run / "book.json-strict"), str(run / "snapshot.json"), "--keys",
            str(run / "cache" / BOOK), "--public-key", str(run / "venue.key.pub.json")]
    if case == "book_upper_hex":
        book["signature"] = book["signature"].upper()
    else:
        plain = run / "strict-reserves.json"
        plain.write_text(json.dumps({"USDC": "9010"}))
        signed = run / "strict-reserves.signed.json"
        assert run_cli(run, "venue", "book", "reserves", str(plain), str(run / "snapshot.json"), "--signing-key",
                       str(run / "venue.key"), "--out", str(signed)).exit_code == 0
        reserves = json.loads(signed.read_text())
        assert run_cli(run, *args[:3], str(run / "book" / "book.json"), *args[4:], "--reserves",
                       str(signed)).exit_code == 0
        if case == "reserves_upper_hex":
            reserves["signature"] = reserves["signature"].upper()
        else:
            reserves["note"] = "audited"
        signed.write_text(json.dumps(reserves))
        args += ["--reserves", str(signed)]
    (run / "book.json-strict").write_text(json.dumps(book))
    result = run_cli(run, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_a_rerun_checks_the_stored_batches_in_one_weighted_check(run, proved, monkeypatch):
    """The batches already on disk go through the one verdict path together (one pairing check for all), not
    one groth16 verify each."""
    calls = spy_verify_batch(monkeypatch)
    rerun = run_cli(run, *prove_args(run))
    assert rerun.exit_code == 0 and json.loads(rerun.stdout)["proved_now"] == 0, rerun.output
    assert calls[0] == (len(proved["batches"]), 1)


def test_prove_refuses_batches_deeper_than_the_run_tree(run, proved, tmp_path):
    """A run of depth 1 (2 leaves) cannot hold a batch of 4: its subtree would not be a node of the run's tree."""
    write_accounts(tmp_path / "accounts.jsonl", range(2))
    made = run_cli(run, "venue", "run", str(tmp_path / "accounts.jsonl"), str(run / "snapshot.json"), "--keys",
                   str(run / "cache" / "cross-n1-k1"), "--signing-key", str(run / "venue.key"), "--out",
                   str(tmp_path / "run"), "--circuit", "cross-n1-k1", "--depth", "1", "--workers", "1")
    assert made.exit_code == 0, made.output
    result = run_cli(run, "venue", "book", "prove", str(tmp_path / "run"), str(tmp_path / "accounts.jsonl"),
                     str(run / "snapshot.json"), "--keys", str(run / "cache" / BOOK), "--signing-key",
                     str(run / "venue.key"), "--out", str(tmp_path / "book"), "--circuit", BOOK, "--workers", "1")
    assert result.exit_code == 2, result.output
    assert "do not fit the run's tree of depth 1" in result.output and "Traceback" not in result.output


def test_the_book_carries_the_runs_signed_root_and_verify_ties_every_leaf_to_it(run, proved):
    assert proved["signed_root"] == json.loads((run / "run" / "root.json").read_text())
    assert all(set(b) == {"index", "root", "attested_root", "proof"} for b in proved["batches"])
    result = verify(run, run / "book" / "book.json", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["signed_root"] == proved["signed_root"]["root"]
    # An invented account in place of a real one, its batch honestly re-proved, would need another attested root
    # for that batch: the published one changed by one is refused, naming the batch whose proof binds it.
    forged = copy.deepcopy(proved)
    forged["batches"][1]["attested_root"] = str(int(forged["batches"][1]["attested_root"]) ^ 1)
    (run / "forged-attested.json").write_text(json.dumps(forged))
    refused = verify(run, run / "forged-attested.json")
    assert refused.exit_code == 1 and "batch 1" in refused.output


HIDDEN, HIDDEN_TOP = "book-cross-n1-k1-b4-h", "book-top-k1-b4-t2-h"


def verify_hidden(root: Path, book: Path, *extra: str):
    return run_cli(root, "venue", "book", "verify", str(book), str(root / "snapshot.json"), "--keys",
                   str(root / "cache" / HIDDEN), "--top-keys", str(root / "cache" / HIDDEN_TOP), "--public-key",
                   str(root / "venue.key.pub.json"), "--json", *extra)


def test_the_auditor_book_carries_its_top_proof_and_verify_checks_it(run, proved):
    assert proved["top"]["circuit_id"] == TOP
    book = json.loads((run / "book" / "book.json").read_text())
    book["top"]["proof"] = json.loads((run / "hidden" / "book.json").read_text())["top"]["proof"]
    (run / "other-top.json").write_text(json.dumps(book))
    bad = verify(run, run / "other-top.json")
    assert bad.exit_code == 1 and "the top" in bad.output, bad.output


def test_a_hidden_book_shows_no_total_and_verifies_reserves_cover_liabilities(run, proved):
    text = (run / "hidden" / "book.json").read_text()
    book = json.loads(text)
    assert book["format"] == "zkmargin-book-hidden/1" and "sums" not in text and "deposits" not in text
    assert book["root_hash"] == proved["root"]["hash"]  # the same tree: traders' paths lead to the same root
    good = verify_hidden(run, run / "hidden" / "book.json")
    assert good.exit_code == 0, good.output
    answer = json.loads(good.stdout)
    assert "totals" not in answer and answer["reserves"] == [{"asset": "USDC", "reserves_e8": "901000000000",
                                                              "covered": True}]


def test_a_hidden_book_with_another_top_or_root_is_named(run, proved):
    book = json.loads((run / "hidden" / "book.json").read_text())
    book["top"]["proof"] = proved["top"]["proof"]  # the auditor top's proof: another statement
    (run / "hidden-forged.json").write_text(json.dumps(book))
    bad = verify_hidden(run, run / "hidden-forged.json")
    assert bad.exit_code == 1 and json.loads(bad.stdout)["failing_batch"] is None, bad.output
    book["root_hash"] = str(int(book["root_hash"]) + 1)
    (run / "hidden-root.json").write_text(json.dumps(book))
    unsigned = verify_hidden(run, run / "hidden-root.json")
    assert unsigned.exit_code == 2 and "signature" in unsigned.output


def test_a_hidden_book_is_refused_without_the_venue_key_and_a_trader_still_checks_its_leaf(run, proved):
    bare = run_cli(run, "venue", "book", "verify", str(run / "hidden" / "book.json"), str(run / "snapshot.json"),
                   "--keys", str(run / "cache" / HIDDEN), "--top-keys", str(run / "cache" / HIDDEN_TOP))
    assert bare.exit_code == 2 and "--public-key" in bare.output
    doc = account_doc(3, with_identity=False)
    richer = {**doc, "collateral": [{"asset": "USDC", "amount": "1000.01"}]}
    (run / "richer-h.json").write_text(json.dumps(richer))
    hidden_check = ["--path", str(run / "hidden" / "paths" / "acct-3.json"), "--book", str(run / "hidden" / "book.json")]
    args = ["book", "check", str(run / "richer-h.json"), str(run / "snapshot.json"), "--opening",
            str(run / "run" / "bundles" / "acct-3.json"), *hidden_check, "--public-key", str(run / "venue.key.pub.json")]
    assert run_cli(run, *args).exit_code == 1


def test_hidden_prove_refuses_reserves_below_liabilities_before_proving(run, proved):
    (run / "short.json").write_text(json.dumps({"USDC": "9009.99999999"}))
    signed = run_cli(run, "venue", "book", "reserves", str(run / "short.json"), str(run / "snapshot.json"),
                     "--signing-key", str(run / "venue.key"), "--out", str(run / "short.signed.json"))
    assert signed.exit_code == 0, signed.output
    short = run_cli(run, "venue", "book", "prove", str(run / "run"), str(run / "accounts.jsonl"),
                    str(run / "snapshot.json"), "--keys", str(run / "cache" / HIDDEN), "--signing-key",
                    str(run / "venue.key"), "--out", str(run / "hidden-short"), "--circuit", HIDDEN, "--top",
                    HIDDEN_TOP, "--top-keys", str(run / "cache" / HIDDEN_TOP), "--reserves",
                    str(run / "short.signed.json"))
    assert short.exit_code == 2 and "do not cover" in short.output and "USDC" in short.output
    assert not (run / "hidden-short" / "book.json").exists()
    no_top = run_cli(run, "venue", "book", "prove", str(run / "run"), str(run / "accounts.jsonl"),
                     str(run / "snapshot.json"), "--keys", str(run / "cache" / HIDDEN), "--signing-key",
                     str(run / "venue.key"), "--out", str(run / "hidden-short"), "--circuit", HIDDEN)
    assert no_top.exit_code == 2 and "--top" in no_top.output
