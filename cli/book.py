"""The book (venue solvency): `zkmargin venue book prove|verify` for the venue and the auditor, `zkmargin book check`
for a trader.

`venue book prove RUN ACCOUNTS SNAPSHOT` reads the plan of a finished `venue run` (its salts and attested
commitments, authenticated by the venue's key), so the book's leaves are the very commitments traders prove
against; it writes, in --out:
  batches/<i>.json   one per batch: index, root (hash and sums), proof (each written whole or not at all:
                     a rerun proves only the missing or damaged ones)
  book.json          what the venue publishes: root, totals, every batch and its proof (zkmargin-book/1)
  paths/<id>.json    each trader's inclusion path (zkmargin-book-path/1), mode 0600: a path shows the sums
                     of the neighbouring subtrees, so it goes to its account holder only
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from zkmargin.book.batches import book_depth
from zkmargin.book.document import (
    AnyBook,
    HiddenBatch,
    HiddenBook,
    PublishedBatch,
    PublishedBook,
    PublishedTop,
    book_to_json,
    check_book_signature,
    node_to_json,
    parse_book,
    parse_node,
    parse_path,
    path_to_json,
    sign_book,
    sums_to_json,
)
from zkmargin.book.reserves import (
    AssetCoverage,
    SignedReserves,
    check_reserves,
    coverage,
    parse_reserves,
    reserves_by_slot,
    reserves_to_json,
    sign_reserves,
)
from zkmargin.book.tree import BookNode, BookTree, leaf_hash
from zkmargin.circuits.book_proving import (
    BookVerdict,
    account_leaf,
    book_statement,
    check_own_leaf,
    prove_batch,
    prove_top,
    top_statement,
    verify_batch,
    verify_book,
    verify_hidden_book,
)
from zkmargin.circuits.book_top import MAX_TOP_DEPTH
from zkmargin.circuits.proving import parse_field_element
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.cli.inputs import account_argument, load_account_for, load_opening, load_signing_key, snapshot_argument
from zkmargin.cli.keystore import KeyStore, digest_option, parse_digest, read_verifying_key
from zkmargin.cli.output import EXIT_NO, CliError, emit, json_option, note, read_json, write_json
from zkmargin.errors import AttestationError, EncodingError, RunStateError, ZkMarginError
from zkmargin.files import write_atomic
from zkmargin.groth16.serialization import proof_from_json, proof_to_json
from zkmargin.margin.engine import format_e32
from zkmargin.margin.fixed_point import format_e8, parse_e8
from zkmargin.margin.models import Account, Snapshot, load_snapshot, parse_account
from zkmargin.venue.attestation import check_signed_root, parse_public_key, parse_signed_root, snapshot_digest
from zkmargin.venue.run import (
    bundle_file_name,
    chunks,
    plan_mac_key,
    read_account_documents,
    read_plan,
    split_identity,
)

book_circuit_option = click.option(
    "--circuit", "circuit_id", required=True, metavar="book-cross-n<N>-k<K>-b<B>[-h]",
    help="The batch statement: accounts of the run's cross circuit (N, K), B accounts a proof; -h hides the totals.")
top_keys_option = click.option(
    "--top-keys", "top_bundle_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
    help="The key bundle directory of the top circuit (default: the key cache).")


# ----- tasks (run on the workers) ---------------------------------------------------------
def prove_book_chunk(jobs: list[tuple[int, list[tuple[Any, int]]]], snapshot: Snapshot, circuit_id: str,
                     plugin_name: str, backend_name: str) -> list[tuple[int, dict, dict]]:
    """Per batch (index, [(account document, salt)]): (index, root as JSON, snarkjs proof JSON)."""
    from zkmargin.backends import get_backend
    from zkmargin.venue.cluster import worker_proving_key

    circuit = circuit_from_id(circuit_id)
    backend = get_backend(backend_name)
    pk = worker_proving_key(plugin_name)
    out = []
    for index, members in jobs:
        accounts = [(parse_account(split_identity(doc)[0]), salt) for doc, salt in members]
        node, proof = prove_batch(circuit, pk, snapshot, index, accounts, backend)
        out.append((index, node_to_json(node), proof_to_json(proof, backend)))
    return out


# ----- commands -----------------------------------------------------------------------------
@click.group("book")
def venue_book() -> None:
    """The book: every account's figures proved in batches, the root and totals checked by anyone."""


@venue_book.command("prove")
@click.argument("run_dir", metavar="RUN", type=click.Path(file_okay=False, path_type=Path))
@click.argument("accounts_path", metavar="ACCOUNTS", type=click.Path(path_type=Path))
@snapshot_argument
@click.option("--keys", "bundle_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The key bundle directory (from `zkmargin setup --circuit book-...`).")
@click.option("--signing-key", "key_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The venue's private key: it authenticates the run's plan.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output directory; rerunning the same command resumes there.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="A Dask scheduler address; default: a LocalCluster on this machine.")
@click.option("--workers", type=click.IntRange(1, 4096), default=None,
              help="LocalCluster worker processes (default: one per core); ignored with --scheduler.")
@book_circuit_option
@click.option("--top", "top_id", default=None, metavar="book-top-k<K>-b<B>-t<T>[-h]",
              help="Also prove the top over the batch roots (2^T of them at most; the book's depth is then b + T); "
                   "required with a hidden (-h) book, whose top proves reserves >= liabilities.")
@top_keys_option
@click.option("--reserves", "reserves_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Hidden books: the venue's signed reserves (from `venue book reserves`), published in the book.")
@digest_option
@json_option
@click.pass_context
def prove_command(ctx: click.Context, run_dir: Path, accounts_path: Path, snapshot_path: Path, bundle_dir: Path,
                  key_path: Path, out_dir: Path, scheduler: str | None, workers: int | None, circuit_id: str,
                  top_id: str | None, top_bundle_dir: Path | None, reserves_path: Path | None,
                  vk_digest_text: str | None, as_json: bool) -> None:
    """Prove the book of the venue run in RUN (its ACCOUNTS and SNAPSHOT): every account, in batches, and the top.

    With a hidden circuit (-h) the book publishes no total: the batch roots' hashes, the top proof that the
    signed --reserves cover every liability per asset, and the reserves.
    """
    started = time.perf_counter()
    backend = ctx.obj.backend
    circuit = circuit_from_id(circuit_id)
    statement = book_statement(circuit)
    snapshot = load_snapshot(snapshot_path)
    circuit.snapshot_inputs(snapshot)
    store = KeyStore(ctx.obj.cache_dir, circuit, bundle_dir)
    pk, pk_bytes = store.load_proving_key_and_bytes(
        backend, parse_digest(vk_digest_text, "--vk-digest") if vk_digest_text else None)
    signing_key = load_signing_key(key_path)
    planned = _planned_accounts(run_dir, accounts_path, snapshot, signing_key, statement.cross.circuit_id)
    leaves = []
    for entry in planned:
        commitment, sums = account_leaf(circuit, entry.account, snapshot, entry.salt)
        if commitment != entry.commitment:
            raise CliError(f"account {entry.account_id} does not open the commitment the run attested")
        leaves.append(BookNode(leaf_hash(commitment, sums), sums))
    top = _top_plan(top_id, statement, len(leaves), reserves_path, snapshot, signing_key)
    depth = book_depth(len(leaves), statement.batch_depth) if top is None else top_statement(top.circuit).depth
    tree = BookTree(leaves, depth, statement.n_collateral)
    if top is not None and top.reserves is not None:  # checked before any proof: no top proof would exist
        short = [c.asset for c in coverage(tree.root.sums, snapshot, top.reserves) if not c.covered]
        if short:
            raise CliError("the signed reserves do not cover the liabilities of " + ", ".join(short) +
                           ": no top proof exists for them")
    n_batches = -(-len(leaves) // statement.batch_size)
    batch_dir = out_dir / "batches"
    def check(index: int, root: BookNode, proof: Any) -> bool:
        return verify_batch(circuit, pk.vk, snapshot, index, root.hash if statement.hidden_sums else root, proof,
                            backend)

    # Each batch on disk is read and its proof checked once: here for those already there, below for those
    # proved now.
    found = {i: _stored_batch(batch_dir, i, tree, statement.batch_depth, check) for i in range(n_batches)}
    pending = [i for i, stored in found.items() if stored is None]
    if n_batches - len(pending):
        note(f"{n_batches - len(pending)} batches already proved on disk: not proved again")
    seconds_proving = 0.0
    if pending:
        from zkmargin.venue.cluster import dask_client, install_proving_key, map_chunks  # Dask loads only here

        size = statement.batch_size
        jobs = [(i, [(e.document, e.salt) for e in planned[i * size:(i + 1) * size]]) for i in pending]
        t = time.perf_counter()
        with contextlib.ExitStack() as stack:
            client = stack.enter_context(dask_client(scheduler, workers))
            plugin_name = install_proving_key(client, pk_bytes, backend.name)
            for _, result, error in map_chunks(client, prove_book_chunk, chunks(jobs, 1), snapshot, circuit.circuit_id,
                                               plugin_name, backend.name):
                if error is not None:
                    raise CliError(f"a batch failed on the cluster ({error!r}); rerun the same command to resume")
                for index, root_json, proof_json in result:
                    write_atomic(batch_dir / f"{index}.json",
                                      _json_bytes({"index": index, "root": root_json, "proof": proof_json}))
        seconds_proving = time.perf_counter() - t
    batches = []
    for i in range(n_batches):
        stored = found[i] or _stored_batch(batch_dir, i, tree, statement.batch_depth, check)
        if stored is None:
            raise CliError(f"batch {i} in {batch_dir} does not match this book; rerun the same command")
        batches.append(stored)
    published_top = None
    if top is not None:
        t = time.perf_counter()
        published_top = _prove_top(ctx, top, snapshot, tree, n_batches, top_bundle_dir)
        seconds_proving += time.perf_counter() - t
    head = (snapshot.venue, circuit.circuit_id, snapshot.snapshot_id, snapshot_digest(snapshot), depth,
            statement.batch_depth)
    book: AnyBook
    if top is not None and top.reserves is not None and published_top is not None:
        book = sign_book(signing_key, HiddenBook(*head, tree.root.hash, tuple(HiddenBatch(b.index, b.root.hash, b.proof)
                                                                              for b in batches),
                                                 published_top, top.reserves))
    else:
        book = sign_book(signing_key, PublishedBook(*head, tree.root, tuple(batches), top=published_top))
    write_atomic(out_dir / "book.json", _json_bytes(book_to_json(book)))
    for i, entry in enumerate(planned):
        write_atomic(out_dir / "paths" / bundle_file_name(entry.account_id),
                          _json_bytes(path_to_json(entry.account_id, tree.path(i))), mode=0o600)
    summary = {"circuit_id": circuit.circuit_id, "accounts": len(leaves), "batches": n_batches,
               "proved_now": len(pending), "depth": depth, "root": str(tree.root.hash),
               "top": None if published_top is None else published_top.circuit_id,
               # Hidden: the venue sees its own totals here; the published book.json holds none.
               "totals": sums_to_json(tree.root.sums), "book": str(out_dir / "book.json"),
               "seconds": {"prove": round(seconds_proving, 3), "total": round(time.perf_counter() - started, 3)}}
    emit(as_json, summary, f"book of {len(leaves)} accounts in {n_batches} batches ({len(pending)} proved now); "
                           f"root {tree.root.hash}; written to {out_dir / 'book.json'}")


@venue_book.command("reserves")
@click.argument("reserves_path", metavar="RESERVES", type=click.Path(dir_okay=False, path_type=Path))
@snapshot_argument
@click.option("--signing-key", "key_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The venue's private key (the one its attestations use).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the signed reserves statement.")
@json_option
def reserves_command(reserves_path: Path, snapshot_path: Path, key_path: Path, out_path: Path, as_json: bool) -> None:
    """Sign RESERVES ({asset: amount} in the asset's unit, decimal strings) for SNAPSHOT: what the venue holds."""
    snapshot = load_snapshot(snapshot_path)
    document = read_json(reserves_path, "reserves")
    if not isinstance(document, dict):
        raise CliError(f"{reserves_path}: expected an object {{asset: amount}}")
    amounts = {asset: parse_e8(amount, f"reserves.{asset}", 0, 2**64 - 1) for asset, amount in document.items()}
    signed = sign_reserves(load_signing_key(key_path), snapshot, amounts)
    write_json(out_path, reserves_to_json(signed))
    emit(as_json, reserves_to_json(signed), f"reserves for {len(amounts)} assets signed: {out_path}")


@venue_book.command("verify")
@click.argument("book_path", metavar="BOOK", type=click.Path(dir_okay=False, path_type=Path))
@snapshot_argument
@click.option("--keys", "bundle_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="The key bundle directory of the book's circuit (default: the key cache).")
@click.option("--reserves", "reserves_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="The venue's signed reserves statement: also check reserves >= liabilities for every asset.")
@click.option("--root", "root_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="The venue run's signed root (root.json): the book must count every account it attested.")
@click.option("--public-key", "public_key_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="The venue's public key document: check its signature on the book (and on --reserves, --root).")
@click.option("--html", "html_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Write the auditor's report: totals, census per batch, reserves per asset, with charts.")
@top_keys_option
@digest_option
@json_option
@click.pass_context
def verify_command(ctx: click.Context, book_path: Path, snapshot_path: Path, bundle_dir: Path | None,
                   reserves_path: Path | None, root_path: Path | None, public_key_path: Path | None,
                   html_path: Path | None, top_bundle_dir: Path | None, vk_digest_text: str | None,
                   as_json: bool) -> None:
    """Check every batch proof of BOOK against SNAPSHOT, then the root and totals over them (and the top proof when
    the book has one). Exit 1 names the batch.

    With --reserves, exit 1 also when some asset's signed reserves fall short of its liabilities; with --root,
    when the book counts another number of accounts than the venue's signed root over its attested commitments.
    A hidden book (totals hidden) needs --public-key: its top proof shows the reserves it carries cover every
    liability, and the venue's key shows the venue signed them.
    """
    if (reserves_path is not None or root_path is not None) and public_key_path is None:
        raise CliError("--reserves and --root need --public-key (the venue's key checks their signatures)")
    book = _parse(parse_book, read_json(book_path, "book"), book_path)
    circuit = circuit_from_id(book.circuit_id)
    backend = ctx.obj.backend
    store = KeyStore(ctx.obj.cache_dir, circuit, bundle_dir)
    vk = read_verifying_key(store.verification_key_path, backend,
                            parse_digest(vk_digest_text, "--vk-digest") if vk_digest_text else None)
    snapshot = load_snapshot(snapshot_path)
    top_key = None
    if book.top is not None:
        top_circuit = circuit_from_id(book.top.circuit_id)
        top_key = (top_circuit, read_verifying_key(KeyStore(ctx.obj.cache_dir, top_circuit,
                                                            top_bundle_dir).verification_key_path, backend))
    covered = None
    public_key = None if public_key_path is None else parse_public_key(read_json(public_key_path, "venue public key"))
    if isinstance(book, HiddenBook):
        if public_key is None or reserves_path is not None or root_path is not None or html_path is not None:
            raise CliError("a hidden book needs --public-key and takes no --reserves (it carries them), --root or "
                           "--html (it shows no total)")
        check_book_signature(book, public_key)
        check_reserves(book.reserves, public_key, snapshot)
        _report_hidden(book, verify_hidden_book(circuit, vk, snapshot, book, top_key, backend), snapshot, as_json)
        return
    if public_key is not None:
        check_book_signature(book, public_key)
    if reserves_path is not None and public_key is not None:
        signed = _parse(parse_reserves, read_json(reserves_path, "reserves"), reserves_path)
        check_reserves(signed, public_key, snapshot)
        covered = coverage(book.root.sums, snapshot, signed)
    verdict = verify_book(circuit, vk, snapshot, book, backend, top_key)
    if verdict.valid and root_path is not None and public_key is not None:
        signed_root = parse_signed_root(read_json(root_path, "signed root"))
        check_signed_root(signed_root, public_key, snapshot_digest(snapshot))
        if signed_root.leaf_count != book.root.sums.accounts:
            verdict = BookVerdict(False, None, f"the book counts {book.root.sums.accounts} accounts; the venue's "
                                               f"signed root attests {signed_root.leaf_count}")
    where = "the top" if verdict.failing_batch is None else f"batch {verdict.failing_batch}"
    payload = {"valid": verdict.valid, "circuit_id": book.circuit_id, "batches": len(book.batches),
               "root": str(book.root.hash), "totals": sums_to_json(book.root.sums),
               **({} if verdict.valid else {"failing_batch": verdict.failing_batch, "reason": verdict.reason})}
    if not verdict.valid:
        emit(as_json, payload, f"INVALID at {where}: {verdict.reason}")
        raise SystemExit(EXIT_NO)
    lines = [f"valid: {len(book.batches)} batch proofs and the top" + (" proof" if book.top else " (folded)"),
             f"root {book.root.hash}",
             *(f"  {k}: {v}" for k, v in sums_to_json(book.root.sums).items())]
    if covered is not None:
        payload["reserves"] = [{"asset": c.asset, "liabilities_e8": str(c.liabilities_e8),
                                "reserves_e8": str(c.reserves_e8), "covered": c.covered,
                                "ratio": None if c.ratio is None else str(c.ratio)} for c in covered]
        lines += [f"  {c.asset}: reserves {format_e8(c.reserves_e8)} / liabilities {format_e8(c.liabilities_e8)}"
                  f" {'covered' if c.covered else 'SHORT'}" for c in covered]
    if html_path is not None:
        _write_report(html_path, book, snapshot, covered)
        lines.append(f"report written to {html_path}")
    emit(as_json, payload, "\n".join(lines))
    if covered is not None and not all(c.covered for c in covered):
        note("reserves fall short of liabilities for " + ", ".join(c.asset for c in covered if not c.covered))
        raise SystemExit(EXIT_NO)


def _report_hidden(book: HiddenBook, verdict: BookVerdict, snapshot: Snapshot, as_json: bool) -> None:
    """Print a hidden book's verdict: per asset, the signed reserves and that they cover the liabilities."""
    payload: dict[str, Any] = {"valid": verdict.valid, "mode": "hidden", "circuit_id": book.circuit_id,
                               "top": book.top.circuit_id, "batches": len(book.batches), "root": str(book.root_hash)}
    if not verdict.valid:
        where = "the top" if verdict.failing_batch is None else f"batch {verdict.failing_batch}"
        emit(as_json, {**payload, "failing_batch": verdict.failing_batch, "reason": verdict.reason},
             f"INVALID at {where}: {verdict.reason}")
        raise SystemExit(EXIT_NO)
    assets = [a.asset for a in snapshot.assets]
    payload["reserves"] = [{"asset": a, "reserves_e8": str(book.reserves.reserves_e8.get(a, 0)), "covered": True}
                           for a in assets]
    emit(as_json, payload, "\n".join([f"valid: {len(book.batches)} batch proofs and the top proof (totals hidden)",
                                      f"root {book.root_hash}",
                                      *(f"  {a}: reserves {format_e8(book.reserves.reserves_e8.get(a, 0))} cover "
                                        "liabilities" for a in assets)]))


@click.group("book")
def book_group() -> None:
    """A trader's side of the venue's book."""


@book_group.command("check")
@account_argument
@snapshot_argument
@click.option("--opening", "opening_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The account's opening (or the venue run bundle that holds it): the salt of its commitment.")
@click.option("--path", "path_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The account's inclusion path from the venue (paths/<id>.json).")
@click.option("--book", "book_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The published book.json.")
@click.option("--public-key", "public_key_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The venue's public key document: the venue must have signed the book's root and totals.")
@json_option
def check_command(account_path: Path, snapshot_path: Path, opening_path: Path, path_path: Path, book_path: Path,
                  public_key_path: Path, as_json: bool) -> None:
    """Check that ACCOUNT is counted in the published book: its commitment, deposits and figures. Exit 1 when not."""
    snapshot = load_snapshot(snapshot_path)
    account = load_account_for(account_path, snapshot)
    opening = _opening(opening_path)
    book = _parse(parse_book, read_json(book_path, "book"), book_path)
    circuit = circuit_from_id(book.circuit_id)
    if book_statement(circuit).cross.circuit_id != opening["circuit_id"]:
        raise CliError(f"the opening is for {opening['circuit_id']}; the book's accounts are "
                       f"{book_statement(circuit).cross.circuit_id}")
    account_id, path = _parse(parse_path, read_json(path_path, "path"), path_path)
    # Without the venue's signature a path only leads to whatever root the book file holds: anyone can write a
    # book.json whose root counts this one account, so the check would show nothing about the venue's totals.
    venue_key = parse_public_key(read_json(public_key_path, "venue public key"))
    try:
        check_book_signature(book, venue_key)
    except AttestationError as exc:
        emit(as_json, {"included": False, "account_id": account_id, "reason": f"the venue did not sign this book: {exc}"},
             f"NOT INCLUDED: the venue did not sign this book: {exc}")
        raise SystemExit(EXIT_NO) from None
    if book.snapshot_digest != snapshot_digest(snapshot):
        raise CliError("the book is of another snapshot than the one given")
    try:
        check_own_leaf(circuit, account, snapshot, opening["salt"], path,
                       book.root_hash if isinstance(book, HiddenBook) else book.root)
    except EncodingError as exc:
        emit(as_json, {"included": False, "account_id": account_id, "reason": str(exc)}, f"NOT INCLUDED: {exc}")
        raise SystemExit(EXIT_NO) from None
    root_hash = path.root.hash  # the book's (checked above), in either mode
    emit(as_json, {"included": True, "account_id": account_id, "index": path.index, "leaf": node_to_json(path.leaf),
                   "root": str(root_hash)},
         f"included: {account_id} is leaf {path.index} of the book with root {root_hash}; its deposits and "
         "figures are counted in the totals")


# ----- helpers ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TopPlan:
    """The top a prove run adds: its circuit and, for a hidden book, the signed reserves and their slot values."""

    circuit: Any
    reserves: SignedReserves | None
    tail: tuple[int, ...] | None
    """The top's public tail: the reserves by slot (hidden), None for the totals (known once the tree is built)."""


def _top_plan(top_id: str | None, statement: Any, n_accounts: int, reserves_path: Path | None, snapshot: Snapshot,
              signing_key: Any) -> TopPlan | None:
    """The top this book needs (CliError when the options do not fit the batch circuit or the book's size)."""
    if statement.hidden_sums and (top_id is None or reserves_path is None):
        raise CliError(f"{statement.circuit_id} hides the totals: give --top book-top-...-h and --reserves")
    if top_id is None:
        if reserves_path is not None:
            raise CliError("--reserves goes with a hidden book (a -h circuit and --top)")
        return None
    circuit = circuit_from_id(top_id)
    top = top_statement(circuit)
    if (top.n_collateral, top.batch_depth, top.hidden_sums) != (statement.n_collateral, statement.batch_depth,
                                                                  statement.hidden_sums):
        raise CliError(f"{top_id} is not a top of {statement.circuit_id} books (same K, B and mode)")
    n_batches = -(-n_accounts // statement.batch_size)
    if n_batches > top.n_children:
        raise CliError(f"{n_accounts} accounts make {n_batches} batches; {top_id} folds at most {top.n_children} "
                       f"(the largest top folds 2^{MAX_TOP_DEPTH}; layers of tops are not built)")
    if not top.hidden_sums:
        return TopPlan(circuit, None, None)
    if reserves_path is None:
        raise CliError("a hidden book needs --reserves")
    signed = _parse(parse_reserves, read_json(reserves_path, "reserves"), reserves_path)
    try:
        check_reserves(signed, signing_key.public_key(snapshot.venue), snapshot)
        tail = reserves_by_slot(snapshot, signed, statement.n_collateral)
    except ZkMarginError as exc:
        raise CliError(f"{reserves_path}: {exc}") from None
    return TopPlan(circuit, signed, tail)


def _prove_top(ctx: click.Context, plan: TopPlan, snapshot: Snapshot, tree: BookTree, n_batches: int,
               bundle_dir: Path | None) -> PublishedTop:
    """Prove the top on this machine (one proof); CliError when the reserves do not cover the book."""
    backend = ctx.obj.backend
    store = KeyStore(ctx.obj.cache_dir, plan.circuit, bundle_dir)
    pk, _ = store.load_proving_key_and_bytes(backend, None)
    tail = plan.tail if plan.tail is not None else tree.root.sums.as_fields()
    proof = prove_top(plan.circuit, pk, snapshot, tree, n_batches, tail, backend)
    return PublishedTop(plan.circuit.circuit_id, proof_to_json(proof, backend))


@dataclass(frozen=True)
class PlannedEntry:
    """An account of the run's plan: its id, the parsed account and its document, its salt and commitment."""

    account_id: str
    account: Account
    document: Any
    salt: int
    commitment: int


def _planned_accounts(run_dir: Path, accounts_path: Path, snapshot: Snapshot, signing_key: Any,
                      cross_id: str) -> list[PlannedEntry]:
    """Every account the run committed, in plan order; CliError when the run is not this book's."""
    try:
        plan = read_plan(run_dir / "plan.jsonl", plan_mac_key(signing_key))
    except RunStateError as exc:
        raise CliError(str(exc)) from None
    if plan is None:
        raise CliError(f"no venue run in {run_dir} (plan.jsonl missing): run `zkmargin venue run` first")
    if plan.header.get("snapshot_digest") != snapshot_digest(snapshot).hex():
        raise CliError(f"the run in {run_dir} is of another snapshot")
    if plan.header.get("circuit_id") != cross_id:
        raise CliError(f"the run in {run_dir} committed under {plan.header.get('circuit_id')}; this book takes "
                       f"{cross_id} accounts")
    docs, digest = read_account_documents(accounts_path)
    if plan.header.get("accounts_sha256") != digest:
        raise CliError(f"{accounts_path} is not the accounts file of the run in {run_dir}")
    if not plan.accounts:
        raise CliError(f"the run in {run_dir} committed no account")
    out = []
    for p in plan.accounts:
        try:
            document = docs[p.index].document
            out.append(PlannedEntry(p.account_id, parse_account(split_identity(document)[0]), document, p.salt,
                                    p.commitment))
        except (ZkMarginError, IndexError) as exc:
            raise CliError(f"account {p.account_id}: {exc}") from None
    return out


def _stored_batch(batch_dir: Path, index: int, tree: BookTree, batch_depth: int,
                  check: Callable[[int, BookNode, Any], bool]) -> PublishedBatch | None:
    """Batch index as stored on disk when it is whole, has this tree's root there and its proof verifies."""
    try:
        stored = json.loads((batch_dir / f"{index}.json").read_text())
        root = parse_node(stored["root"], tree.n_assets, f"batch {index}")
        proof = proof_from_json(stored["proof"])
        if stored.get("index") != index or root != tree.node(batch_depth, index):
            return None
        # A proof is cheap to check next to making one: a file swapped or damaged on disk must not ship.
        return PublishedBatch(index, root, stored["proof"]) if check(index, root, proof) else None
    except (OSError, ValueError, KeyError, TypeError, ZkMarginError):
        return None


def _opening(path: Path) -> dict:
    """An opening file, or the opening inside a venue run bundle."""
    document = read_json(path, "opening")
    if isinstance(document, dict) and isinstance(document.get("opening"), dict):
        opening = document["opening"]
        if not isinstance(opening.get("circuit_id"), str) or not isinstance(opening.get("salt"), str):
            raise CliError(f"{path}: the bundle's opening has no circuit_id or salt")
        return {"circuit_id": opening["circuit_id"], "salt": parse_field_element(opening["salt"], "opening salt")}
    return load_opening(path)


def _write_report(path: Path, book: PublishedBook, snapshot: Snapshot, covered: list[AssetCoverage] | None) -> None:
    """The auditor's page: proven totals, the margin-call census per batch, and reserves against liabilities."""
    from zkmargin.cli.charts import new_figure, write_html

    sums = book.root.sums
    figure = new_figure(8.0, 6.0 if covered else 3.5)
    census = figure.add_subplot(2 if covered else 1, 1, 1)
    below = [b.root.sums.below_maintenance for b in book.batches]
    census.bar(range(len(below)), below, color="#c0392b")
    census.set_title(f"accounts below maintenance per batch ({sums.below_maintenance} of {sums.accounts})")
    census.set_xlabel("batch")
    tables = [("Totals (proved)", ["figure", "value"],
               [[name, value] for name, value in sums_to_json(sums).items()]),
              ("Census", ["", "value"],
               [["accounts", str(sums.accounts)], ["below maintenance", str(sums.below_maintenance)],
                ["share below maintenance",
                 f"{100 * sums.below_maintenance / max(1, sums.accounts):.2f} %"],
                ["total shortfall", format_e32(sums.shortfall_e32)], ["bad debt", format_e32(sums.bad_debt_e32)],
                ["P&L owed", format_e32(sums.pnl_owed_e32)]]),
              ("Per batch", ["batch", "accounts", "below maintenance", "shortfall"],
               [[str(b.index), str(b.root.sums.accounts), str(b.root.sums.below_maintenance),
                 format_e32(b.root.sums.shortfall_e32)] for b in book.batches])]
    if covered:
        chart = figure.add_subplot(2, 1, 2)
        ratios = [float(c.ratio) if c.ratio is not None else 0.0 for c in covered]
        chart.bar([c.asset for c in covered], ratios, color=["#27ae60" if c.covered else "#c0392b" for c in covered])
        chart.axhline(1.0, color="#222", linewidth=1)
        chart.set_title("reserves / liabilities per asset (signed reserves; 1.0 = fully covered)")
        tables.append(("Reserves (signed by the venue) against liabilities (proved)",
                       ["asset", "reserves", "liabilities", "ratio", "covered"],
                       [[c.asset, format_e8(c.reserves_e8), format_e8(c.liabilities_e8),
                         "-" if c.ratio is None else str(c.ratio), "yes" if c.covered else "NO"] for c in covered]))
    write_html(path, f"Book of {book.snapshot_id}: {book.circuit_id}, root {book.root.hash}", [figure], tables)


def _parse(parser: Any, document: Any, path: Path) -> Any:
    try:
        return parser(document)
    except EncodingError as exc:
        raise CliError(f"{path}: {exc}") from None


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode()
