"""Batch verification of 10,000 cross-margin proofs (cross-n64-k8) against one-by-one verification.

Proofs: --accounts real proofs of distinct random accounts, each re-randomised
((A/t, tB, C) for random t: still a valid proof of the same statement, with new
bytes) up to --count. Both paths start from the 192-byte proofs, so point
decoding with subgroup checks is counted on both sides. One-by-one time is
measured on a sample and reported per proof. Prints a table, writes JSON.

--baseline PATH times an older checkout (e.g. a git worktree of an older main with its C extensions built in
place: `python setup.py build_ext --inplace` there) on the same proofs in the same run: a child process
imports that checkout's zkmargin and decodes and batch-verifies the very proofs and inputs this run made,
in rounds alternating with this checkout's (--rounds), so both see the same load on a shared machine; the
ratio is of the median round times.

--baseline may be given several times (e.g. the issue's starting point and today's main): every round runs
each baseline, then this checkout.

Usage: python bench/batch.py [--count 10000] [--accounts 20] [--sample 300] [--workers N]
                             [--baseline PATH [--baseline PATH2] [--rounds 3]]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cross import market  # noqa: E402

from zkmargin.backends import get_backend  # noqa: E402
from zkmargin.backends.base import CurveBackend  # noqa: E402
from zkmargin.circuits.layout import HEADER  # noqa: E402
from zkmargin.circuits.proving import prove_account  # noqa: E402
from zkmargin.circuits.registry import circuit_from_id  # noqa: E402
from zkmargin.field import R, inv  # noqa: E402
from zkmargin.groth16 import Proof, setup, verify  # noqa: E402
from zkmargin.groth16.batch import BatchItem, verify_batch  # noqa: E402
from zkmargin.groth16.data_structures import VerifyingKey  # noqa: E402
from zkmargin.groth16.serialization import decode_proofs, proof_from_bytes, proof_to_bytes, vk_to_json  # noqa: E402
from zkmargin.groth16.verifier import (  # noqa: E402
    FixedInputs,  # noqa: E402
    fixed_inputs_sum,
    verify_with_fixed_inputs,
)


def main() -> None:
    """Generate, verify both ways, print, write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "batch.json")
    parser.add_argument("--workers", type=int, default=None, help="threads for decoding and the check (default: CPUs)")
    parser.add_argument("--baseline", type=Path, action="append", default=[],
                        help="an older checkout to time on the same proofs (repeat for several, all in one run)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds with --baseline")
    args = parser.parse_args()
    backend = get_backend("arkworks")
    circuit = circuit_from_id("cross-n64-k8")
    rng = random.Random(2026)
    snapshot, _ = market(64, 8, rng)
    pk = setup(circuit.compile(), backend=backend)
    t = time.perf_counter()
    originals = []
    for i in range(args.accounts):
        _, account = market(64, 8, random.Random(i))
        account = type(account)(f"acct-{i}", account.collateral, account.positions)
        proof, public = prove_account(circuit, pk, account, snapshot, 10**6 + i, 77, backend)
        originals.append((proof, public.as_list()))
    prove_s = time.perf_counter() - t
    encoded = []
    for i in range(args.count):
        proof, public = originals[i % len(originals)]
        s = rng.randrange(1, R)
        variant = Proof(backend.g1_mul(proof.a, inv(s)), backend.g2_mul(proof.b, s), proof.c)
        encoded.append((proof_to_bytes(variant, backend), public))

    t = time.perf_counter()
    for data, public in encoded[: args.sample]:
        if not verify(pk.vk, public, proof_from_bytes(data, backend), backend):
            raise SystemExit("a re-randomised proof did not verify")
    single_ms = (time.perf_counter() - t) / args.sample * 1000
    # The best one-by-one path too: the snapshot's inputs folded once, as the service does.
    fixed = fixed_inputs_sum(pk.vk, len(HEADER), encoded[0][1][len(HEADER):], backend)
    t = time.perf_counter()
    for data, public in encoded[: args.sample]:
        if not verify_with_fixed_inputs(pk.vk, public[:2], fixed, proof_from_bytes(data, backend), backend):
            raise SystemExit("a re-randomised proof did not verify")
    single_fixed_ms = (time.perf_counter() - t) / args.sample * 1000

    t = time.perf_counter()
    proofs = decode_proofs([data for data, _ in encoded], backend, workers=args.workers or 2)
    decode_s = time.perf_counter() - t
    # As verify-batch does: the snapshot's inputs are folded once, items carry commitment and context.
    items = [BatchItem(public[:2], proof, label=str(i)) for i, (proof, (_, public)) in enumerate(zip(proofs, encoded))]
    t = time.perf_counter()
    result = verify_batch(pk.vk, items, backend, fixed=fixed, workers=args.workers)
    verify_s = time.perf_counter() - t
    if not result.all_valid:
        raise SystemExit("batch rejected valid proofs")
    batch_ms = (decode_s + verify_s) / args.count * 1000

    bad_index = args.count // 3
    items[bad_index] = BatchItem(items[bad_index].public_inputs,
                                 Proof(proofs[bad_index].a, proofs[bad_index].b, proofs[0].a), label="bad")
    t = time.perf_counter()
    isolated = verify_batch(pk.vk, items, backend, fixed=fixed, workers=args.workers)
    isolate_s = time.perf_counter() - t
    if isolated.invalid_indices != [bad_index]:
        raise SystemExit("bisection did not name the bad proof")

    rows = {
        "proofs": args.count,
        "distinct_accounts": args.accounts,
        "public_inputs": circuit.num_public,
        "one_by_one_ms_per_proof": single_ms,
        "one_by_one_fixed_inputs_ms_per_proof": single_fixed_ms,
        "speedup_vs_fixed_inputs_one_by_one": single_fixed_ms / batch_ms,
        "batch_ms_per_proof": batch_ms,
        "batch_decode_s": decode_s,
        "batch_verify_s": verify_s,
        "batch_proofs_per_s": args.count / (decode_s + verify_s),
        "speedup": single_ms / batch_ms,
        "one_bad_isolation_s": isolate_s,
        "one_bad_pairing_checks": isolated.pairing_checks,
        "real_proofs_prove_s": prove_s,
    }
    print(f"{'proofs':>7} {'1-by-1 ms/proof':>16} {'(fixed inputs)':>15} {'batch ms/proof':>15} {'speedup':>12} "
          f"{'proofs/s':>9} {'decode s':>9} {'verify s':>9} {'1 bad: s / checks':>18}")
    print(f"{args.count:>7} {single_ms:>16.3f} {single_fixed_ms:>15.3f} {batch_ms:>15.3f} "
          f"{rows['speedup']:>5.1f} / {rows['speedup_vs_fixed_inputs_one_by_one']:>4.1f} "
          f"{rows['batch_proofs_per_s']:>9.0f} {decode_s:>9.2f} {verify_s:>9.2f} "
          f"{isolate_s:>10.2f} / {isolated.pairing_checks}")
    if args.baseline:
        ours = lambda: _batch_round(pk.vk, encoded, fixed, backend, args.workers)  # noqa: E731
        olds, new_s = compare_with_baseline(args.baseline, pk.vk, encoded, len(HEADER), args.rounds, ours, backend)
        new_wall, new_cpu = statistics.median(w for w, _ in new_s), statistics.median(c for _, c in new_s)
        rows["this_round_wall_cpu_s"] = new_s
        rows["this_proofs_per_s"] = args.count / new_wall
        rows["this_cpu_ms_per_proof"] = new_cpu / args.count * 1000
        rows["baselines"] = []
        for path, old_s in zip(args.baseline, olds):
            old_wall, old_cpu = statistics.median(w for w, _ in old_s), statistics.median(c for _, c in old_s)
            entry = {"path": str(path), "revision": _revision(path), "round_wall_cpu_s": old_s,
                     "baseline_proofs_per_s": args.count / old_wall,
                     "baseline_cpu_ms_per_proof": old_cpu / args.count * 1000,
                     "proofs_per_s_vs_baseline": old_wall / new_wall,
                     "cpu_per_proof_baseline_over_this": old_cpu / new_cpu}
            rows["baselines"].append(entry)
            print(f"decode + batch verify of the same {args.count} proofs, median of {args.rounds} alternating rounds: "
                  f"{entry['revision']} {entry['baseline_proofs_per_s']:.0f} proofs/s, this checkout "
                  f"{rows['this_proofs_per_s']:.0f} proofs/s = {entry['proofs_per_s_vs_baseline']:.2f}x; CPU a proof "
                  f"{entry['baseline_cpu_ms_per_proof']:.3f} vs {rows['this_cpu_ms_per_proof']:.3f} ms "
                  f"= {entry['cpu_per_proof_baseline_over_this']:.2f}x "
                  f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    rows["load_average_1min"] = os.getloadavg()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(), **rows}, indent=1))
    print(f"wrote {args.out}")


_DRIVER = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from zkmargin.backends import get_backend
from zkmargin.groth16.batch import BatchItem, verify_batch
from zkmargin.groth16.serialization import decode_proofs, vk_from_json
from zkmargin.groth16.verifier import fixed_inputs_sum
job = json.load(open(sys.argv[2]))
backend = get_backend("arkworks")
vk = vk_from_json(job["vk"], backend)
data = open(sys.argv[3], "rb").read()
encoded = [data[i : i + 192] for i in range(0, len(data), 192)]
publics, header = [[int(x) for x in p] for p in job["publics"]], job["header"]
fixed = fixed_inputs_sum(vk, header, publics[0][header:], backend)
def cpu():
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + child.ru_utime + child.ru_stime
for line in sys.stdin:
    t, c = time.perf_counter(), cpu()
    proofs = decode_proofs(encoded, backend, workers=2)
    items = [BatchItem(public[:header], proof) for proof, public in zip(proofs, publics)]
    assert verify_batch(vk, items, backend, fixed=fixed).all_valid
    print(time.perf_counter() - t, cpu() - c, flush=True)
"""
"""Runs in the older checkout: decodes and batch-verifies the proofs once per line read, printing the seconds
(wall, then CPU of every thread and worker process)."""


def _batch_round(vk: VerifyingKey, encoded: list[tuple[bytes, list[int]]], fixed: FixedInputs | None, backend: CurveBackend,
                 workers: int | None) -> tuple[float, float]:
    """Seconds (wall, CPU) to decode and batch-verify the proofs, as the driver times the baseline."""
    t, cpu = time.perf_counter(), time.process_time()
    proofs = decode_proofs([data for data, _ in encoded], backend, workers=workers or 2)
    items = [BatchItem(public[: fixed.leading], proof) for proof, (_, public) in zip(proofs, encoded)]
    if not verify_batch(vk, items, backend, fixed=fixed, workers=workers).all_valid:
        raise SystemExit("batch rejected valid proofs")
    return time.perf_counter() - t, time.process_time() - cpu


def _revision(path: Path) -> str:
    """The short commit checked out at path ('?' when it is not a git checkout)."""
    done = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "?"


def compare_with_baseline(paths: list[Path], vk: VerifyingKey, encoded: list[tuple[bytes, list[int]]], header: int,
                          rounds: int, ours: Callable[[], tuple[float, float]], backend: CurveBackend,
                          ) -> tuple[list[list[tuple[float, ...]]], list[tuple[float, float]]]:
    """Round times (one list per baseline, ours), each (wall, CPU) seconds; every round runs each baseline, then ours."""
    with tempfile.TemporaryDirectory() as tmp:
        job, blob = Path(tmp) / "job.json", Path(tmp) / "proofs.bin"
        job.write_text(json.dumps({"vk": vk_to_json(vk, backend), "header": header,
                                   "publics": [[str(x) for x in public] for _, public in encoded]}))
        blob.write_bytes(b"".join(data for data, _ in encoded))
        children = [subprocess.Popen([sys.executable, "-c", _DRIVER, str(path.resolve()), str(job), str(blob)],
                                     cwd=path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                    for path in paths]
        olds: list[list[tuple[float, ...]]] = [[] for _ in paths]
        new = []
        try:
            for _ in range(rounds):
                for child, old in zip(children, olds):
                    child.stdin.write("go\n")
                    child.stdin.flush()
                    line = child.stdout.readline()
                    if not line:
                        raise SystemExit("a baseline driver stopped")
                    old.append(tuple(map(float, line.split())))
                new.append(ours())
        finally:
            for child in children:
                child.stdin.close()
                child.wait()
    return olds, new


if __name__ == "__main__":
    main()
