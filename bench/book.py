"""The book's batch proofs against a trader's own proof, in one run, and a projection to 1,000,000 accounts.

Sample snapshot (6 instruments, 4 assets): the trader proves cross-n8-k4; the venue proves
book-cross-n8-k4-b<B> over random accounts of that snapshot (healthy, under maintenance and
underwater alike). Per B: constraints, setup, batch prove (witness + Groth16), per-account prove
time and its ratio to the trader's own proof, batch verify, and the native top's hash cost.
In-process, one batch at a time (a LocalCluster only divides the batches among cores).
Projection for 1,000,000 accounts on C cores: batches * batch prove / C + the top's hashes on one
core (2 * 1e6 / B node hashes: the tree above the batches, plus the verifier's recomputation).

Usage: python bench/book.py [--batches 8 16] [--reps 2] [--out bench/results/book.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zkmargin.backends import get_backend  # noqa: E402
from zkmargin.book.batches import top_node  # noqa: E402
from zkmargin.circuits.book_proving import prove_batch, verify_batch  # noqa: E402
from zkmargin.circuits.proving import prove_account  # noqa: E402
from zkmargin.circuits.registry import circuit_from_id  # noqa: E402
from zkmargin.gadgets.merkle import identity_commitment  # noqa: E402
from zkmargin.groth16 import setup  # noqa: E402
from zkmargin.margin.models import Account, Collateral, Position  # noqa: E402
from zkmargin.margin.samples import sample_account, sample_snapshot  # noqa: E402

MILLION = 1_000_000
TRADER = "cross-n8-k4"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "book.json")
    args = parser.parse_args()
    backend = get_backend()
    snapshot = sample_snapshot()
    rng = random.Random(27)

    trader = circuit_from_id(TRADER)
    trader_pk = setup(trader.compile(), random.Random(1), backend)
    trader_s = []
    for rep in range(args.reps + 1):
        started = time.perf_counter()
        prove_account(trader, trader_pk, sample_account("healthy"), snapshot, 10**9 + rep, 42, backend)
        if rep:  # the first is a warm-up
            trader_s.append(time.perf_counter() - started)
    trader_median = statistics.median(trader_s)

    rows = []
    for size in args.batches:
        circuit = circuit_from_id(f"book-cross-n8-k4-b{size}")
        started = time.perf_counter()
        pk = setup(circuit.compile(), random.Random(2), backend)
        setup_s = time.perf_counter() - started
        accounts = [(a, 10**9 + i, identity_commitment(1 + i)) for i, a in enumerate(population(size, rng))]
        prove_s, verify_s = [], []
        for rep in range(args.reps):
            started = time.perf_counter()
            node, attested, proof = prove_batch(circuit, pk, snapshot, rep, accounts, backend)
            prove_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            assert verify_batch(circuit, pk.vk, snapshot, rep, node, attested, proof, backend)
            verify_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        hashes = 64
        top_node([node] * hashes, circuit.statement.batch_depth, circuit.statement.batch_depth + 6, 4)
        hash_s = (time.perf_counter() - started) / (hashes - 1)
        batch_prove = statistics.median(prove_s)
        per_account = batch_prove / size
        batches = -(-MILLION // size)
        projection = {cores: round(batches * batch_prove / cores + 2 * batches * hash_s, 1) for cores in (64, 512)}
        rows.append({"circuit_id": circuit.circuit_id, "batch_size": size,
                     "constraints": circuit.compile().num_constraints, "setup_s": round(setup_s, 2),
                     "batch_prove_s": round(batch_prove, 3), "per_account_s": round(per_account, 4),
                     "per_account_over_trader": round(per_account / trader_median, 2),
                     "batch_verify_s": round(statistics.median(verify_s), 4), "top_hash_s": round(hash_s, 5),
                     "million_accounts_s": projection})

    print(f"trader's own proof ({TRADER}, {trader.compile().num_constraints} constraints): "
          f"{trader_median:.3f} s (median of {args.reps})")
    print(f"{'circuit':<22}{'constr':>9}{'setup s':>9}{'batch s':>9}{'acct s':>9}{'x trader':>9}{'verify s':>10}"
          f"{'1M@64 s':>10}{'1M@512 s':>10}")
    for r in rows:
        print(f"{r['circuit_id']:<22}{r['constraints']:>9}{r['setup_s']:>9}{r['batch_prove_s']:>9}"
              f"{r['per_account_s']:>9}{r['per_account_over_trader']:>9}{r['batch_verify_s']:>10}"
              f"{r['million_accounts_s'][64]:>10}{r['million_accounts_s'][512]:>10}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "trader": {"circuit_id": TRADER, "constraints": trader.compile().num_constraints,
                   "prove_s": round(trader_median, 3)},
        "batches": rows}, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
