"""Groth16 setup / prove / verify on synthetic circuits of 2^10 .. 2^16 constraints.

The synthetic circuit looks like the margin circuits: three quarters of its
constraints are 64-bit range checks (bits and small values), the rest a chain of
products of full-width field elements. Prove time is broken down into witness
evaluation, the NTTs and each MSM; the target is prove <= 2 x (sum of MSMs).
py_ecc runs to 2^12 and must produce byte-identical keys and proofs.

With --baseline REV the same grid (arkworks rows) also runs against a clone of the library at
git revision REV, so before and after come from one run.

Usage: python bench/groth16.py [--max-log 16] [--py-ecc-max-log 12] [--baseline REV] [--out bench/results/groth16.json]
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
from typing import TYPE_CHECKING, Any

# --baseline runs this same script against an older clone: ZKMARGIN_BENCH_ROOT names the tree to import.
sys.path.insert(0, os.environ.get("ZKMARGIN_BENCH_ROOT") or str(Path(__file__).resolve().parents[1]))

from zkmargin.backends import get_backend  # noqa: E402
from zkmargin.field import R  # noqa: E402
from zkmargin.groth16 import prove, setup, verify  # noqa: E402
from zkmargin.groth16.serialization import proof_to_bytes, vk_to_bytes  # noqa: E402
from zkmargin.r1cs import ConstraintSystem  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Sequence

    from zkmargin.backends import CurveBackend
    from zkmargin.groth16 import ProvingKey
    from zkmargin.r1cs import CompiledR1CS


def synthetic(mode: str, target_constraints: int, seed: int = 7) -> ConstraintSystem:
    """A circuit of about target_constraints constraints (minus the input rows of the domain)."""
    rng = random.Random(seed)
    cs = ConstraintSystem(mode)  # type: ignore[arg-type]
    has = cs.has_values
    budget = target_constraints - 8 - 1  # leave room for the QAP's input rows
    out = cs.public_input("out", 0 if has else None)  # set once the chain is known
    seed_var = cs.private_input("seed", rng.randrange(R) if has else None)
    range_budget = budget * 3 // 4
    i = 0
    while range_budget >= 65:
        v = cs.private_input(f"v{i}", rng.randrange(2**64) if has else None)
        cs.to_bits(v, 64, f"range{i}")
        range_budget -= 65
        i += 1
    acc = seed_var
    remaining = budget - (cs.num_constraints + 1)
    for j in range(max(0, remaining)):
        acc = cs.mul(acc, acc + j, f"chain{j}")
    if has:
        cs.set_value(out, acc.value)  # type: ignore[arg-type]
    cs.assert_equal(acc, out, "out")
    return cs


def sequential_msm_seconds(pk: ProvingKey, compiled: CompiledR1CS, z: list[int], backend: CurveBackend) -> float:
    """The five MSMs of one proof run one after another on one core: the floor the prover is compared to.

    (Inside prove they overlap on two cores, so their per-thread times in the
    breakdown add up to more than the wall time.)
    """
    try:
        from zkmargin.groth16.query_bases import query_bases
    except ImportError:  # a --baseline library from before the prepared bases
        return _sequential_msm_seconds_lists(pk, compiled, z, backend)
    from zkmargin.groth16.r1cs_to_qap import witness_evaluations_raw
    from zkmargin.ntt import quotient_raw, to_bytes

    z_raw = to_bytes(z)
    h = quotient_raw(*witness_evaluations_raw(compiled, z_raw))
    bases = query_bases(pk, backend)
    started = time.perf_counter()
    bases.a.msm(z_raw)
    bases.b_g1.msm(z_raw)
    bases.b_g2.msm(z_raw)
    bases.h_low.msm(h[: 32 * bases.h_split])
    bases.h_high.msm(h[32 * bases.h_split : 32 * len(pk.h_query)])
    bases.l.msm(z_raw[32 * (compiled.num_public + 1) :])
    return time.perf_counter() - started


def _sequential_msm_seconds_lists(pk: ProvingKey, compiled: CompiledR1CS, z: list[int], backend: CurveBackend) -> float:
    """sequential_msm_seconds for a library whose MSMs take point lists (zero scalars dropped, as its prover did)."""
    from zkmargin.groth16.r1cs_to_qap import quotient_coefficients, witness_evaluations

    def nonzero(points: Sequence[Any], scalars: Sequence[int]) -> tuple[list[Any], list[int]]:
        kept = [(p, k) for p, k in zip(points, scalars) if k]
        return [p for p, _ in kept], [k for _, k in kept]

    h = quotient_coefficients(*witness_evaluations(compiled, z))
    started = time.perf_counter()
    backend.g1_msm(*nonzero(pk.a_query, z))
    backend.g1_msm(*nonzero(pk.b_g1_query, z))
    backend.g2_msm(*nonzero(pk.b_g2_query, z))
    backend.g1_msm(pk.h_query, h[: len(pk.h_query)])
    backend.g1_msm(*nonzero(pk.l_query, z[compiled.num_public + 1 :]))
    return time.perf_counter() - started


def run(log_n: int, backend_name: str, reps: int) -> dict:
    """Setup once, prove and verify reps times; median figures."""
    backend = get_backend(backend_name)
    target = 1 << log_n
    compiled = synthetic("setup", target).compile()
    solved = synthetic("check", target)
    solved.compile()
    z = solved.assignment()
    public = solved.public_values()
    t = time.perf_counter()
    pk = setup(compiled, random.Random(1), backend)
    setup_s = time.perf_counter() - t
    # The MSM's copy of the query points: setup hands it over with the key (arkworks backend, native code),
    # so this is a cache hit; were it prepared from points (~10 us a point), it would show here, not in prove.
    t = time.perf_counter()
    try:
        from zkmargin.groth16.query_bases import query_bases

        query_bases(pk, backend)
    except ImportError:  # a --baseline library from before the prepared bases
        pass
    prepare_s = time.perf_counter() - t
    prove_times, verify_times, breakdowns = [], [], []
    first_proof = None
    for rep in range(reps):
        timings: dict[str, float] = {}
        t = time.perf_counter()
        proof = prove(pk, compiled, z, random.Random(100 + rep), backend, timings=timings)
        prove_times.append(time.perf_counter() - t)
        breakdowns.append(timings)
        first_proof = first_proof or proof
        t = time.perf_counter()
        ok = verify(pk.vk, public, proof, backend)
        verify_times.append(time.perf_counter() - t)
        if not ok:
            raise SystemExit(f"proof at 2^{log_n} did not verify on {backend_name}")
    phases = {k: statistics.median(b[k] for b in breakdowns) for k in breakdowns[0]}
    msm_sum = sequential_msm_seconds(pk, compiled, z, backend)
    prove_s = statistics.median(prove_times)
    return {
        "log_n": log_n,
        "backend": backend_name,
        "constraints": compiled.num_constraints,
        "setup_s": setup_s,
        "prepare_bases_s": prepare_s,
        "prove_s": prove_s,
        "verify_ms": statistics.median(verify_times) * 1000,
        "msm_sum_s": msm_sum,
        "prove_over_msm": prove_s / msm_sum if msm_sum else None,
        "phases_s": phases,
        "vk_bytes_sha": __import__("hashlib").sha256(vk_to_bytes(pk.vk, backend)).hexdigest(),
        "proof_sha": __import__("hashlib").sha256(proof_to_bytes(first_proof, backend)).hexdigest(),
    }


def main() -> None:
    """Run the grid, print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-log", type=int, default=10)
    parser.add_argument("--max-log", type=int, default=16)
    parser.add_argument("--py-ecc-max-log", type=int, default=12)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--baseline", metavar="REV", help="also run the arkworks rows on the library at git revision REV")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "groth16.json")
    args = parser.parse_args()
    baseline = run_baseline(args.baseline, args) if args.baseline else None
    if baseline is not None:
        print(f"before ({baseline['revision']}):")
        for row in baseline["rows"]:
            print_row(row)
        print("after (this tree):")
    rows = []
    for log_n in range(args.min_log, args.max_log + 1, 2):
        rows.append(run(log_n, "arkworks", args.reps))
        print_row(rows[-1])
    for log_n in range(args.min_log, args.py_ecc_max_log + 1, 2):
        row = run(log_n, "py_ecc", 1)
        twin = next(r for r in rows if r["log_n"] == log_n and r["backend"] == "arkworks")
        # Same seeds for setup and the first proof: the bytes must be identical.
        row["identical_to_arkworks"] = (row["vk_bytes_sha"], row["proof_sha"]) == (twin["vk_bytes_sha"], twin["proof_sha"])
        rows.append(row)
        print_row(rows[-1])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {"machine": platform.platform(), "python": platform.python_version(), "rows": rows}
    if baseline is not None:
        document["baseline"] = baseline
    args.out.write_text(json.dumps(document, indent=1))
    print(f"wrote {args.out}")


def run_baseline(revision: str, args: argparse.Namespace) -> dict:
    """The arkworks rows on the library at revision (a fresh clone with its C kernels)."""
    from cross import run_on_baseline

    document, commit = run_on_baseline(__file__, revision, [
        "--min-log", str(args.min_log), "--max-log", str(args.max_log), "--py-ecc-max-log", "0",
        "--reps", str(args.reps)])
    return {"revision": commit, "rows": document["rows"]}


HEADER_PRINTED = False


def print_row(row: dict) -> None:
    """One table line (header first time)."""
    global HEADER_PRINTED
    if not HEADER_PRINTED:
        print(f"{'backend':<9} {'2^k':>4} {'constraints':>11} {'setup s':>9} {'prep s':>7} {'prove s':>8} {'msm s':>7} "
              f"{'prove/msm':>9} {'ntt s':>7} {'eval s':>7} {'verify ms':>9} {'same bytes':>10}")
        HEADER_PRINTED = True
    p = row["phases_s"]
    print(f"{row['backend']:<9} {row['log_n']:>4} {row['constraints']:>11} {row['setup_s']:>9.2f} {row['prepare_bases_s']:>7.2f} "
          f"{row['prove_s']:>8.3f} {row['msm_sum_s']:>7.3f} {row['prove_over_msm']:>9.2f} "
          f"{p.get('ntt', 0):>7.3f} {p.get('evaluate', 0):>7.3f} {row['verify_ms']:>9.2f} "
          f"{str(row.get('identical_to_arkworks', '')):>10}", flush=True)


if __name__ == "__main__":
    main()
