"""Every margin model at N = 64 positions, K = 8 assets: constraints, public inputs, setup, prove, verify.

Usage: python bench/models.py [--reps 2] [--out bench/results/models.json]
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
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cross import market  # noqa: E402

from zkmargin.backends import get_backend  # noqa: E402
from zkmargin.circuits.proving import prove_account, verify_account_proof  # noqa: E402
from zkmargin.circuits.registry import circuit_from_id  # noqa: E402
from zkmargin.groth16 import setup  # noqa: E402
from zkmargin.margin.models import Account, RiskParams, Tier  # noqa: E402

if TYPE_CHECKING:
    from zkmargin.margin.models import Snapshot

E8 = 10**8
CIRCUITS = ("cross-n64-k8", "isolated-n64-k8", "tiered-n64-k8-t4", "portfolio-n64-k8")


def model_market(circuit_id: str) -> tuple[Snapshot, Account]:
    """A 64-instrument snapshot with what the model reads, and a healthy account holding every instrument."""
    snapshot, account = market(64, 8, random.Random(64))
    if circuit_id.startswith("tiered"):
        tiers = (Tier(0, 10**5 * E8, E8 // 200, 0), Tier(10**5 * E8, 10**6 * E8, E8 // 100, 500 * E8),
                 Tier(10**6 * E8, 10**7 * E8, E8 // 50, 10_500 * E8), Tier(10**7 * E8, 2**64 - 1, E8 // 20, 310_500 * E8))
        snapshot = replace(snapshot, instruments=tuple(replace(q, tiers=tiers) for q in snapshot.instruments))
    if circuit_id.startswith("portfolio"):
        snapshot = replace(snapshot, instruments=tuple(
            replace(q, risk=RiskParams("perpetual", q.mark_price_e8, E8 // 10, E8 // 20, 2 * E8, 35 * E8 // 100))
            for q in snapshot.instruments))
    if circuit_id.startswith("isolated"):
        positions = tuple(
            replace(p, isolated_asset=snapshot.assets[0].asset, isolated_amount_e8=10**7 * E8) if i % 2 else p
            for i, p in enumerate(account.positions))
        account = Account(account.account_id, account.collateral, positions)
    return snapshot, account


def run(circuit_id: str, reps: int) -> dict:
    """Setup once, prove and verify reps times (after a warm-up proof)."""
    snapshot, account = model_market(circuit_id)
    return measure(circuit_id, snapshot, account, reps)


def measure(circuit_id: str, snapshot: Snapshot, account: Account, reps: int) -> dict:
    """Compile and set up once, prove and verify reps times after a warm-up proof (arkworks)."""
    backend = get_backend("arkworks")
    circuit = circuit_from_id(circuit_id)
    t = time.perf_counter()
    compiled = circuit.compile()
    compile_s = time.perf_counter() - t
    t = time.perf_counter()
    pk = setup(compiled, backend=backend)
    setup_s = time.perf_counter() - t
    proves, verifies = [], []
    for rep in range(reps + 1):
        t = time.perf_counter()
        proof, public = prove_account(circuit, pk, account, snapshot, 99 + rep, 5, backend)
        proved = time.perf_counter() - t
        t = time.perf_counter()
        if not verify_account_proof(circuit, pk.vk, snapshot, public.commitment, 5, proof, backend):
            raise SystemExit(f"{circuit_id}: proof did not verify")
        if rep:
            proves.append(proved)
            verifies.append(time.perf_counter() - t)
    return {"circuit_id": circuit_id, "constraints": compiled.num_constraints, "public_inputs": compiled.num_public,
            "compile_s": compile_s, "setup_s": setup_s, "prove_ms": statistics.median(proves) * 1000,
            "verify_ms": statistics.median(verifies) * 1000}


def main() -> None:
    """Run, print, write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "models.json")
    args = parser.parse_args()
    rows = []
    print(f"{'circuit':<18} {'constraints':>11} {'public':>6} {'setup s':>8} {'prove ms':>9} {'verify ms':>9}")
    for circuit_id in CIRCUITS:
        row = run(circuit_id, args.reps)
        rows.append(row)
        print(f"{circuit_id:<18} {row['constraints']:>11} {row['public_inputs']:>6} {row['setup_s']:>8.2f} "
              f"{row['prove_ms']:>9.1f} {row['verify_ms']:>9.2f}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(), "rows": rows}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
