"""Batch verification of 10,000 cross-margin proofs (cross-n64-k8) against one-by-one verification.

Proofs: --accounts real proofs of distinct random accounts, each re-randomised
((A/t, tB, C) for random t: still a valid proof of the same statement, with new
bytes) up to --count. Both paths start from the 192-byte proofs, so point
decoding with subgroup checks is counted on both sides. One-by-one time is
measured on a sample and reported per proof. Prints a table, writes JSON.

--baseline PATH runs PATH/bench/batch.py (a checkout of an older main with its C extensions built in place:
`python setup.py build_ext --inplace` there) with the same sizes first, in the same run, and prints the ratio
of the two batch throughputs. The older checkout imports its own zkmargin; zkmargin.circuits comes from the
installed package (the circuits themselves are the same).

Usage: python bench/batch.py [--count 10000] [--accounts 20] [--sample 300] [--workers N] [--baseline PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cross import market  # noqa: E402

from zkmargin.backends import get_backend  # noqa: E402
from zkmargin.circuits.layout import HEADER  # noqa: E402
from zkmargin.circuits.proving import prove_account  # noqa: E402
from zkmargin.circuits.registry import circuit_from_id  # noqa: E402
from zkmargin.field import R, inv  # noqa: E402
from zkmargin.groth16 import Proof, setup, verify  # noqa: E402
from zkmargin.groth16.batch import BatchItem, verify_batch  # noqa: E402
from zkmargin.groth16.serialization import decode_proofs, proof_from_bytes, proof_to_bytes  # noqa: E402
from zkmargin.groth16.verifier import fixed_inputs_sum, verify_with_fixed_inputs  # noqa: E402


def main() -> None:
    """Generate, verify both ways, print, write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "batch.json")
    parser.add_argument("--workers", type=int, default=None, help="threads for decoding and the check (default: CPUs)")
    parser.add_argument("--baseline", type=Path, default=None, help="a checkout of an older main to run first")
    args = parser.parse_args()
    baseline = run_baseline(args) if args.baseline is not None else None
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
    if baseline is not None:
        rows["baseline"] = {"path": str(args.baseline), **baseline}
        rows["proofs_per_s_vs_baseline"] = rows["batch_proofs_per_s"] / baseline["batch_proofs_per_s"]
        print(f"baseline {args.baseline}: {baseline['batch_proofs_per_s']:.0f} proofs/s; "
              f"this checkout {rows['batch_proofs_per_s']:.0f} proofs/s = {rows['proofs_per_s_vs_baseline']:.2f}x")
    rows["load_average_1min"] = os.getloadavg()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(), **rows}, indent=1))
    print(f"wrote {args.out}")


def run_baseline(args: argparse.Namespace) -> dict:
    """The older checkout's bench/batch.py at the same sizes; its JSON rows."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "baseline.json"
        command = [sys.executable, str(args.baseline / "bench" / "batch.py"), "--count", str(args.count),
                   "--accounts", str(args.accounts), "--sample", str(args.sample), "--out", str(out)]
        subprocess.run(command, cwd=args.baseline, check=True)
        return json.loads(out.read_text())


if __name__ == "__main__":
    main()
