"""Cross-margin statement: constraints and setup / prove / verify for N = 16, 64, 256, 1016 (K = 8).

Prints the prover's phases per size and the fit exponent of prove time against N.
With --baseline REV, also runs this benchmark as it was at git revision REV (a
fresh clone, N = 64, same interpreter) so the phase tables before and after come
from one run. With --peer, also runs the circom + snarkjs harness of
../shared/peers/snarkjs for N = 64 on bls12381 in the same run (copied to a
temporary directory, toolchain under $PEER, default /tmp/peer) and reports our
figures as ratios to its in-process prove and verify times. Verify is measured
plain (public inputs built from the snapshot, every input multiplied) and with
the snapshot's inputs folded beforehand (fixed_inputs_sum: the service's path).
Prints tables and writes JSON. With --sparse, runs the sparse statement instead
(cross-n<N>-p<P>-k<K>: an account holding P positions of an N-instrument table) over
--grid N:P pairs (N:P:mux for the mux-tree selection), with dense cross at --dense sizes in the same run, and prints ratios.
--models tiered,portfolio runs those models' sparse and dense statements the same way (tiered: T = 4 brackets a row,
dense tiered-n<N>-k<K>-t4; portfolio: the generated risk arrays).

Usage: python bench/cross.py [--sizes 16,64,256,1016] [--reps 3] [--baseline REV] [--peer]
                             [--out bench/results/cross.json]
       python bench/cross.py --sparse [--grid 256:8,1024:16,4096:16] [--dense 1016] [--reps 1]
                             [--models cross,tiered,portfolio] [--out bench/results/cross_sparse.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

# --baseline runs this same script against an older clone: ZKMARGIN_BENCH_ROOT names the tree to import.
sys.path.insert(0, os.environ.get("ZKMARGIN_BENCH_ROOT") or str(Path(__file__).resolve().parents[1]))

from zkmargin.backends import get_backend  # noqa: E402
from zkmargin.circuits.layout import HEADER  # noqa: E402
from zkmargin.circuits.proving import prove_account, verify_account_proof  # noqa: E402
from zkmargin.circuits.registry import circuit_from_id  # noqa: E402
from zkmargin.groth16 import setup  # noqa: E402
from zkmargin.groth16.serialization import pk_from_bytes, pk_to_bytes  # noqa: E402

try:  # --baseline runs this script on older trees, which have no fixed-base tables
    from zkmargin.groth16.query_bases import precompute
except ImportError:
    precompute = None
from zkmargin.margin.models import (  # noqa: E402
    Account,
    AssetQuote,
    Collateral,
    InstrumentQuote,
    Position,
    Snapshot,
)

if TYPE_CHECKING:
    from zkmargin.backends import CurveBackend
    from zkmargin.groth16 import Proof, VerifyingKey

E8 = 10**8
# shared/ sits beside the repository (../shared), or beside the folder holding a git worktree of it.
PEER_DIR = next(
    (p / "shared" / "peers" / "snarkjs" for p in Path(__file__).resolve().parents[2:4]
     if (p / "shared" / "peers" / "snarkjs").is_dir()),
    Path(__file__).resolve().parents[2] / "shared" / "peers" / "snarkjs",
)


def market(n: int, k: int, rng: random.Random) -> tuple[Snapshot, Account]:
    """A full snapshot of n instruments and k assets, and an account holding every one of them."""
    instruments = tuple(
        InstrumentQuote(f"I{i}", rng.randrange(1, 10**5) * E8, rng.randrange(E8 // 200, E8 // 20), E8)
        for i in range(n)
    )
    assets = tuple(AssetQuote(f"A{j}", rng.randrange(1, 10**5) * E8, rng.randrange(0, E8 // 5)) for j in range(k))
    positions = tuple(
        Position(q.instrument, rng.randrange(-100, 100) * E8 // 10, q.mark_price_e8 + rng.randrange(-E8, E8))
        for q in instruments
    )
    collateral = tuple(Collateral(a.asset, 10**6 * E8) for a in assets)
    return Snapshot("bench", "bench", "2026-11-24T00:00:00Z", assets, instruments), Account("bench", collateral, positions)


def sparse_account(account: Account, held: int, rng: random.Random) -> Account:
    """The account with only `held` of its positions (a random choice), for the sparse statement."""
    return Account(account.account_id, account.collateral, tuple(rng.sample(account.positions, held)))


DENSE_SUFFIX = {"cross": "", "tiered": "-t4", "portfolio": ""}


def run_ours(n: int, k: int, reps: int, held: int | None = None, selection: str = "lookup", model: str = "cross"
             ) -> dict:
    """Setup once, then reps proofs and verifications (in one process, like the peer's in-process figures).

    held: run the sparse statement <model>-n<n>-p<held>-k<k> on an account holding that many positions
    (selection "mux": sparse cross's mux-tree variant, which the registry does not name).
    """
    backend = get_backend("arkworks")
    rng = random.Random(n)
    snapshot, account = market(n, k, rng)
    if held is None:
        circuit = circuit_from_id(f"{model}-n{n}-k{k}{DENSE_SUFFIX[model]}")
    else:
        circuit = circuit_from_id(f"{model}-n{n}-p{held}-k{k}")
        if selection != "lookup":
            from zkmargin.circuits.circuit import Circuit
            from zkmargin.circuits.sparse_cross import SparseCrossStatement

            circuit = Circuit(SparseCrossStatement(n, held, k, selection))
        account = sparse_account(account, held, rng)
    t = time.perf_counter()
    compiled = circuit.compile()
    compile_s = time.perf_counter() - t
    t = time.perf_counter()
    pk = setup(compiled, backend=backend)
    setup_s = time.perf_counter() - t
    key_bytes = pk_to_bytes(pk, backend)
    t = time.perf_counter()
    pk = pk_from_bytes(key_bytes, backend)
    load_s = time.perf_counter() - t
    # The key's fixed-base tables (budget: $ZKMARGIN_PRECOMPUTE_MB, else the default), built once at load.
    t = time.perf_counter()
    tables_bytes = precompute(pk, backend) if precompute is not None else 0
    tables_s = time.perf_counter() - t
    prove_ms, prove_cpu_ms, verify_ms, folded_ms, phases = [], [], [], [], []
    for rep in range(reps + 1):  # the first proof warms up the twiddle and scalar caches and the allocator
        timings: dict[str, float] = {}
        t, cpu = time.perf_counter(), time.process_time()
        proof, public = prove_account(circuit, pk, account, snapshot, 1000 + rep, 42, backend, timings)
        elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
        t = time.perf_counter()
        ok = verify_account_proof(circuit, pk.vk, snapshot, public.commitment, 42, proof, backend)
        verified = time.perf_counter() - t
        if not ok:
            raise SystemExit(f"cross N={n}: proof did not verify")
        folded = folded_verify_seconds(pk.vk, public.as_list(), proof, backend)
        if rep:
            prove_ms.append(elapsed * 1000)
            prove_cpu_ms.append(cpu * 1000)
            verify_ms.append(verified * 1000)
            folded_ms.append(folded * 1000)
            phases.append(timings)
    msm = statistics.median(sum(v for key, v in p.items() if key.startswith("msm_") and key != "msm_wall") for p in phases)
    return {
        "circuit_id": circuit.circuit_id,
        "model": model,
        "n_positions": n,
        "n_held": held,
        "n_collateral": k,
        "constraints": compiled.num_constraints,
        "public_inputs": compiled.num_public,
        "compile_s": compile_s,
        "setup_s": setup_s,
        "proving_key_mb": len(key_bytes) / 1e6,
        "key_load_s": load_s,
        "fixed_base_tables_mb": tables_bytes / 2**20,
        "fixed_base_tables_s": tables_s,
        "prove_ms": statistics.median(prove_ms),
        # CPU seconds of all threads: on a shared machine, steadier than wall time for before/after.
        "prove_cpu_ms": statistics.median(prove_cpu_ms),
        "verify_ms": statistics.median(verify_ms),
        "verify_folded_ms": statistics.median(folded_ms),
        "msm_sum_ms": msm * 1000,
        "phases_ms": {key: round(statistics.median(p[key] for p in phases) * 1000, 1) for key in phases[0]},
    }


def folded_verify_seconds(vk: VerifyingKey, public: list[int], proof: Proof, backend: CurveBackend) -> float:
    """One verification with the snapshot's inputs folded beforehand (only commitment and context per proof)."""
    try:
        from zkmargin.groth16.verifier import fixed_inputs_sum, verify_with_fixed_inputs
    except ImportError:  # a baseline revision without folding
        return float("nan")
    fixed = fixed_inputs_sum(vk, len(HEADER), public[len(HEADER):], backend)
    t = time.perf_counter()
    ok = verify_with_fixed_inputs(vk, public[:2], fixed, proof, backend)
    elapsed = time.perf_counter() - t
    if not ok:
        raise SystemExit("folded verification failed")
    return elapsed


def baseline_clone(revision: str, work: Path, whole: bool = True) -> tuple[Path, str]:
    """A clone of this repository at revision under work, its C kernels built in place; (path, short commit).

    whole: the clone's circuits/, cli/ and verifier_service/ too (else only its zkmargin/ library is used).
    """
    root = Path(__file__).resolve().parents[1]
    clone = work / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", revision], check=True)
    commit = subprocess.run(["git", "-C", str(clone), "rev-parse", "--short", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    # Without its compiled kernels the clone would fall back to the pure-Python NTT and look far slower
    # (revisions before the C kernels have no setup.py: they JIT-compile at run time).
    if (clone / "setup.py").exists():
        subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=clone, check=True,
                       capture_output=True)
    if whole:
        whole_tree(clone)
    return clone, commit


def whole_tree(clone: Path) -> None:
    """Make the clone's own circuits/, cli/ and verifier_service/ the zkmargin subpackages it imports."""
    # The editable install maps zkmargin.circuits (and .cli, .verifier_service) to THIS tree's folders (pyproject
    # package-dir); links inside the clone's zkmargin/ make the clone's own folders win there. The service was
    # installed as zkmargin.service before docs/service-migration.md: a baseline may import either name.
    for folder, name in (("circuits", "circuits"), ("cli", "cli"), ("verifier_service", "verifier_service"),
                         ("verifier_service", "service")):
        link = clone / "zkmargin" / name
        if (clone / folder).is_dir() and not link.exists():
            link.symlink_to(Path("..") / folder)


def run_on_baseline(script: str, revision: str, script_args: list[str]) -> tuple[dict, str]:
    """Run a bench script (this tree's) on the library at revision, in a fresh clone, by this interpreter.

    The script writes its JSON to a file passed as --out; returns that document and the clone's short commit.
    """
    work = Path(tempfile.mkdtemp(prefix="zkmargin-baseline-"))
    try:
        clone, commit = baseline_clone(revision, work)
        out = work / "baseline.json"
        # The same script, measuring the clone's library the same way as ours.
        env = {**os.environ, "ZKMARGIN_BENCH_ROOT": str(clone)}
        subprocess.run([sys.executable, script, *script_args, "--out", str(out)],
                       cwd=clone, env=env, check=True, capture_output=True)
        return json.loads(out.read_text()), commit
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_baseline(revision: str, reps: int) -> dict:
    """This benchmark on the library as it was at revision (fresh clone, N = 64)."""
    document, commit = run_on_baseline(__file__, revision, ["--sizes", "64", "--reps", str(reps)])
    return {**document["ours"][0], "revision": commit}


PHASES = ("witness", "evaluate", "ntt", "msm_wall", "msm_a", "msm_b_g1", "msm_b_g2", "msm_l", "msm_h", "combine")


def print_phases(rows: list[dict], label: str) -> None:
    """One line per row: prove, its phases (ms, median) and the verify figures."""
    print(f"\n{label}: phases of one proof, ms (msm_* are per-thread times; two run at a time, msm_wall is the wall)")
    print(f"{'':>14} {'prove':>7} {'cpu':>7} " + " ".join(f"{p:>9}" for p in PHASES) + f" {'verify':>7} {'folded':>7}")
    for r in rows:
        name = r.get("revision") or f"N={r['n_positions']}"
        phases = r["phases_ms"]
        print(f"{name:>14} {r['prove_ms']:>7.1f} {r.get('prove_cpu_ms', float('nan')):>7.1f} " + " ".join(f"{phases.get(p, float('nan')):>9.1f}" for p in PHASES)
              + f" {r['verify_ms']:>7.2f} {r.get('verify_folded_ms', float('nan')):>7.2f}")
    print("verify: a one-off SnapshotVerifier per call (snapshot values and their fold recomputed every time); "
          "cached per key in process: e(alpha, beta) and the window tables of input points multiplied alone. "
          "Phases: bench/verify.py")


def fit_exponent(rows: list[dict]) -> float | None:
    """Least-squares slope of log(prove_ms) against log(N)."""
    if len(rows) < 2:
        return None
    xs = [math.log(r["n_positions"]) for r in rows]
    ys = [math.log(r["prove_ms"]) for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def run_peer(n: int, reps: int) -> dict:
    """The snarkjs harness for N on bls12381; returns its CSV row (in-process ms figures)."""
    peer_home = os.environ.get("PEER", "/tmp/peer")
    work = Path(tempfile.mkdtemp(prefix="zkmargin-peer-"))
    shutil.copytree(PEER_DIR, work / "snarkjs", ignore=shutil.ignore_patterns("results"))
    env = {**os.environ, "PEER": peer_home, "REPS": str(reps)}
    if not (Path(peer_home) / "node_modules" / "snarkjs").exists():
        subprocess.run(["bash", "setup.sh"], cwd=work / "snarkjs", env=env, check=True, capture_output=True)
    started = time.perf_counter()
    subprocess.run(["bash", "run.sh", str(n), "bls12381"], cwd=work / "snarkjs", env=env, check=True,
                   capture_output=True)
    with open(work / "snarkjs" / "results" / "results.csv") as handle:
        row = list(csv.DictReader(handle))[-1]
    witness_ms, prove_ms, verify_ms, _ = row["inproc_witness_ms;prove_ms;verify_ms;maxrss_kb"].split(";")
    return {
        "n": n,
        "constraints": int(row["constraints"]),
        "public_inputs": int(row["public_inputs"]),
        "setup_s": float(row["groth16_setup_s"]),
        "witness_ms": float(witness_ms),
        "prove_ms": float(prove_ms),
        "verify_ms": float(verify_ms),
        "prove_cli_s": float(row["prove_s_median"]),
        "verify_cli_s": float(row["verify_s_median"]),
        "harness_s": time.perf_counter() - started,
    }


SPARSE_FIGURES = ("constraints", "setup_s", "proving_key_mb", "key_load_s", "prove_ms", "verify_ms")


def run_sparse(grid: list[tuple[int, int, str]], dense_sizes: list[int], k: int, reps: int, out: Path,
               models: list[str]) -> None:
    """Sparse statements over (N, P) pairs and dense ones at dense_sizes, per model, one run; prints figures and
    ratios (each sparse row against its own model's dense rows), writes JSON."""
    dense, sparse = [], []
    for model in models:
        dense += [run_ours(n, k, reps, model=model) for n in dense_sizes]
        print(f"  done {dense[-1]['circuit_id']}", file=sys.stderr, flush=True)
        for n, p, selection in grid:
            if selection != "lookup" and model != "cross":
                continue
            sparse.append(run_ours(n, k, reps, held=p, selection=selection, model=model))
            print(f"  done {sparse[-1]['circuit_id']}", file=sys.stderr, flush=True)
    print(f"{'circuit':>24} {'constraints':>11} {'setup s':>8} {'pk MB':>7} {'load s':>7} {'prove ms':>9} {'verify ms':>9}")
    for r in dense + sparse:
        print(f"{r['circuit_id']:>24} {r['constraints']:>11} {r['setup_s']:>8.2f} {r['proving_key_mb']:>7.1f} "
              f"{r['key_load_s']:>7.2f} {r['prove_ms']:>9.1f} {r['verify_ms']:>9.2f}")
    ratios = {}
    for d in dense:
        for r in (r for r in sparse if r["model"] == d["model"]):
            ratios[f"{r['circuit_id']}/{d['circuit_id']}"] = {f: r[f] / d[f] for f in SPARSE_FIGURES}
    by_id = {r["circuit_id"]: r for r in sparse}
    for r in sparse:
        base = by_id.get(r["circuit_id"].replace(f"-n{r['n_positions']}-", "-n1024-", 1))
        if base is not None and r is not base:
            ratios[f"{r['circuit_id']}/{base['circuit_id']}"] = {f: r[f] / base[f] for f in SPARSE_FIGURES}
    print("\nratios (sparse / reference, same run; below 1 = sparse is cheaper)")
    print(f"{'':>42} " + " ".join(f"{f:>14}" for f in SPARSE_FIGURES))
    for name, figures in ratios.items():
        print(f"{name:>42} " + " ".join(f"{figures[f]:>14.3f}" for f in SPARSE_FIGURES))
    result = {"machine": platform.platform(), "cpus": os.cpu_count(), "dense": dense, "sparse": sparse,
              "ratios": ratios}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")


def main() -> None:
    """Run, print, write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="16,64,256,1016")
    parser.add_argument("--collateral", type=int, default=8)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--peer", action="store_true", help="also run the snarkjs peer for N = 64")
    parser.add_argument("--baseline", metavar="REV", help="also run this benchmark at git revision REV (N = 64)")
    parser.add_argument("--out", type=Path, default=None, help="default bench/results/cross.json "
                        "(cross_sparse.json with --sparse)")
    parser.add_argument("--sparse", action="store_true", help="sparse cross over --grid, dense at --dense")
    parser.add_argument("--grid", default="256:8,1024:16,4096:16",
                        help="N:P pairs of the sparse run (N:P:mux for the mux-tree variant)")
    parser.add_argument("--dense", default="1016", help="dense sizes N of the sparse run")
    parser.add_argument("--models", default="cross", help="models of the sparse run: cross, tiered, portfolio")
    args = parser.parse_args()
    results = Path(__file__).parent / "results"
    if args.sparse:
        grid = [(int(n), int(p), (rest or ["lookup"])[0])
                for n, p, *rest in (entry.split(":") for entry in args.grid.split(","))]
        dense = [int(n) for n in args.dense.split(",") if n]
        models = args.models.split(",")
        if any(m not in DENSE_SUFFIX for m in models):
            parser.error(f"--models takes {', '.join(DENSE_SUFFIX)}")
        run_sparse(grid, dense, args.collateral, args.reps, args.out or results / "cross_sparse.json", models)
        return
    args.out = args.out or results / "cross.json"
    rows = [run_ours(int(n), args.collateral, args.reps) for n in args.sizes.split(",")]
    print(f"{'N':>4} {'K':>3} {'constraints':>11} {'public':>6} {'setup s':>8} {'pk MB':>6} {'prove ms':>9} "
          f"{'msm ms':>7} {'verify ms':>9}")
    for r in rows:
        print(f"{r['n_positions']:>4} {r['n_collateral']:>3} {r['constraints']:>11} {r['public_inputs']:>6} "
              f"{r['setup_s']:>8.2f} {r['proving_key_mb']:>6.1f} {r['prove_ms']:>9.1f} {r['msm_sum_ms']:>7.1f} "
              f"{r['verify_ms']:>9.2f}")
    print_phases(rows, "this revision")
    exponent = fit_exponent(rows)
    if exponent is not None:
        print(f"prove time ~ N^{exponent:.2f} over N = {args.sizes} (least squares on log-log)")
    result = {"machine": platform.platform(), "cpus": os.cpu_count(), "ours": rows, "prove_fit_exponent_in_n": exponent}
    if args.baseline:
        baseline = run_baseline(args.baseline, args.reps)
        result["baseline"] = baseline
        ours = next((r for r in rows if r["n_positions"] == 64), None)
        print_phases([baseline] + ([ours] if ours else []), f"before ({baseline['revision']}) and after, N = 64")
    if args.peer:
        peer = run_peer(64, args.reps)
        ours = next(r for r in rows if r["n_positions"] == 64)
        result["peer"] = peer
        result["ratios_n64"] = {
            "prove_ours_over_snarkjs": ours["prove_ms"] / peer["prove_ms"],
            "verify_ours_over_snarkjs": ours["verify_ms"] / peer["verify_ms"],
            "verify_folded_ours_over_snarkjs": ours["verify_folded_ms"] / peer["verify_ms"],
        }
        if "baseline" in result:
            result["ratios_n64"]["baseline_prove_over_snarkjs"] = result["baseline"]["prove_ms"] / peer["prove_ms"]
        print(f"\nsnarkjs 0.7.6 peer, N = 64 (K = 1 collateral, {peer['constraints']} constraints), same run, in-process:")
        print(f"  prove {peer['prove_ms']:.1f} ms, verify {peer['verify_ms']:.1f} ms, setup {peer['setup_s']:.1f} s")
        print(f"  ours / snarkjs: prove {result['ratios_n64']['prove_ours_over_snarkjs']:.2f}x, "
              f"verify {result['ratios_n64']['verify_ours_over_snarkjs']:.2f}x, folded verify "
              f"{ours['verify_folded_ms']:.2f} ms (below 1 = faster)")
        if "baseline" in result:
            print(f"  before ({result['baseline']['revision']}) / snarkjs: prove "
                  f"{result['ratios_n64']['baseline_prove_over_snarkjs']:.2f}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
