"""Membership mode against the plain cross statement, N = 64, K = 8, in one run: constraints, prove, verify.

cross-n64-k8 (named: public commitment) against cross-n64-k8-m20 and -m24 (anonymous: the commitment is a
private leaf under a public root, plus a nullifier). Verification is the SnapshotVerifier path every
surface uses (snapshot inputs folded once; 2 or 4 per-proof inputs). Keys are made once with the
arkworks backend and cached in a temp dir (setup of three circuits takes minutes on 2 cores). The three
circuits are measured round-robin, a warm-up round first.

Usage: python bench/membership.py [--reps 5] [--verifies 20] [--leaves 1000] [--out bench/results/membership.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cross import market  # noqa: E402

from zkmargin.backends import get_backend  # noqa: E402
from zkmargin.circuits.proving import prove_account, prove_member  # noqa: E402
from zkmargin.circuits.registry import circuit_from_id  # noqa: E402
from zkmargin.circuits.verification import SnapshotVerifier  # noqa: E402
from zkmargin.gadgets.merkle import identity_commitment, member_leaf  # noqa: E402
from zkmargin.groth16 import setup  # noqa: E402
from zkmargin.groth16.serialization import pk_from_bytes, pk_to_bytes  # noqa: E402
from zkmargin.venue.tree import MerklePath, MerkleTree  # noqa: E402

if TYPE_CHECKING:
    from zkmargin.backends import CurveBackend
    from zkmargin.circuits.circuit import AnyCircuit
    from zkmargin.groth16 import ProvingKey

PLAIN = "cross-n64-k8"
CIRCUITS = (PLAIN, f"{PLAIN}-m20", f"{PLAIN}-m24")
SALT, CONTEXT, SCOPE = 10**9 + 7, 42, 31337
SECRET = 0x5EC12E7  # the trader's identity secret
KEY_DIR = Path(tempfile.gettempdir()) / "zkmargin-bench-membership"


def proving_key(circuit: AnyCircuit, backend: CurveBackend) -> tuple[ProvingKey, float | None]:
    """The circuit's proving key, from the temp-dir cache or a fresh (seeded) setup; (key, setup seconds or None)."""
    path = KEY_DIR / f"{circuit.circuit_id}.pk"
    if path.exists():
        return pk_from_bytes(path.read_bytes(), backend), None
    started = time.perf_counter()
    pk = setup(circuit.compile(), random.Random(7), backend)
    elapsed = time.perf_counter() - started
    KEY_DIR.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pk_to_bytes(pk, backend))
    return pk, elapsed


class Case:
    """One circuit, ready to prove and verify: keys (cached), snapshot, account and, in membership mode, its path."""

    def __init__(self, circuit_id: str, leaves: int) -> None:
        self.backend = get_backend("arkworks")
        self.circuit = circuit_from_id(circuit_id)
        self.snapshot, self.account = market(64, 8, random.Random(64))
        started = time.perf_counter()
        self.compiled = self.circuit.compile()
        self.compile_s = time.perf_counter() - started
        self.pk, self.setup_s = proving_key(self.circuit, self.backend)
        self.verifier = SnapshotVerifier(self.circuit, self.pk.vk, self.snapshot, self.backend)
        self.path = None
        if self.circuit.is_membership:
            commitment = self.circuit.commitment(self.circuit.witness(self.account, self.snapshot, SALT))
            leaf = member_leaf(commitment, identity_commitment(SECRET))
            # The account among `leaves` others (stand-in commitments): a sparse tree of the circuit's depth.
            index = leaves // 2
            others = [10**6 + i for i in range(leaves)]
            tree = MerkleTree(others[:index] + [leaf] + others[index:], self.circuit.statement.depth)
            self.path = MerklePath(self.account.account_id, leaf, index, tuple(tree.path(index)), tree.root,
                                   tree.depth)
            self.verifier = self.verifier.with_root(tree.root)
        self.proves: list[float] = []
        self.verifies: list[float] = []

    def round(self, keep: bool, verifies: int) -> None:
        """Prove once and verify `verifies` times; keep the timings unless this is the warm-up."""
        t = time.perf_counter()
        if self.path is not None:
            proof, public = prove_member(self.circuit, self.pk, self.account, self.snapshot, SALT, CONTEXT,
                                         self.path, SCOPE, SECRET, self.backend)
        else:
            proof, public = prove_account(self.circuit, self.pk, self.account, self.snapshot, SALT, CONTEXT,
                                          self.backend)
        proved = time.perf_counter() - t
        checks = []
        for _ in range(verifies):
            t = time.perf_counter()
            if self.path is not None:
                ok = self.verifier.verify_member(public.commitment, CONTEXT, SCOPE, public.extra[1], proof)
            else:
                ok = self.verifier.verify(public.commitment, CONTEXT, proof)
            checks.append(time.perf_counter() - t)
            if not ok:
                raise SystemExit(f"{self.circuit.circuit_id}: proof did not verify")
        if keep:
            self.proves.append(proved)
            self.verifies.extend(checks)

    def row(self) -> dict:
        """Medians and sizes as one JSON row."""
        return {"circuit_id": self.circuit.circuit_id, "constraints": self.compiled.num_constraints,
                "public_inputs": self.compiled.num_public, "per_proof_inputs": self.circuit.per_proof_inputs,
                "compile_s": self.compile_s, "setup_s": self.setup_s,
                "prove_ms": statistics.median(self.proves) * 1000,
                "verify_ms": statistics.median(self.verifies) * 1000}


def main() -> None:
    """Run the three circuits in one process, print the table with ratios to the plain statement, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--verifies", type=int, default=20, help="verifications per proof")
    parser.add_argument("--leaves", type=int, default=1000, help="accounts in the venue's tree")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "membership.json")
    args = parser.parse_args()
    print(f"{'circuit':<18} {'constraints':>11} {'x plain':>7} {'setup s':>8} {'prove ms':>9} {'x plain':>7} "
          f"{'verify ms':>9} {'x plain':>7}")
    cases = [Case(circuit_id, args.leaves) for circuit_id in CIRCUITS]
    # Round-robin over the circuits, so that load changes on a shared machine hit all three alike.
    for rep in range(args.reps + 1):
        for case in cases:
            case.round(keep=rep > 0, verifies=args.verifies)
    rows: list[dict] = []
    for case in cases:
        row = case.row()
        base = rows[0] if rows else row
        row["constraints_ratio"] = row["constraints"] / base["constraints"]
        row["prove_ratio"] = row["prove_ms"] / base["prove_ms"]
        row["verify_ratio"] = row["verify_ms"] / base["verify_ms"]
        rows.append(row)
        setup_text = "cached" if row["setup_s"] is None else f"{row['setup_s']:.1f}"
        print(f"{row['circuit_id']:<18} {row['constraints']:>11} {row['constraints_ratio']:>7.2f} {setup_text:>8} "
              f"{row['prove_ms']:>9.1f} {row['prove_ratio']:>7.2f} {row['verify_ms']:>9.2f} "
              f"{row['verify_ratio']:>7.2f}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(),
                                    "load_average": os.getloadavg(), "reps": args.reps, "verifies": args.verifies,
                                    "leaves": args.leaves,
                                    "rows": rows}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
