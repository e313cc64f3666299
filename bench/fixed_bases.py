"""Fixed-base tables for a proving key's queries: prove cross-n64-k8 with and without them in one process.

Proves the same account --reps times each way, alternating (tables off: budget 0; on: the default or
--budget-mb), so both see the same load on a shared machine; reports the median wall and CPU time of a
proof and of its MSMs, the tables' size and build time, checks the proofs are byte-identical, and
tabulates what the tables of cross-n<N>-k8 keys cost in MB (unlimited, and within the budget).
Prints a table, writes JSON.

Usage: python bench/fixed_bases.py [--n 64] [--reps 5] [--budget-mb MB] [--shapes 64,256,1016]
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cross import market  # noqa: E402

from zkmargin.backends import get_backend  # noqa: E402
from zkmargin.circuits.proving import prepare_proof  # noqa: E402
from zkmargin.circuits.registry import circuit_from_id  # noqa: E402
from zkmargin.groth16 import prove, setup  # noqa: E402
from zkmargin.groth16.query_bases import key_table_megabytes, precompute, precompute_budget_mb  # noqa: E402
from zkmargin.groth16.serialization import pk_from_bytes, pk_to_bytes, proof_to_bytes  # noqa: E402


def _domain(constraints: int, public: int) -> int:
    size = 1
    while size < constraints + public + 1:
        size *= 2
    return size


def main() -> None:
    """Prove both ways (the witness once, outside the timing), print, write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--budget-mb", type=float, default=None, help="default: $ZKMARGIN_PRECOMPUTE_MB or 256")
    parser.add_argument("--shapes", default="64,256,1016", help="cross-n<N>-k8 keys to size tables for")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "fixed_bases.json")
    args = parser.parse_args()
    budget = precompute_budget_mb(args.budget_mb)
    backend = get_backend("arkworks")
    circuit = circuit_from_id(f"cross-n{args.n}-k8")
    snapshot, account = market(args.n, 8, random.Random(args.n))
    compiled = circuit.compile()
    pk = setup(compiled, backend=backend)
    # Two key objects from the same bytes: each keeps its own prepared bases, one with tables and one without.
    key_bytes = pk_to_bytes(pk, backend)
    keys = {"off": pk_from_bytes(key_bytes, backend), "on": pk_from_bytes(key_bytes, backend)}
    precompute(keys["off"], backend, 0)
    t = time.perf_counter()
    tables_mb = precompute(keys["on"], backend, budget) / 2**20
    build_s = time.perf_counter() - t

    public, witness = prepare_proof(circuit, account, snapshot, 1000, 42)
    z = circuit.witness_assignment(public, witness)
    runs: dict[str, list[tuple[float, float, float]]] = {"off": [], "on": []}
    proofs: dict[str, set[bytes]] = {"off": set(), "on": set()}
    for rep in range(args.reps + 1):  # the first round warms caches up and is not counted
        for label, mb in (("off", 0.0), ("on", budget)):
            timings: dict[str, float] = {}
            t, cpu = time.perf_counter(), time.process_time()
            # The same blinding (rng seed) both ways: the proofs must be the same bytes.
            proof = prove(keys[label], compiled, z, random.Random(rep), backend, timings, precompute_mb=mb)
            wall, cpu = time.perf_counter() - t, time.process_time() - cpu
            msm = sum(v for key, v in timings.items() if key.startswith("msm_") and key != "msm_wall")
            proofs[label].add(proof_to_bytes(proof, backend))
            if rep:
                runs[label].append((wall, cpu, msm))
    if proofs["off"] != proofs["on"]:
        raise SystemExit("proofs with and without tables differ")

    def median(label: str, k: int) -> float:
        return statistics.median(r[k] for r in runs[label]) * 1000

    rows = {
        "circuit_id": circuit.circuit_id,
        "constraints": compiled.num_constraints,
        "budget_mb": budget,
        "tables_mb": tables_mb,
        "tables_build_s": build_s,
        **{f"prove_{what}_ms_{label}": median(label, k) for label in runs for k, what in enumerate(("wall", "cpu", "msm"))},
    }
    rows["prove_cpu_off_over_on"] = rows["prove_cpu_ms_off"] / rows["prove_cpu_ms_on"]
    rows["prove_wall_off_over_on"] = rows["prove_wall_ms_off"] / rows["prove_wall_ms_on"]
    rows["msm_off_over_on"] = rows["prove_msm_ms_off"] / rows["prove_msm_ms_on"]
    shapes = {}
    for n in (int(x) for x in args.shapes.split(",") if x):
        shape = circuit_from_id(f"cross-n{n}-k8").compile() if n != args.n else compiled
        domain = _domain(shape.num_constraints, shape.num_public)
        shapes[n] = {"unlimited_mb": key_table_megabytes(shape.num_variables, shape.num_public, domain, 1e12),
                     "within_budget_mb": key_table_megabytes(shape.num_variables, shape.num_public, domain, budget)}
    rows["table_mb_by_n"] = shapes
    rows["load_average_1min"] = os.getloadavg()[0]
    print(f"{circuit.circuit_id}: tables {tables_mb:.0f} MB (budget {budget:.0f} MB), built in {build_s:.1f} s")
    print(f"{'':>12} {'prove ms':>9} {'CPU ms':>8} {'MSM ms':>8}")
    for label in runs:
        print(f"{'tables ' + label:>12} {median(label, 0):>9.0f} {median(label, 1):>8.0f} {median(label, 2):>8.0f}")
    print(f"off / on: wall {rows['prove_wall_off_over_on']:.2f}x, CPU {rows['prove_cpu_off_over_on']:.2f}x, "
          f"MSM {rows['msm_off_over_on']:.2f}x (load average {rows['load_average_1min']:.1f} on {os.cpu_count()} CPUs)")
    for n, sizes in shapes.items():
        print(f"cross-n{n}-k8: all tables {sizes['unlimited_mb']:.0f} MB, within {budget:.0f} MB: "
              f"{sizes['within_budget_mb']:.0f} MB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(), **rows}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
