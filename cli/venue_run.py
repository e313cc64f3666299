"""`zkmargin venue run`: the options of a venue run, its progress on stderr and its summary (the run itself is
zkmargin.circuits.venue_job.run_venue, which documents the output directory)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from zkmargin.circuits.proving import parse_field_element
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.circuits.venue_job import CHUNKS_PER_WORKER, DEFAULT_DEPTH, MAX_CHUNK, run_venue
from zkmargin.cli.inputs import circuit_option, identities_option, load_signing_key, open_identity_registry
from zkmargin.cli.keystore import KeyStore, digest_option, parse_digest
from zkmargin.cli.output import EXIT_ERROR, ProgressBar, emit, json_option, note
from zkmargin.margin.models import load_snapshot
from zkmargin.venue.tree import check_depth


@click.command("run")
@click.argument("accounts_path", metavar="ACCOUNTS", type=click.Path(path_type=Path))
@click.argument("snapshot_path", metavar="SNAPSHOT", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--keys", "bundle_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The key bundle directory (from `zkmargin setup`) of --circuit.")
@click.option("--signing-key", "key_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The venue's private key (PEM, from `zkmargin venue keygen`); it never leaves this process.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output directory; rerunning the same command resumes there.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="A Dask scheduler address (tcp://host:8786); default: a LocalCluster on this machine.")
@click.option("--workers", type=click.IntRange(1, 4096), default=None,
              help="LocalCluster worker processes (default: one per core); ignored with --scheduler.")
@click.option("--depth", default=DEFAULT_DEPTH, show_default=True, type=click.IntRange(1, 32),
              help="Merkle tree depth: room for 2^depth accounts.")
@click.option("--context", "context_text", default=None,
              help="The context every proof carries (default: derived from the snapshot digest).")
@click.option("--chunk-size", type=click.IntRange(1, 10_000), default=None,
              help=f"Accounts per task (default: about {CHUNKS_PER_WORKER} tasks per worker, at most {MAX_CHUNK}).")
@identities_option
@digest_option
@circuit_option
@json_option
@click.pass_context
def run(ctx: click.Context, accounts_path: Path, snapshot_path: Path, bundle_dir: Path, key_path: Path,
        out_dir: Path, scheduler: str | None, workers: int | None, depth: int, context_text: str | None,
        chunk_size: int | None, registry_path: Path | None, vk_digest_text: str | None, circuit_id: str,
        as_json: bool) -> None:
    """Commit, attest and prove every account of ACCOUNTS (JSONL or a directory of .json) under SNAPSHOT.

    Exit 0 when every well-formed healthy account has its bundle; 2 when some input was malformed
    or some proof failed (rerun the same command to resume: nothing is proved twice). With --identities,
    an account whose identity the registry does not hold for it is skipped by line like a malformed one.
    """
    backend = ctx.obj.backend
    snapshot = load_snapshot(snapshot_path)
    circuit = circuit_from_id(circuit_id)
    circuit.snapshot_inputs(snapshot)  # refuses a snapshot the circuit cannot hold, before any work
    check_depth(depth)
    signing_key = load_signing_key(key_path)
    registry = open_identity_registry(registry_path, snapshot.venue)
    store = KeyStore(ctx.obj.cache_dir, circuit, bundle_dir)
    expected_digest = parse_digest(vk_digest_text, "--vk-digest") if vk_digest_text else None
    # The bundle is checked here, before anything is written; the workers get these very bytes (they decode
    # them unchecked), never a second read of the file, which could have been replaced since.
    pk, pk_bytes = store.load_proving_key_and_bytes(backend, expected_digest)
    context = parse_field_element(context_text, "--context") if context_text else None
    with contextlib.ExitStack() as stack:
        # Progress bars only for a person at a terminal: never under --json, nor when stderr is piped.
        bars = {phase: stack.enter_context(ProgressBar(phase, quiet=as_json)) for phase in ("committing", "proving")}

        def progress(phase: str, done: int, total: int) -> None:
            bars[phase](done, total)
            if done >= total:
                bars[phase].__exit__(None, None, None)  # a finished phase's bar ends its line before the next notes

        result = run_venue(accounts_path, snapshot, out_dir, circuit_id=circuit.circuit_id, pk=pk, pk_bytes=pk_bytes,
                           vk_digest=store.recorded_digest(), signing_key=signing_key, backend=backend, depth=depth,
                           context=context, scheduler=scheduler, workers=workers, chunk_size=chunk_size,
                           registry=registry, progress=progress, note=note)
    summary, failed = result.summary, result.failed
    text = (f"{summary['accounts']['healthy']} healthy ({result.proved} proved now, "
            f"{summary['accounts']['already_done']} already done, {len(failed)} failed), "
            f"{summary['accounts']['margin_call']} under margin call, {summary['accounts']['malformed']} malformed; "
            f"root {result.root}; summary in {out_dir / 'summary.json'}")
    for item in result.malformed:
        note(f"skipped {item['source']}: {item['error']}")
    for item in failed:
        note(f"failed {item['account_id']}: {item['error']}")
    emit(as_json, summary, text)
    if not result.complete:
        if failed:
            note("rerun the same command to prove the failed accounts (nothing is proved twice)")
        raise SystemExit(EXIT_ERROR)
