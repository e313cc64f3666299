"""The book's top proof: constraints, setup, prove and verify for 2^T batch roots, auditor and hidden mode, one run.

A random book of 2^(b+T) leaves (figures drawn below their leaf bounds, so no account is needed),
folded into its tree; the top over its 2^T batch roots is proved against its totals (auditor) or
reserves exactly at its liabilities (hidden). Next to it, the verifier's plain-Python fold over
the same batch roots (what an auditor-mode book without a top proof costs the verifier).

Usage: python bench/book_top.py [--tops 4 6] [--assets 4] [--batch 16] [--out bench/results/book_top.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zkmargin.backends import get_backend  # noqa: E402
from zkmargin.book.batches import top_node  # noqa: E402
from zkmargin.book.reference import CENSUS_BUCKETS, BookSums  # noqa: E402
from zkmargin.book.tree import BookNode, BookTree  # noqa: E402
from zkmargin.circuits.book_proving import prove_top, verify_top  # noqa: E402
from zkmargin.circuits.registry import circuit_from_id  # noqa: E402
from zkmargin.groth16 import setup  # noqa: E402
from zkmargin.margin.samples import sample_snapshot  # noqa: E402


def random_tree(n_leaves: int, depth: int, n_assets: int, rng: random.Random) -> BookTree:
    """A book tree over random leaves (each figure within its leaf bound)."""
    leaves = []
    for _ in range(n_leaves):
        below = rng.random() < .1
        shortfall = rng.randint(0, 10**39) if below else 0
        bucket = [0] * CENSUS_BUCKETS
        bucket[rng.randrange(CENSUS_BUCKETS)] = 1  # the census: this leaf's below and shortfall in one bucket
        sums = BookSums(1, tuple(rng.randint(0, 10**12) for _ in range(n_assets)), rng.randint(0, 10**40),
                        rng.randint(0, 10**38) if below else 0, int(below), shortfall,
                        tuple(int(below) * f for f in bucket), tuple(shortfall * f for f in bucket))
        leaves.append(BookNode(rng.randrange(1, 2**250), sums))
    return BookTree(leaves, depth, n_assets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tops", type=int, nargs="+", default=[4, 6])
    parser.add_argument("--assets", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "book_top.json")
    args = parser.parse_args()
    backend = get_backend()
    rng = random.Random(27)
    snapshot = sample_snapshot()
    b = args.batch.bit_length() - 1
    rows = []
    for t in args.tops:
        tree = random_tree(1 << (b + t), b + t, args.assets, rng)
        roots = [tree.node(b, i) for i in range(1 << t)]
        started = time.perf_counter()
        assert top_node(roots, b, b + t, args.assets) == tree.root
        fold_s = time.perf_counter() - started
        for mode in ("auditor", "hidden"):
            circuit = circuit_from_id(f"book-top-k{args.assets}-b{args.batch}-t{t}" + ("-h" if mode == "hidden" else ""))
            started = time.perf_counter()
            compiled = circuit.compile()
            compile_s = time.perf_counter() - started
            started = time.perf_counter()
            pk = setup(compiled, backend=backend)
            setup_s = time.perf_counter() - started
            deposits = tree.root.sums.deposits_e8
            # Hidden: reserves exactly at the liabilities (P&L owed rounded up into the settlement asset).
            tail = ((deposits[0] - (-tree.root.sums.pnl_owed_e32 // 10**24), *deposits[1:]) if mode == "hidden"
                    else tree.root.sums.as_fields())
            started = time.perf_counter()
            proof = prove_top(circuit, pk, snapshot, tree, 1 << t, tail, backend)
            prove_s = time.perf_counter() - started
            started = time.perf_counter()
            ok = verify_top(circuit, pk.vk, snapshot, tree.root.hash, [r.hash for r in roots], tail, proof, backend)
            verify_s = time.perf_counter() - started
            assert ok
            rows.append({"circuit_id": circuit.circuit_id, "mode": mode, "T": t, "children": 1 << t,
                         "constraints": compiled.num_constraints, "public_inputs": circuit.num_public,
                         "compile_s": round(compile_s, 3), "setup_s": round(setup_s, 3), "prove_s": round(prove_s, 3),
                         "verify_ms": round(1000 * verify_s, 2), "plain_fold_ms": round(1000 * fold_s, 2)})
            print(f"{circuit.circuit_id:24} {compiled.num_constraints:>9,} constraints  setup {setup_s:7.2f} s  "
                  f"prove {prove_s:7.2f} s  verify {1000 * verify_s:7.2f} ms  (plain fold {1000 * fold_s:7.1f} ms)",
                  flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "cores": os.cpu_count(), "backend": backend.name,
                                    "batch": args.batch, "assets": args.assets, "rows": rows}, indent=1) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
