"""Verifier phases for cross-n64-k8 (211 public inputs): where plain and folded verification spend their time.

Plain verify is verify_account_proof: a one-off SnapshotVerifier built from the
verifier's own snapshot (snapshot values, key checks, fold of the 209 snapshot
inputs) and then the folded check. Folded verify is verify_with_fixed_inputs
with the snapshot's inputs folded beforehand (the service's path): the 2
per-proof header inputs and the pairing. Each phase is timed alone, the phases
interleaved rep by rep so machine load hits them alike; figures are medians.
verify_all_inputs is groth16.verify with all 211 inputs (no snapshot object: the
fold without building the snapshot's values). The floor line is the curve
library's own 3-pair multi_pairing (3 Miller loops, 1 final exponentiation).

Cached across calls (per key, in process), so repeated plain verifies measure
the same work as a first one apart from these: e(alpha, beta) per key; the
fixed-base window tables of the key's gamma_abc points that are multiplied
alone (the per-proof header points and wide snapshot inputs such as the layout
digest), built on a point's second use. Never cached: the snapshot's values
and their fold, which plain verify recomputes on every call.

With --baseline REV, the same phases are measured on the library at git
revision REV (a fresh clone, same interpreter) in the same run; with --peer,
snarkjs's in-process verify of its peer statement too (bench/cross.py's harness).

With --rounds N (and --baseline), the baseline (a process serving the clone's library) and this tree each set
up once and then time N alternating blocks of reps / N; each figure is the median over all reps: on a shared
machine that is the sound comparison.

Usage: python bench/verify.py [--reps 300] [--baseline REV [--rounds N]] [--peer] [--out bench/results/verify.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# --baseline runs this same script against an older clone: ZKMARGIN_BENCH_ROOT names the tree to import.
sys.path.insert(0, os.environ.get("ZKMARGIN_BENCH_ROOT") or str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cross import baseline_clone, market, run_on_baseline, run_peer  # noqa: E402

from zkmargin.backends import get_backend  # noqa: E402
from zkmargin.circuits.layout import HEADER  # noqa: E402
from zkmargin.circuits.proving import prove_account, verify_account_proof  # noqa: E402
from zkmargin.circuits.registry import circuit_from_id  # noqa: E402
from zkmargin.groth16 import VerifyingKey, setup, verify  # noqa: E402
from zkmargin.groth16.serialization import proof_from_bytes, proof_to_bytes  # noqa: E402
from zkmargin.groth16.verifier import (  # noqa: E402
    alpha_beta,
    check_verifying_key,
    fixed_inputs_sum,
    prepare_inputs,
    verify_with_fixed_inputs,
)

PHASES = ("snapshot_values", "key_checks", "fold", "header", "pairing")
"""Phases of plain verify in order; folded verify is header + pairing (+ its own checks)."""


Samples = dict[str, list[tuple[float, float]]]
"""(wall, CPU of the thread) seconds of each timed run, per step."""


def phase_steps() -> tuple[dict[str, Callable[[], object]], dict]:
    """The timed steps over one cross-n64-k8 key and proof made here, warmed up, and the circuit's facts."""
    backend = get_backend("arkworks")
    circuit = circuit_from_id("cross-n64-k8")
    snapshot, account = market(64, 8, random.Random(64))
    pk = setup(circuit.compile(), backend=backend)
    vk = pk.vk
    proof, public = prove_account(circuit, pk, account, snapshot, 1000, 42, backend)
    encoded = proof_to_bytes(proof, backend)
    header = public.as_list()[: len(HEADER)]
    values = circuit.snapshot_inputs(snapshot)
    fixed = fixed_inputs_sum(vk, len(HEADER), values, backend)
    head = VerifyingKey(vk.alpha_g1, vk.beta_g2, vk.gamma_g2, vk.delta_g2, vk.gamma_abc_g1[: 1 + len(HEADER)])
    acc = backend.g1_add(prepare_inputs(head, header, backend), fixed.point)
    pairs = [(proof.a, proof.b), (backend.g1_neg(acc), vk.gamma_g2), (backend.g1_neg(proof.c), vk.delta_g2)]

    def pairing() -> None:
        if not backend.pairing_product_equals(pairs, alpha_beta(vk, backend)):
            raise SystemExit("pairing check failed")

    def plain() -> None:
        if not verify_account_proof(circuit, vk, snapshot, header[0], header[1], proof, backend):
            raise SystemExit("plain verify failed")

    def folded() -> None:
        if not verify_with_fixed_inputs(vk, header, fixed, proof, backend):
            raise SystemExit("folded verify failed")

    def all_inputs() -> None:
        if not verify(vk, public.as_list(), proof, backend):
            raise SystemExit("verify with all inputs failed")

    def floor() -> None:
        from py_arkworks_bls12381 import GT

        GT.multi_pairing([p for p, _ in pairs], [q for _, q in pairs])

    steps = {
        "snapshot_values": lambda: circuit.snapshot_inputs(snapshot),
        "key_checks": lambda: check_verifying_key(vk, backend),
        "fold": lambda: fixed_inputs_sum(vk, len(HEADER), values, backend),
        "header": lambda: backend.g1_add(prepare_inputs(head, header, backend), fixed.point),
        "pairing": pairing,
        "plain": plain,
        "folded": folded,
        "verify_all_inputs": all_inputs,
        "floor_multi_pairing_3": floor,
        "proof_decode": lambda: proof_from_bytes(encoded, backend),
    }
    for step in steps.values():  # warm-up: e(alpha, beta), fixed-base tables from a point's second use
        step()
        step()
    return steps, {"circuit": circuit.circuit_id, "public_inputs": circuit.num_public}


def time_block(steps: dict[str, Callable[[], object]], reps: int) -> Samples:
    """Every step timed reps times, the steps interleaved rep by rep so machine load hits them alike."""
    samples: Samples = {name: [] for name in steps}
    for _ in range(reps):
        for name, step in steps.items():
            t, c = time.perf_counter(), time.thread_time()
            step()
            samples[name].append((time.perf_counter() - t, time.thread_time() - c))
    return samples


def summarise(samples: Samples, info: dict) -> dict:
    """Median wall and CPU ms of every step, and the part of plain verify outside the named phases."""
    result = {**info, "reps": len(next(iter(samples.values())))}
    # CPU time of the calling thread: on a shared machine it moves far less with the load than the wall time.
    for key, column in (("ms", 0), ("cpu_ms", 1)):
        ms = {name: statistics.median(s[column] for s in runs) * 1000 for name, runs in samples.items()}
        ms["plain_other"] = ms["plain"] - sum(ms[p] for p in PHASES)
        result[key] = ms
    return result


def measure(reps: int) -> dict:
    """Median ms of every phase, of plain and folded verify, and of the library's 3-pair pairing."""
    steps, info = phase_steps()
    return summarise(time_block(steps, reps), info)


def serve() -> None:
    """Baseline side of --rounds: set up once, then time a block of the read number of reps per input line."""
    steps, info = phase_steps()
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        print(json.dumps(time_block(steps, int(line))), flush=True)


def run_baseline(revision: str, reps: int) -> dict:
    """This benchmark on the library as it was at revision (fresh clone)."""
    document, commit = run_on_baseline(__file__, revision, ["--reps", str(reps)])
    return {**document["ours"], "revision": commit}


def _next_json(child: subprocess.Popen) -> dict:
    """The next JSON line the serving process prints (anything else it prints is skipped)."""
    while line := child.stdout.readline():
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit("the baseline process stopped")


def alternate_with_baseline(revision: str, reps: int, rounds: int) -> tuple[dict, dict]:
    """(baseline, ours): medians over `rounds` blocks of reps / rounds, alternating the clone at revision and this tree.

    Each side sets up once (a process serving the clone's library); then short blocks alternate, so both see the
    same load on a shared machine, where two runs one after the other see different loads.
    """
    work = Path(tempfile.mkdtemp(prefix="zkmargin-baseline-"))
    try:
        clone, commit = baseline_clone(revision, work)
        env = {**os.environ, "ZKMARGIN_BENCH_ROOT": str(clone)}
        child = subprocess.Popen([sys.executable, __file__, "--serve"], cwd=clone, env=env, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        try:
            their_info = _next_json(child)
            steps, info = phase_steps()
            theirs: Samples = {name: [] for name in steps}
            ours: Samples = {name: [] for name in steps}
            block = max(1, reps // rounds)
            for _ in range(rounds):
                child.stdin.write(f"{block}\n")
                child.stdin.flush()
                for name, runs in _next_json(child).items():
                    theirs[name].extend(tuple(run) for run in runs)
                for name, runs in time_block(steps, block).items():
                    ours[name].extend(runs)
        finally:
            child.stdin.close()
            child.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ({**summarise(theirs, their_info), "revision": commit, "rounds": rounds},
            {**summarise(ours, info), "rounds": rounds})


ROWS = (*PHASES, "plain_other", "plain", "folded", "verify_all_inputs", "floor_multi_pairing_3", "proof_decode")


def print_table(columns: dict[str, dict], peer_verify_ms: float | None) -> None:
    """One row per phase, one column per measured revision (and ratios to the first column): wall, then CPU."""
    names = list(columns)
    for key, title in (("ms", "wall ms, median"), ("cpu_ms", "CPU ms of the thread, median")):
        if not all(key in columns[n] for n in names):
            continue
        print(f"\nverify phases, cross-n64-k8, {title} (phases timed alone, interleaved)")
        print(f"{'':>22} " + " ".join(f"{n:>12}" for n in names) + ("   after/before" if len(names) > 1 else ""))
        for row in ROWS:
            values = [columns[n][key].get(row, float("nan")) for n in names]
            ratio = f"   {values[-1] / values[0]:>12.2f}" if len(names) > 1 and values[0] > 0 else ""
            print(f"{row:>22} " + " ".join(f"{v:>12.3f}" for v in values) + ratio)
    if peer_verify_ms is not None:
        print(f"\nsnarkjs 0.7.6 in-process verify of its peer statement, same run: {peer_verify_ms:.2f} ms")
        for n in names:
            ms = columns[n]["ms"]
            print(f"  {n}: plain / snarkjs {ms['plain'] / peer_verify_ms:.2f}x, "
                  f"folded {ms['folded']:.2f} ms ({ms['folded'] / peer_verify_ms:.2f}x)")


def main() -> None:
    """Measure, print, write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--baseline", metavar="REV", help="also measure the library at git revision REV")
    parser.add_argument("--rounds", type=int, default=1,
                        help="with --baseline: blocks alternating the baseline and this tree (medians over all reps)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--peer", action="store_true", help="also run the snarkjs peer (N = 64) for its verify time")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "verify.json")
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    result: dict = {"machine": platform.platform(), "cpus": os.cpu_count(), "load_avg": os.getloadavg()}
    columns = {}
    if args.baseline and args.rounds > 1:
        result["baseline"], result["ours"] = alternate_with_baseline(args.baseline, args.reps, args.rounds)
        columns[f"before {result['baseline']['revision']}"] = result["baseline"]
    elif args.baseline:
        result["baseline"] = run_baseline(args.baseline, args.reps)
        columns[f"before {result['baseline']['revision']}"] = result["baseline"]
    if "ours" not in result:
        result["ours"] = measure(args.reps)
    columns["this tree"] = result["ours"]
    peer_ms = None
    if args.peer:
        result["peer"] = run_peer(64, 3)
        peer_ms = result["peer"]["verify_ms"]
        result["ratios"] = {name: {"plain_over_snarkjs": col["ms"]["plain"] / peer_ms,
                                   "folded_over_snarkjs": col["ms"]["folded"] / peer_ms}
                            for name, col in columns.items()}
    print_table(columns, peer_ms)
    print("cached per key in process: e(alpha, beta); fixed-base tables of gamma_abc points multiplied alone. "
          "Never cached: snapshot values and their fold (recomputed by every plain verify).")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
