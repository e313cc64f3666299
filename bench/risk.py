"""Risk-based margin: the es / var statements at N = 64, K = 8 (S = 250, 500) beside cross, and the cascade at 100,000 accounts.

Usage: python bench/risk.py [--reps 2] [--accounts 100000] [--skip-circuits] [--out bench/results/risk.json]
Figures from one run, on whatever load the machine carries: compare the rows as ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from zkmargin.margin.cascade import generate_population, load_population, run_cascade  # noqa: E402
from zkmargin.margin.samples import sample_snapshot  # noqa: E402

E8 = 10**8
CIRCUITS = ("cross-n64-k8", "es-n64-k8-s250", "es-n64-k8-s500", "var-n64-k8-s250")


def circuit_row(circuit_id: str, reps: int) -> dict:
    """The models bench's measurement on the cross bench's 64-instrument market, with synthetic scenarios."""
    from cross import market
    from models import measure

    from zkmargin.circuits.registry import circuit_from_id
    from zkmargin.margin.var import with_scenarios

    statement = circuit_from_id(circuit_id).statement
    snapshot, account = market(statement.n_positions, statement.n_collateral, random.Random(64))
    if not circuit_id.startswith("cross"):
        snapshot = with_scenarios(snapshot, statement.n_scenarios,
                                  975 * 10**5 if statement.model == "es" else 99 * 10**6, seed=250)
    return measure(circuit_id, snapshot, account, reps)


def cascade_row(accounts: int) -> dict:
    """Generate, write, load (parse and validate every account) and simulate a cascade over the population."""
    snapshot = sample_snapshot()
    t = time.perf_counter()
    documents = generate_population(snapshot, accounts, seed=1)
    generate_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "accounts.jsonl"
        path.write_text("".join(json.dumps(d, separators=(",", ":")) + "\n" for d in documents))
        t = time.perf_counter()
        population = load_population(path, snapshot)
        load_s = time.perf_counter() - t
    t = time.perf_counter()
    depth = {"BTC": 5e7, "ETH": 5e7, "SOL": 2e7, "DOGE": 1e7}
    report = run_cascade(population, snapshot, {"BTC": -12 * 10**6, "ETH": -15 * 10**6}, depth)
    simulate_s = time.perf_counter() - t
    return {"accounts": accounts, "generate_s": generate_s, "load_s": load_s, "simulate_s": simulate_s,
            "cascade_s": load_s + simulate_s, "rounds": len(report.rounds),
            "accounts_liquidated": report.accounts_liquidated}


def main() -> None:
    """Run, print, write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--skip-circuits", action="store_true")
    parser.add_argument("--circuits", nargs="+", default=list(CIRCUITS), help="Circuit ids (cross first: the ratios).")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "risk.json")
    args = parser.parse_args()
    rows = []
    if not args.skip_circuits:
        print(f"{'circuit':<18} {'constraints':>11} {'public':>6} {'setup s':>8} {'prove ms':>9} {'verify ms':>9} "
              f"{'prove/cross':>11}")
        for circuit_id in args.circuits:
            row = circuit_row(circuit_id, args.reps)
            row["prove_vs_cross"] = row["prove_ms"] / rows[0]["prove_ms"] if rows else 1.0
            rows.append(row)
            print(f"{circuit_id:<18} {row['constraints']:>11} {row['public_inputs']:>6} {row['setup_s']:>8.2f} "
                  f"{row['prove_ms']:>9.1f} {row['verify_ms']:>9.2f} {row['prove_vs_cross']:>11.2f}", flush=True)
    cascade = cascade_row(args.accounts)
    print(f"cascade over {cascade['accounts']:,} accounts: load {cascade['load_s']:.1f} s + simulate "
          f"{cascade['simulate_s']:.2f} s = {cascade['cascade_s']:.1f} s ({cascade['rounds']} rounds, "
          f"{cascade['accounts_liquidated']:,} liquidated; generating them took {cascade['generate_s']:.1f} s)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(), "load_average_1m": load,
                                    "circuits": rows, "cascade": cascade}, indent=1))
    print(f"wrote {args.out} (1-minute load average {load})")


if __name__ == "__main__":
    main()
