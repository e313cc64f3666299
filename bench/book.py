"""The book's batch proofs, dense and sparse, against a trader's own proof, in one run; a book end to end on a
LocalCluster; and a projection to 1,000,000 accounts on 64 cores.

Sample snapshot (6 instruments, 4 assets), random accounts of it (0-3 positions, healthy, under maintenance and
underwater alike). Each book id book-cross-<capacity>-b<B> is measured against its own trader's circuit
cross-<capacity> (dense n8-k4: every instrument a slot; sparse n1024-p16-k8: 16 held slots reading a 1024-row
table, the table padded; sparse n8-p4-k4: the small sparse id). Per id: constraints, setup, batch prove (witness +
Groth16; median of --reps, one rep from B = 16), per-account prove and its ratio to the trader's own proof (median
of --reps after a warm-up), batch verify, and the native top's hash cost.
End to end: `zkmargin venue run` (library run_venue) of --cluster-accounts accounts under the trader circuit, then
`zkmargin venue book prove` and `venue book verify` (the CLI, as a venue runs them) with --cluster-id on a
LocalCluster of --workers workers.
Projection for 1,000,000 accounts on C cores, as bench/venue.py: proving per worker from the measured time (in
process: batches * batch prove / C; cluster: the book prove phase's accounts per second per worker), plus the top's
hashes on one core (2 * 1e6 / B node hashes: the tree above the batches and the verifier's recomputation).

Usage: python bench/book.py [--ids book-cross-n8-k4-b8 ...] [--reps 2] [--cluster-id ID] [--cluster-accounts 256]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zkmargin.backends import get_backend  # noqa: E402
from zkmargin.book.batches import top_node  # noqa: E402
from zkmargin.circuits.book_proving import book_statement, prove_batch, verify_batch  # noqa: E402
from zkmargin.circuits.proving import prove_account  # noqa: E402
from zkmargin.circuits.registry import circuit_from_id  # noqa: E402
from zkmargin.circuits.venue_job import run_venue  # noqa: E402
from zkmargin.cli.keystore import KeyStore  # noqa: E402
from zkmargin.gadgets.merkle import identity_commitment  # noqa: E402
from zkmargin.groth16 import ProvingKey  # noqa: E402
from zkmargin.margin.models import Account, Collateral, Position, account_to_json, snapshot_to_json  # noqa: E402
from zkmargin.margin.samples import sample_account, sample_snapshot  # noqa: E402
from zkmargin.venue.attestation import VenueSigningKey, public_key_to_json  # noqa: E402

MILLION = 1_000_000
CORES = (64, 512)
TARGET_S = 3600
DEFAULT_IDS = ("book-cross-n1024-p16-k8-b8", "book-cross-n1024-p16-k8-b16", "book-cross-n8-k4-b8",
               "book-cross-n8-k4-b16", "book-cross-n8-p4-k4-b8")
LATE_IDS = ("book-cross-n8-k4-b64", "book-cross-n1024-p16-k8-b64")
"""Measured after the end-to-end run (the largest: a shared machine may not finish them; the file is written
after every step)."""


def population(n: int, rng: random.Random) -> list[Account]:
    """n random accounts of the sample snapshot: a few positions and balances each, some far from healthy."""
    snapshot = sample_snapshot()
    out = []
    for i in range(n):
        positions = tuple(Position(q.instrument, rng.choice((-1, 1)) * rng.randint(1, 5 * 10**8),
                                   q.mark_price_e8 * rng.randint(80, 120) // 100)
                          for q in rng.sample(snapshot.instruments, rng.randint(0, 3)))
        collateral = tuple(Collateral(a.asset, rng.randint(0, 10**12)) for a in rng.sample(snapshot.assets, 2))
        out.append(Account(f"acct-{i}", collateral, positions))
    return out


def trader_id(book_id: str) -> str:
    """The trader's circuit of a book id: book-cross-<capacity>-b<B> -> cross-<capacity>."""
    match = re.fullmatch(r"book-(cross-.+)-b[0-9]+", book_id)
    if match is None:
        raise SystemExit(f"not a book id: {book_id}")
    return match.group(1)


def keys(work: Path, circuit_id: str, backend: object) -> tuple[KeyStore, ProvingKey]:
    """A key bundle in work/cache and its proving key (setup once: the in-process runs and the CLI share it)."""
    store = KeyStore(work / "cache", circuit_from_id(circuit_id))
    if circuit_id not in _made:
        _made[circuit_id] = store.generate(backend)
    return store, _made[circuit_id]


_made: dict[str, ProvingKey] = {}


def measure_trader(work: Path, circuit_id: str, reps: int, backend: object) -> dict:
    """The trader's own proof of the sample's healthy account: median of reps after a warm-up."""
    circuit = circuit_from_id(circuit_id)
    pk = keys(work, circuit_id, backend)[1]
    snapshot = sample_snapshot()
    times = []
    for rep in range(reps + 1):
        started = time.perf_counter()
        prove_account(circuit, pk, sample_account("healthy"), snapshot, 10**9 + rep, 42, backend)
        if rep:
            times.append(time.perf_counter() - started)
    return {"circuit_id": circuit_id, "constraints": circuit.compile().num_constraints,
            "prove_s": round(statistics.median(times), 4)}


def measure_batch(work: Path, book_id: str, reps: int, trader: dict, rng: random.Random, backend: object) -> dict:
    """Constraints, setup, batch prove and verify of one book id, per account against the trader's proof."""
    circuit = circuit_from_id(book_id)
    statement = book_statement(circuit)
    size = statement.batch_size
    started = time.perf_counter()
    constraints = circuit.compile().num_constraints
    compile_s = time.perf_counter() - started
    started = time.perf_counter()
    pk = keys(work, book_id, backend)[1]
    setup_s = time.perf_counter() - started
    snapshot = sample_snapshot()
    accounts = [(a, 10**9 + i, identity_commitment(1 + i)) for i, a in enumerate(population(size, rng))]
    prove_s, verify_s = [], []
    for rep in range(reps if size < 16 else 1):
        started = time.perf_counter()
        node, attested, proof = prove_batch(circuit, pk, snapshot, rep, accounts, backend)
        prove_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        if not verify_batch(circuit, pk.vk, snapshot, rep, node, attested, proof, backend):
            raise SystemExit(f"{book_id}: a batch proof did not verify")
        verify_s.append(time.perf_counter() - started)
    hashes = 64
    started = time.perf_counter()
    top_node([node] * hashes, statement.batch_depth, statement.batch_depth + 6, statement.n_collateral)
    hash_s = (time.perf_counter() - started) / (hashes - 1)
    batch_prove = statistics.median(prove_s)
    per_account = batch_prove / size
    batches = -(-MILLION // size)
    return {"circuit_id": book_id, "trader": trader["circuit_id"], "batch_size": size, "constraints": constraints,
            "constraints_per_account": constraints // size,
            "constraints_per_account_over_trader": round(constraints / size / trader["constraints"], 2),
            "compile_s": round(compile_s, 1), "setup_s": round(setup_s, 1), "batch_prove_s": round(batch_prove, 3),
            "prove_reps": len(prove_s), "per_account_s": round(per_account, 4),
            "per_account_over_trader": round(per_account / trader["prove_s"], 2),
            "batch_verify_s": round(statistics.median(verify_s), 4), "top_hash_s": round(hash_s, 5),
            "million_accounts_s": {cores: round(batches * batch_prove / cores + 2 * batches * hash_s, 1)
                                   for cores in CORES}}


def zkmargin(work: Path, *args: str) -> dict:
    """Run the CLI as a venue does (its own process) and return its --json answer."""
    command = shutil.which("zkmargin", path=str(Path(sys.executable).parent)) or "zkmargin"  # the console script
    done = subprocess.run([command, "--cache-dir", str(work / "cache"), *args, "--json"], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"zkmargin {' '.join(args[:3])} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return json.loads(done.stdout)


def end_to_end(work: Path, book_id: str, n_accounts: int, workers: int, backend: object) -> dict:
    """venue run, then venue book prove and verify on a LocalCluster: seconds per phase."""
    snapshot = sample_snapshot()
    accounts = population(n_accounts, random.Random(2027))
    lines = [{**account_to_json(a), "identity": str(identity_commitment(10**9 + i))} for i, a in enumerate(accounts)]
    (work / "accounts.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (work / "snapshot.json").write_text(json.dumps(snapshot_to_json(snapshot)))
    key = VenueSigningKey.generate()
    (work / "venue.key").write_bytes(key.to_pem())
    (work / "venue.pub.json").write_text(json.dumps(public_key_to_json(key.public_key(snapshot.venue))))
    trader = keys(work, trader_id(book_id), backend)[0]
    pk, pk_bytes = trader.load_proving_key_and_bytes(backend)
    book_keys = keys(work, book_id, backend)[0]
    depth = max(4, (n_accounts - 1).bit_length())
    started = time.perf_counter()
    run = run_venue(work / "accounts.jsonl", snapshot, work / "run", circuit_id=trader_id(book_id), pk=pk,
                    pk_bytes=pk_bytes, vk_digest=trader.recorded_digest(), signing_key=key, backend=backend,
                    depth=depth, workers=workers)
    run_s = time.perf_counter() - started
    if not run.complete:
        raise SystemExit(f"venue run failed: {run.failed or run.malformed}")
    started = time.perf_counter()
    proved = zkmargin(work, "venue", "book", "prove", str(work / "run"), str(work / "accounts.jsonl"),
                      str(work / "snapshot.json"), "--keys", str(book_keys.directory), "--signing-key",
                      str(work / "venue.key"), "--out", str(work / "book"), "--circuit", book_id, "--workers",
                      str(workers))
    book_s = time.perf_counter() - started
    started = time.perf_counter()
    verified = zkmargin(work, "venue", "book", "verify", str(work / "book" / "book.json"), str(work / "snapshot.json"),
                        "--keys", str(book_keys.directory), "--public-key", str(work / "venue.pub.json"))
    verify_s = time.perf_counter() - started
    if not verified["valid"] or proved["accounts"] != n_accounts:
        raise SystemExit(f"the book did not verify: {verified}")
    prove_phase = proved["seconds"]["prove"]
    per_worker_account_s = prove_phase * workers / n_accounts
    return {"circuit_id": book_id, "accounts": n_accounts, "workers": workers, "batches": proved["batches"],
            "venue_run_s": round(run_s, 1), "book_prove_command_s": round(book_s, 1),
            "book_prove_phase_s": round(prove_phase, 1), "book_verify_command_s": round(verify_s, 1),
            "accounts_per_s": round(n_accounts / prove_phase, 3),
            "per_worker_account_s": round(per_worker_account_s, 4)}


def main() -> None:
    """Run everything, print the tables, write JSON (the previous figures kept under their commit)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", nargs="+", default=list(DEFAULT_IDS))
    parser.add_argument("--late-ids", nargs="*", default=list(LATE_IDS))
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--cluster-id", default="book-cross-n1024-p16-k8-b16")
    parser.add_argument("--cluster-accounts", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep-key", default=None, metavar="KEY",
                        help="Keep the previous results file's figures under this key (e.g. the commit they came from).")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "book.json")
    args = parser.parse_args()
    backend = get_backend()
    work = Path(tempfile.mkdtemp(prefix="zkmargin-book-bench-"))
    rng = random.Random(27)
    ids = [*args.ids, *args.late_ids]
    traders = {t: measure_trader(work, t, args.reps, backend) for t in dict.fromkeys(map(trader_id, ids))}
    result: dict = {"traders": list(traders.values()), "batches": [], "end_to_end": None,
                    "million_accounts_s_from_cluster": None}
    rows = result["batches"]
    for book_id in args.ids:
        rows.append(measure_batch(work, book_id, args.reps, traders[trader_id(book_id)], rng, backend))
        print(json.dumps(rows[-1]), flush=True)
        write_results(args.out, result, args.keep_key)
    cluster = end_to_end(work, args.cluster_id, args.cluster_accounts, args.workers, backend) \
        if args.cluster_accounts else None
    hash_s = next((r["top_hash_s"] for r in rows if r["circuit_id"] == args.cluster_id), rows[-1]["top_hash_s"])
    projection = None
    if cluster is not None:
        size = book_statement(circuit_from_id(args.cluster_id)).batch_size
        projection = {cores: round(MILLION * cluster["per_worker_account_s"] / cores
                                   + 2 * -(-MILLION // size) * hash_s, 1) for cores in CORES}
        print(json.dumps(cluster), flush=True)
    result.update({"end_to_end": cluster, "million_accounts_s_from_cluster": projection})
    write_results(args.out, result, args.keep_key)
    for book_id in args.late_ids:
        rows.append(measure_batch(work, book_id, args.reps, traders[trader_id(book_id)], rng, backend))
        print(json.dumps(rows[-1]), flush=True)
        write_results(args.out, result, args.keep_key)

    for t in traders.values():
        print(f"trader {t['circuit_id']}: {t['constraints']} constraints, prove {t['prove_s']:.3f} s")
    print(f"{'circuit':<30}{'constr':>9}{'/acct':>7}{'x tr':>6}{'setup s':>9}{'batch s':>9}{'acct s':>8}"
          f"{'x trader':>9}{'verify s':>10}{'1M@64 h':>9}")
    for r in rows:
        print(f"{r['circuit_id']:<30}{r['constraints']:>9}{r['constraints_per_account']:>7}"
              f"{r['constraints_per_account_over_trader']:>6}{r['setup_s']:>9}{r['batch_prove_s']:>9}"
              f"{r['per_account_s']:>8}{r['per_account_over_trader']:>9}{r['batch_verify_s']:>10}"
              f"{r['million_accounts_s'][64] / 3600:>9.2f}")
    if cluster is not None:
        print(f"end to end, {cluster['accounts']} accounts, {cluster['circuit_id']}, {cluster['workers']} workers: "
              f"venue run {cluster['venue_run_s']} s, book prove {cluster['book_prove_command_s']} s (proving "
              f"{cluster['book_prove_phase_s']} s, {cluster['accounts_per_s']} accounts/s), verify "
              f"{cluster['book_verify_command_s']} s")
        print("projection for 1,000,000 accounts from the cluster run: "
              + ", ".join(f"{c} cores {s / 3600:.2f} h" for c, s in projection.items()))


def write_results(out: Path, result: dict, keep_key: str | None) -> None:
    """The results so far, with the figures of earlier runs kept: those under before_* keys, and with keep_key the
    file's other figures the first time (a run's later writes find its own figures there and replace them)."""
    previous = json.loads(out.read_text()) if out.exists() else {}
    kept = {k: v for k, v in previous.items() if k.startswith("before_")}
    if keep_key and keep_key not in kept and previous:
        kept[keep_key] = {k: v for k, v in previous.items() if not k.startswith("before_")}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_average": os.getloadavg()},
        **result, "target_s": TARGET_S, **kept}, indent=2) + "\n")


if __name__ == "__main__":
    main()
