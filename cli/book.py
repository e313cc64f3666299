"""The book (venue solvency): `zkmargin venue book prove|verify` for the venue and the auditor, `zkmargin book check`
for a trader.

`venue book prove RUN ACCOUNTS SNAPSHOT` reads the plan of a finished `venue run` (its salts, attested
commitments and identities, authenticated by the venue's key) and its signed root (root.json), so the book's
leaves are, in the run's order, the very commitments traders prove against; it writes, in --out:
  batches/<i>.json   one per batch: index, root (hash and sums), attested root, proof (each written whole or
                     not at all: a rerun proves only the missing or damaged ones)
  book.json          what the venue publishes: root, totals, every batch and its proof, and the run's signed
                     root the batches' attested roots fold to (zkmargin-book/1)
  paths/<id>.json    each trader's inclusion path (zkmargin-book-path/1), mode 0600: a path shows the sums
                     of the neighbouring subtrees, so it goes to its account holder only
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
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
    census_json,
    check_book_signature,
    node_to_json,
    parse_book,
    parse_node,
    parse_path,
    path_to_json,
    sign_book,
    sums_to_json,
)
from zkmargin.book.reference import census_by_size
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
    batch_verdicts,
    batch_verifier,
    book_statement,
    check_attested_place,
    check_own_leaf,
    prove_batch,
    prove_top,
    top_statement,
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
from zkmargin.groth16.serialization import proof_to_json
from zkmargin.margin.engine import format_e32
from zkmargin.margin.fixed_point import format_e8, parse_e8, to_decimal
from zkmargin.margin.models import Account, Snapshot, load_snapshot, parse_account
from zkmargin.venue.attestation import (
    SignedRoot,
    check_signed_root,
    parse_public_key,
    parse_signed_root,
    snapshot_digest,
)
from zkmargin.venue.run import (
    bundle_file_name,
    chunks,
    plan_mac_key,
    read_account_documents,
    read_plan,
    split_identity,
)
from zkmargin.venue.tree import MerkleTree, member_leaves, parse_merkle_path

book_circuit_option = click.option(
    "--circuit", "circuit_id", required=True, metavar="book-cross-n<N>[-p<P>]-k<K>-b<B>[-h]",
    help="The batch statement: accounts of the run's cross circuit (dense N, K or sparse N, P, K), B accounts a proof; "
         "-h hides the totals.")
top_keys_option = click.option(
    "--top-keys", "top_bundle_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
    help="The key bundle directory of the top circuit (default: the key cache).")


# ----- tasks (run on the workers) ---------------------------------------------------------
def prove_book_chunk(jobs: list[tuple[int, list[tuple[Any, int, int]]]], snapshot: Snapshot, circuit_id: str,
                     plugin_name: str, backend_name: str) -> list[tuple[int, dict, int, dict]]:
    """Per batch (index, [(account document, salt, identity)]): (index, root as JSON, attested root, snarkjs proof
    JSON)."""
    from zkmargin.backends import get_backend
    from zkmargin.venue.cluster import worker_proving_key

    circuit = circuit_from_id(circuit_id)
    backend = get_backend(backend_name)
    pk = worker_proving_key(plugin_name)
    out = []
    for index, members in jobs:
        accounts = [(parse_account(split_identity(doc)[0]), salt, identity) for doc, salt, identity in members]
        node, attested, proof = prove_batch(circuit, pk, snapshot, index, accounts, backend)
        out.append((index, node_to_json(node), attested, proof_to_json(proof, backend)))
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
    signed_root, venue_tree = _run_root(run_dir, planned, snapshot, signing_key, statement.batch_depth)
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
    verifier = batch_verifier(circuit, pk.vk, snapshot, backend)  # the snapshot part folded once, not per batch
    size = statement.batch_size
    # Batch i's attested root is the run's tree node at level b, index i: what its proof must make public.
    attested = [venue_tree.node(statement.batch_depth, i) for i in range(n_batches)]

    def stored(indices: Sequence[int]) -> dict[int, PublishedBatch | None]:
        # A proof is cheap to check next to making one: a file swapped or damaged on disk must not ship. The
        # batches found are checked together, in one weighted check.
        read = {i: _stored_batch(batch_dir, i, tree, statement.batch_depth, attested[i]) for i in indices}
        whole = [b for b in read.values() if b is not None]
        valid = {b.index for b, v in zip(whole, batch_verdicts(verifier, snapshot, whole)) if v.valid}
        return {i: b if b is not None and i in valid else None for i, b in read.items()}

    # Each batch on disk is read and its proof checked once: here for those already there, below for those
    # proved now.
    found = stored(range(n_batches))
    pending = [i for i, stored in found.items() if stored is None]
    if n_batches - len(pending):
        note(f"{n_batches - len(pending)} batches already proved on disk: not proved again")
    seconds_proving = 0.0
    if pending:
        from zkmargin.venue.cluster import dask_client, install_proving_key, map_chunks  # Dask loads only here

        jobs = [(i, [(e.document, e.salt, e.identity) for e in planned[i * size:(i + 1) * size]]) for i in pending]
        t = time.perf_counter()
        with contextlib.ExitStack() as stack:
            client = stack.enter_context(dask_client(scheduler, workers))
            plugin_name = install_proving_key(client, pk_bytes, backend.name)
            for _, result, error in map_chunks(client, prove_book_chunk, chunks(jobs, 1), snapshot, circuit.circuit_id,
                                               plugin_name, backend.name):
                if error is not None:
                    raise CliError(f"a batch failed on the cluster ({error!r}); rerun the same command to resume")
                for index, root_json, attested_root, proof_json in result:
                    write_atomic(batch_dir / f"{index}.json",
                                      _json_bytes({"index": index, "root": root_json,
                                                   "attested_root": str(attested_root), "proof": proof_json}))
        seconds_proving = time.perf_counter() - t
    found.update(stored(pending))
    batches = []
    for i in range(n_batches):
        batch = found[i]
        if batch is None:
            raise CliError(f"batch {i} in {batch_dir} does not match this book; rerun the same command")
        batches.append(batch)
    published_top = None
    if top is not None:
        t = time.perf_counter()
        published_top = _prove_top(ctx, top, snapshot, tree, n_batches, top_bundle_dir)
        seconds_proving += time.perf_counter() - t
    head = (snapshot.venue, circuit.circuit_id, snapshot.snapshot_id, snapshot_digest(snapshot), depth,
            statement.batch_depth)
    book: AnyBook
    if top is not None and top.reserves is not None and published_top is not None:
        book = HiddenBook(*head, tree.root.hash, tuple(HiddenBatch(b.index, b.root.hash, b.proof, b.attested_root)
                                                       for b in batches),
                          published_top, top.reserves, signed_root=signed_root)
    else:
        book = PublishedBook(*head, tree.root, tuple(batches), signed_root=signed_root, top=published_top)
    book = sign_book(signing_key, book)
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
              help="The venue run's signed root (root.json) as you received it: the book's must be this one.")
@click.option("--public-key", "public_key_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The venue's public key document: its signatures on the book, the signed root the book's leaves "
                   "are checked against, and --reserves.")
@click.option("--html", "html_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Write the auditor's report: totals, census per batch, reserves per asset, with charts.")
@top_keys_option
@digest_option
@json_option
@click.pass_context
def verify_command(ctx: click.Context, book_path: Path, snapshot_path: Path, bundle_dir: Path | None,
                   reserves_path: Path | None, root_path: Path | None, public_key_path: Path,
                   html_path: Path | None, top_bundle_dir: Path | None, vk_digest_text: str | None,
                   as_json: bool) -> None:
    """Check every batch proof of BOOK against SNAPSHOT, then the root and totals over them (and the top proof when
    the book has one), and that its leaves are the accounts of the venue's signed root. Exit 1 names the batch.

    With --reserves, exit 1 also when some asset's signed reserves fall short of its liabilities; with --root,
    when the book's signed root is not that one. A hidden book (totals hidden) carries its reserves: its top proof
    shows they cover every liability, and the venue's key shows the venue signed them.
    """
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
    public_key = parse_public_key(read_json(public_key_path, "venue public key"))
    check_book_signature(book, public_key)
    if isinstance(book, HiddenBook):
        if reserves_path is not None or html_path is not None:
            raise CliError("a hidden book takes no --reserves (it carries them) or --html (it shows no total)")
        check_reserves(book.reserves, public_key, snapshot)
        hidden = verify_hidden_book(circuit, vk, snapshot, book, public_key, top_key, backend)
        _report_hidden(book, _root_verdict(hidden, root_path, public_key, snapshot, book), snapshot, as_json)
        return
    if reserves_path is not None:
        signed = _parse(parse_reserves, read_json(reserves_path, "reserves"), reserves_path)
        check_reserves(signed, public_key, snapshot)
        covered = coverage(book.root.sums, snapshot, signed)
    verdict = _root_verdict(verify_book(circuit, vk, snapshot, book, public_key, backend, top_key), root_path,
                            public_key, snapshot, book)
    where = "the top" if verdict.failing_batch is None else f"batch {verdict.failing_batch}"
    payload = {"valid": verdict.valid, "circuit_id": book.circuit_id, "batches": len(book.batches),
               "root": str(book.root.hash), "totals": sums_to_json(book.root.sums),
               "signed_root": None if book.signed_root is None else str(book.signed_root.root),
               **({} if verdict.valid else {"failing_batch": verdict.failing_batch, "reason": verdict.reason})}
    if not verdict.valid:
        emit(as_json, payload, f"INVALID at {where}: {verdict.reason}")
        raise SystemExit(EXIT_NO)
    payload["census"] = census_json(book.root.sums)
    lines = [f"valid: {len(book.batches)} batch proofs and the top" + (" proof" if book.top else " (folded)") +
             f"; every leaf is an account of the venue's signed root {book.signed_root and book.signed_root.root}",
             f"root {book.root.hash}",
             *(f"  {k}: {v}" for k, v in sums_to_json(book.root.sums).items()),
             "census by size (maintenance requirement, price unit): below maintenance, shortfall",
             *(f"  {b.size_range}: {b.below_maintenance}, {format_e32(b.shortfall_e32)}"
               for b in census_by_size(book.root.sums))]
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


def _root_verdict(verdict: BookVerdict, root_path: Path | None, public_key: Any, snapshot: Snapshot,
                  book: AnyBook) -> BookVerdict:
    """verdict, or refused when --root names another signed root than the one the book's leaves are checked
    against."""
    if not verdict.valid or root_path is None:
        return verdict
    signed_root = parse_signed_root(read_json(root_path, "signed root"))
    check_signed_root(signed_root, public_key, snapshot_digest(snapshot))
    if signed_root != book.signed_root:
        return BookVerdict(False, None, f"the book's leaves are checked against another signed root than "
                                        f"{root_path} ({book.signed_root and book.signed_root.root})")
    return verdict


def _report_hidden(book: HiddenBook, verdict: BookVerdict, snapshot: Snapshot, as_json: bool) -> None:
    """Print a hidden book's verdict: per asset, the signed reserves and that they cover the liabilities."""
    payload: dict[str, Any] = {"valid": verdict.valid, "mode": "hidden", "circuit_id": book.circuit_id,
                               "top": book.top.circuit_id, "batches": len(book.batches), "root": str(book.root_hash),
                               "signed_root": None if book.signed_root is None else str(book.signed_root.root)}
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
        if opening.get("merkle_path") is not None:
            check_attested_place(book.signed_root, opening["merkle_path"], path.index)
        else:
            note("the opening holds no membership path (give the venue run bundle as --opening): the book's signed "
                 "root was not compared with the root your membership proofs name")
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
    """An account of the run's plan: its id, the parsed account and its document, its salt, commitment and
    identity (its leaf in the run's signed tree binds the two)."""

    account_id: str
    account: Account
    document: Any
    salt: int
    commitment: int
    identity: int


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
                                    p.commitment, p.identity))
        except (ZkMarginError, IndexError) as exc:
            raise CliError(f"account {p.account_id}: {exc}") from None
    return out


def _run_root(run_dir: Path, planned: list[PlannedEntry], snapshot: Snapshot, signing_key: Any,
              batch_depth: int) -> tuple[SignedRoot, MerkleTree]:
    """The run's signed root (root.json) and its tree: signed by this venue for this snapshot, over the plan's leaves
    in plan order, and at least as deep as a batch; CliError otherwise."""
    path = run_dir / "root.json"
    try:
        signed = parse_signed_root(read_json(path, "signed root"))
        check_signed_root(signed, signing_key.public_key(snapshot.venue), snapshot_digest(snapshot))
    except ZkMarginError as exc:
        raise CliError(f"{path}: {exc}") from None
    if batch_depth > signed.depth:
        raise CliError(f"batches of 2^{batch_depth} accounts do not fit the run's tree of depth {signed.depth}: "
                       "pick a book circuit with B <= 2^depth (or rerun the venue run deeper)")
    tree = MerkleTree(member_leaves([(e.account_id, e.commitment, e.identity) for e in planned]), signed.depth)
    if (signed.leaf_count, signed.root) != (tree.size, tree.root):
        raise CliError(f"{path} is not the root over the run's planned accounts: rerun `zkmargin venue run`")
    return signed, tree


def _stored_batch(batch_dir: Path, index: int, tree: BookTree, batch_depth: int,
                  attested_root: int) -> PublishedBatch | None:
    """Batch index as stored on disk when it is whole and has this tree's root and the run's attested root there
    (its proof not checked yet)."""
    try:
        stored = json.loads((batch_dir / f"{index}.json").read_text())
        root = parse_node(stored["root"], tree.n_assets, f"batch {index}")
        whole = isinstance(stored["proof"], dict) and stored.get("index") == index
        if not whole or (root, stored.get("attested_root")) != (tree.node(batch_depth, index), str(attested_root)):
            return None
        return PublishedBatch(index, root, stored["proof"], attested_root)
    except (OSError, ValueError, KeyError, TypeError, ZkMarginError):
        return None


def _opening(path: Path) -> dict:
    """An opening file, or the opening inside a venue run bundle (with the bundle's Merkle path, if any)."""
    document = read_json(path, "opening")
    if isinstance(document, dict) and isinstance(document.get("opening"), dict):
        opening = document["opening"]
        if not isinstance(opening.get("circuit_id"), str) or not isinstance(opening.get("salt"), str):
            raise CliError(f"{path}: the bundle's opening has no circuit_id or salt")
        membership = None if document.get("merkle_path") is None else _parse(parse_merkle_path,
                                                                             document["merkle_path"], path)
        return {"circuit_id": opening["circuit_id"], "salt": parse_field_element(opening["salt"], "opening salt"),
                "merkle_path": membership}
    return load_opening(path)


def _write_report(path: Path, book: PublishedBook, snapshot: Snapshot, covered: list[AssetCoverage] | None) -> None:
    """The auditor's page: proven totals, the margin-call census by account size (proved per account in the batch
    circuit), the census per batch, and reserves against liabilities."""
    from zkmargin.cli.charts import new_figure, write_html

    sums = book.root.sums
    unit = "price unit"  # the unit prices are quoted in (docs/book.md)
    buckets = census_by_size(sums)
    figure = new_figure(8.0, 9.0 if covered else 6.0)
    rows = 3 if covered else 2
    labels = [b.size_range for b in buckets]
    count_chart = figure.add_subplot(rows, 1, 1)
    count_chart.bar(labels, [b.below_maintenance for b in buckets], color="#c0392b")
    count_chart.set_title(f"accounts below maintenance by size ({sums.below_maintenance} of {sums.accounts})")
    count_chart.set_xlabel(f"size: maintenance requirement ({unit})")
    shortfall_chart = figure.add_subplot(rows, 1, 2)
    shortfall_chart.bar(labels, [float(to_decimal(b.shortfall_e32, 32)) for b in buckets], color="#8e44ad")
    shortfall_chart.set_title(f"shortfall by size ({unit}; total {format_e32(sums.shortfall_e32)})")
    shortfall_chart.set_xlabel(f"size: maintenance requirement ({unit})")
    tables = [("Totals (proved)", ["figure", "value"],
               [[name, value] for name, value in sums_to_json(sums).items()]),
              ("Census", ["", "value"],
               [["accounts", str(sums.accounts)], ["below maintenance", str(sums.below_maintenance)],
                ["share below maintenance",
                 f"{100 * sums.below_maintenance / max(1, sums.accounts):.2f} %"],
                ["total shortfall", format_e32(sums.shortfall_e32)], ["bad debt", format_e32(sums.bad_debt_e32)],
                ["P&L owed", format_e32(sums.pnl_owed_e32)]]),
              ("Census by size (proved): size = maintenance requirement in the price unit, low bound in, high bound out",
               ["size", "below maintenance", "share of margin calls", "shortfall", "share of shortfall"],
               [[b.size_range, str(b.below_maintenance), _share(b.below_maintenance, sums.below_maintenance),
                 format_e32(b.shortfall_e32), _share(b.shortfall_e32, sums.shortfall_e32)] for b in buckets]
               + [["all", str(sums.below_maintenance), _share(sums.below_maintenance, sums.below_maintenance),
                   format_e32(sums.shortfall_e32), _share(sums.shortfall_e32, sums.shortfall_e32)]]),
              ("Per batch", ["batch", "accounts", "below maintenance", "shortfall"],
               [[str(b.index), str(b.root.sums.accounts), str(b.root.sums.below_maintenance),
                 format_e32(b.root.sums.shortfall_e32)] for b in book.batches])]
    if covered:
        chart = figure.add_subplot(rows, 1, 3)
        ratios = [float(c.ratio) if c.ratio is not None else 0.0 for c in covered]
        chart.bar([c.asset for c in covered], ratios, color=["#27ae60" if c.covered else "#c0392b" for c in covered])
        chart.axhline(1.0, color="#222", linewidth=1)
        chart.set_title("reserves / liabilities per asset (signed reserves; 1.0 = fully covered)")
        tables.append(("Reserves (signed by the venue) against liabilities (proved)",
                       ["asset", "reserves", "liabilities", "ratio", "covered"],
                       [[c.asset, format_e8(c.reserves_e8), format_e8(c.liabilities_e8),
                         "-" if c.ratio is None else str(c.ratio), "yes" if c.covered else "NO"] for c in covered]))
    write_html(path, f"Book of {book.snapshot_id}: {book.circuit_id}, root {book.root.hash}", [figure], tables)


def _share(part: int, whole: int) -> str:
    """part / whole as a percentage with two places ("-" when whole is 0)."""
    return "-" if whole == 0 else f"{100 * part / whole:.2f} %"


def _parse(parser: Any, document: Any, path: Path) -> Any:
    try:
        return parser(document)
    except EncodingError as exc:
        raise CliError(f"{path}: {exc}") from None


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode()
