"""Alternating proofs: cross-n64-k8 with this tree, with a baseline revision and the snarkjs peer, round by round.

bench/cross.py times ours, then the baseline, then snarkjs, one after the other: on a machine shared with
other jobs, whose load moves 2-5x within minutes, those ratios say as much about the load as about the code.
Here every round proves --per-round times with each prover in turn (the order rotating from round to round)
and each ratio is taken within a round; the table gives every round's medians and the median of the ratios.

Ours and the baseline run in worker processes that set up the key once (fixed-base tables built at load, as
bench/cross.py does) and prove on request; snarkjs runs its in-process harness (inproc.cjs: one warm-up proof,
then --per-round timed ones) on the build the peer's run.sh left under $PEER (run once first when missing).
Wall and CPU milliseconds of prove_account (health check, witness, proof), the figure bench/cross.py reports.

Usage: python bench/prove_ab.py [--baseline 6c918eb] [--peer] [--rounds 5] [--per-round 3]
                                [--out bench/results/prove_ab.json]
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cross import PEER_DIR, baseline_clone, market, run_peer  # noqa: E402


def worker() -> None:
    """Set up cross-n64-k8 once, then prove once per 'prove' line on stdin, answering with a JSON line."""
    from zkmargin.backends import get_backend
    from zkmargin.circuits.proving import prove_account
    from zkmargin.circuits.registry import circuit_from_id
    from zkmargin.groth16 import setup

    backend = get_backend("arkworks")
    snapshot, account = market(64, 8, random.Random(64))
    circuit = circuit_from_id("cross-n64-k8")
    pk = setup(circuit.compile(), backend=backend)
    try:
        from zkmargin.groth16.query_bases import precompute
    except ImportError:  # a revision without fixed-base tables
        precompute = None
    if precompute is not None:
        precompute(pk, backend)
    salt = 1000
    prove_account(circuit, pk, account, snapshot, salt, 42, backend)  # warms the caches and the allocator
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip() != "prove":
            break
        salt += 1
        t, cpu = time.perf_counter(), time.process_time()
        prove_account(circuit, pk, account, snapshot, salt, 42, backend)
        print(json.dumps({"wall_ms": (time.perf_counter() - t) * 1e3, "cpu_ms": (time.process_time() - cpu) * 1e3}),
              flush=True)


class Worker:
    """A worker process over one tree (this one, or a clone at a baseline revision)."""

    def __init__(self, root: Path | None) -> None:
        env = dict(os.environ)
        if root is not None:
            env["ZKMARGIN_BENCH_ROOT"] = str(root)  # cross.py puts it first on sys.path
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker"], env=env,
                                        cwd=root or HERE.parent, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        if not json.loads(self._line()).get("ready"):
            raise SystemExit("a worker did not start")

    def _line(self) -> str:
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line:
            raise SystemExit(f"a worker stopped (exit {self.process.wait()})")
        return line

    def prove(self, times: int) -> list[dict]:
        """times proofs, one after the other."""
        out = []
        for _ in range(times):
            assert self.process.stdin is not None
            self.process.stdin.write("prove\n")
            self.process.stdin.flush()
            out.append(json.loads(self._line()))
        return out

    def close(self) -> None:
        """Stop the worker."""
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait()


def peer_build() -> Path:
    """The peer's N = 64 bls12381 build under $PEER, made by its harness first when missing."""
    build = Path(os.environ.get("PEER", "/tmp/peer")) / "build" / "bls12381_N64_O2"
    if not (build / "margin_final.zkey").exists() or not (build / "input.json").exists():
        run_peer(64, 1)
    return build


def peer_round(build: Path, times: int) -> list[float]:
    """snarkjs in-process prove milliseconds: one warm-up proof, then times timed ones."""
    node_path = Path(os.environ.get("PEER", "/tmp/peer")) / "node_modules"
    done = subprocess.run(["node", str(PEER_DIR / "inproc.cjs"), str(build), "64", str(times + 1)], check=True,
                          capture_output=True, text=True, env={**os.environ, "NODE_PATH": str(node_path)})
    return json.loads(done.stdout.strip().splitlines()[-1])["prove_ms"]["all"][1:]


def main() -> None:
    """Rounds of alternating proofs; print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", metavar="REV", help="also prove with the library at git revision REV")
    parser.add_argument("--peer", action="store_true", help="also prove with the snarkjs peer")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "prove_ab.json")
    args = parser.parse_args()
    if args.worker:
        worker()
        return
    work = Path(tempfile.mkdtemp(prefix="zkmargin-prove-ab-"))
    provers: dict[str, object] = {}
    try:
        provers["ours"] = Worker(None)
        revision = None
        if args.baseline:
            clone, revision = baseline_clone(args.baseline, work)
            provers[f"baseline {revision}"] = Worker(clone)
        build = peer_build() if args.peer else None
        if build is not None:
            provers["snarkjs"] = build
        names = list(provers)
        rounds = []
        for index in range(args.rounds):
            order = names[index % len(names):] + names[: index % len(names)]
            row: dict[str, dict] = {}
            for name in order:
                started = time.strftime("%H:%M:%S")
                prover = provers[name]
                if isinstance(prover, Worker):
                    proofs = prover.prove(args.per_round)
                    row[name] = {"wall_ms": statistics.median(p["wall_ms"] for p in proofs),
                                 "cpu_ms": statistics.median(p["cpu_ms"] for p in proofs), "at": started}
                else:
                    row[name] = {"wall_ms": statistics.median(peer_round(prover, args.per_round)), "at": started}
            rounds.append(row)
            print(f"round {index + 1}: " + ", ".join(f"{n} {row[n]['wall_ms']:.0f} ms" for n in names), flush=True)
    finally:
        for prover in provers.values():
            if isinstance(prover, Worker):
                prover.close()
        shutil.rmtree(work, ignore_errors=True)
    ratios = {}
    for other in names[1:]:
        per_round = [r["ours"]["wall_ms"] / r[other]["wall_ms"] for r in rounds]
        ratios[f"ours/{other} wall"] = {"rounds": per_round, "median": statistics.median(per_round)}
        if "cpu_ms" in rounds[0][other]:
            cpu = [r["ours"]["cpu_ms"] / r[other]["cpu_ms"] for r in rounds]
            ratios[f"ours/{other} cpu"] = {"rounds": cpu, "median": statistics.median(cpu)}
    print(f"\n{'ratio':>28} {'median':>7}  rounds")
    for name, figure in ratios.items():
        print(f"{name:>28} {figure['median']:>7.3f}  " + " ".join(f"{x:.3f}" for x in figure["rounds"]))
    load = os.getloadavg()
    result = {"machine": platform.platform(), "cpus": os.cpu_count(), "load_average_at_end": load,
              "circuit": "cross-n64-k8", "per_round": args.per_round, "rounds": rounds, "ratios": ratios}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"load average at the end {load[0]:.1f}; wrote {args.out}")


if __name__ == "__main__":
    main()
