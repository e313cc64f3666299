"""Subgroup checks by endomorphism against the checks they replace, per decoded point and per 192-byte proof.

Arkworks backend: "library" is the curve library's checked decoder (what the backend called before), "ours"
the backend's decoder now (the library decodes unchecked, zkmargin.native._msm checks on the curve and in the
subgroup by endomorphism); "proof" is proof_from_bytes (2 G1 + 1 G2 compressed) on each. py_ecc backend:
multiplication by r against the endomorphism check. Each row's two sides are timed interleaved rep by rep
so machine load hits them alike; figures are medians of per-rep means of process CPU time. The ratio is library / ours.

Usage: python bench/subgroup.py [--reps 30] [--points 50] [--out bench/results/subgroup.json]
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
from typing import TYPE_CHECKING, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from py_arkworks_bls12381 import G1Point, G2Point  # noqa: E402

from zkmargin.backends import arkworks as arkworks_module  # noqa: E402
from zkmargin.backends import (
    get_backend,  # noqa: E402
    py_ecc_backend,  # noqa: E402
)
from zkmargin.field import R  # noqa: E402
from zkmargin.groth16 import Proof  # noqa: E402
from zkmargin.groth16.serialization import proof_from_bytes, proof_to_bytes  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

T = TypeVar("T")


def _per_item_us(run: Callable[[bytes], object], items: Sequence[bytes]) -> float:
    # CPU time, not wall time: on a shared, loaded machine the wait for a core is not the code's cost.
    t = time.process_time()
    for item in items:
        run(item)
    return (time.process_time() - t) / len(items) * 1e6


def _pair(reps: int, library: Callable[[bytes], object], ours: Callable[[bytes], object],
          items: Sequence[bytes]) -> tuple[float, float]:
    """Medians over reps of the per-item time of library and ours, interleaved."""
    a, b = [], []
    for _ in range(reps):
        a.append(_per_item_us(library, items))
        b.append(_per_item_us(ours, items))
    return statistics.median(a), statistics.median(b)


def _without_native(decode: Callable[[bytes], T]) -> Callable[[bytes], T]:
    """decode with the backend's native check switched off: the library's checked decoders, as before."""

    def run(item: bytes) -> T:
        saved, arkworks_module.native_msm = arkworks_module.native_msm, None
        try:
            return decode(item)
        finally:
            arkworks_module.native_msm = saved

    return run


def main() -> None:
    """Time each check both ways, print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "subgroup.json")
    args = parser.parse_args()
    if arkworks_module.native_msm is None:
        raise SystemExit("zkmargin.native._msm is not built here: nothing to compare")
    backend = get_backend("arkworks")
    rng = random.Random(28)
    g1 = [backend.g1_mul(backend.g1_generator(), rng.randrange(1, R)) for _ in range(args.points)]
    g2 = [backend.g2_mul(backend.g2_generator(), rng.randrange(1, R)) for _ in range(args.points)]
    proofs = [proof_to_bytes(Proof(a, b, c), backend) for a, b, c in zip(g1, g2, reversed(g1))]
    g1c = [backend.g1_to_bytes(p) for p in g1]
    g2c = [backend.g2_to_bytes(p) for p in g2]
    g1u = [backend.g1_to_bytes(p, compressed=False) for p in g1]
    g2u = [backend.g2_to_bytes(p, compressed=False) for p in g2]
    rows = {
        "arkworks G1 compressed": _pair(args.reps, G1Point.from_compressed_bytes, backend.g1_from_bytes, g1c),
        "arkworks G2 compressed": _pair(args.reps, G2Point.from_compressed_bytes, backend.g2_from_bytes, g2c),
        "arkworks G1 uncompressed": _pair(
            args.reps, _without_native(backend.g1_from_bytes), backend.g1_from_bytes, g1u
        ),
        "arkworks G2 uncompressed": _pair(
            args.reps, _without_native(backend.g2_from_bytes), backend.g2_from_bytes, g2u
        ),
        "arkworks proof (192 bytes)": _pair(
            args.reps,
            _without_native(lambda data: proof_from_bytes(data, backend)),
            lambda data: proof_from_bytes(data, backend),
            proofs,
        ),
    }
    ref = get_backend("py_ecc")
    small = max(2, args.points // 10)
    p1 = [ref.g1_mul(ref.g1_generator(), rng.randrange(1, R)) for _ in range(small)]
    p2 = [ref.g2_mul(ref.g2_generator(), rng.randrange(1, R)) for _ in range(small)]
    ref_reps = max(1, args.reps // 10)
    rows["py_ecc G1 check"] = _pair(
        ref_reps, lambda p: py_ecc_backend.multiply(p, R), py_ecc_backend.g1_in_subgroup, p1
    )
    rows["py_ecc G2 check"] = _pair(
        ref_reps, lambda p: py_ecc_backend.multiply(p, R), py_ecc_backend.g2_in_subgroup, p2
    )
    print(f"{'decode / check, per item':<28} {'before us':>10} {'now us':>9} {'ratio':>6}")
    for name, (before, now) in rows.items():
        print(f"{name:<28} {before:>10.1f} {now:>9.1f} {before / now:>6.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": platform.platform(),
                "cpus": os.cpu_count(),
                "reps": args.reps,
                "points": args.points,
                "rows_us": {name: {"before": b, "now": n, "ratio": b / n} for name, (b, n) in rows.items()},
            },
            indent=1,
        )
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
