"""What GLV (G1) and the psi endomorphism (G2) could save in the native MSM at best: n full-width scalars
against 2n half-width (G1) or 4n quarter-width (G2) ones, plain and over fixed-base tables.

GLV splits k = k1 + lambda k2 (lambda^2 + lambda + 1 = 0 mod r, |k1|, |k2| ~ 2^128) and adds sigma(P) as
a second base, so an MSM of n 255-bit scalars becomes one of 2n 128-bit scalars; in G2, psi acts as the
curve parameter x (|x| = 64 bits, x^4 - x^2 + 1 = 0 mod r), so k = k0 + k1 x + k2 x^2 + k3 x^3 makes it one
of 4n 64-bit scalars. Timing the split shape on the existing MSM (random short scalars, no decomposition
cost, the extra bases free) bounds the gain from above. Pippenger spends most of its work on one addition
per point and window, which the split leaves unchanged (parts x the points, 1 / parts the windows); only the
per-window bucket sums shrink, and over fixed-base tables (the prover's default) there is one bucket sum for
the whole MSM already, so nothing is left to save. A proof's witness scalars are mostly 0/1 or 64-bit, which
no split shortens. Figures: best of --reps process CPU times.

Usage: python bench/glv.py [--reps 5] [--out bench/results/glv.json]
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
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zkmargin.backends import arkworks as arkworks_module  # noqa: E402
from zkmargin.backends import get_backend  # noqa: E402
from zkmargin.field import R  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable


def _best_ms(reps: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(reps):
        t = time.process_time()
        run()
        times.append(time.process_time() - t)
    return min(times) * 1e3


TABLE_WINDOW = 13
"""The window zkmargin.groth16.query_bases picks for cross-n64-k8's queries with the default budget."""


def _shape_ms(backend: object, native: object, rng: random.Random, group: str, parts: int, n: int, tabled: bool,
              reps: int) -> tuple[float, float]:
    """CPU ms of an MSM of n full-width scalars and of one of parts * n scalars of 256 / parts bits (the shape
    after GLV, parts = 2, in G1 or the psi decomposition k = sum k_i x^i, parts = 4, in G2), plain or over
    fixed-base tables."""
    generator = backend.g1_generator() if group == "g1" else backend.g2_generator()
    batch = backend.g1_batch_mul_bases if group == "g1" else backend.g2_batch_mul_bases
    points, _ = batch(generator, [rng.randrange(1, R) for _ in range(parts * n)])
    xy = b"".join(bytes(p.to_xy_bytes_be()) for p in points)
    size = 96 if group == "g1" else 192
    prepare = getattr(native, f"{group}_points")
    bases_n, bases_split = prepare(xy[: size * n]), prepare(xy)
    full = b"".join(rng.randrange(R).to_bytes(32, "little") for _ in range(n))
    split = b"".join(rng.randrange(1 << (256 // parts)).to_bytes(32, "little") for _ in range(parts * n))
    if not tabled:
        msm = getattr(native, f"{group}_msm")
        return (_best_ms(reps, lambda: msm(bases_n, full)), _best_ms(reps, lambda: msm(bases_split, split)))
    table, msm_table = getattr(native, f"{group}_table"), getattr(native, f"{group}_msm_table")
    table_n, table_split = table(bases_n, TABLE_WINDOW), table(bases_split, TABLE_WINDOW)
    return (_best_ms(reps, lambda: msm_table(table_n, TABLE_WINDOW, full)),
            _best_ms(reps, lambda: msm_table(table_split, TABLE_WINDOW, split)))


def main() -> None:
    """Time both MSM shapes per size, print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "glv.json")
    args = parser.parse_args()
    native = arkworks_module.native_msm
    if native is None:
        raise SystemExit("zkmargin.native._msm is not built here: nothing to measure")
    backend = get_backend("arkworks")
    rng = random.Random(28)
    rows: dict[str, dict] = {}
    print(f"{'shape':>26} {'points':>7} {'full-width ms':>14} {'split ms':>9} {'best gain':>10}")
    shapes = [("g1", 2, n, False) for n in (1 << 12, 1 << 13, 1 << 14)] + [("g1", 2, n, True) for n in (1 << 13, 1 << 14)]
    shapes += [("g2", 4, n, False) for n in (1 << 10, 1 << 12)] + [("g2", 4, 1 << 12, True)]
    for group, parts, n, tabled in shapes:
        full_ms, split_ms = _shape_ms(backend, native, rng, group, parts, n, tabled, args.reps)
        name = f"{group} {'tables c=13' if tabled else 'plain'} {parts}n x {256 // parts}-bit"
        # The old rows' keys (plain G1) stay as they were: full_width_ms, glv_shape_ms, best_gain.
        key = str(n) if (group, tabled) == ("g1", False) else f"{group}_{'tables' if tabled else 'plain'}_{n}"
        rows[key] = {"shape": name, "full_width_ms": full_ms, "glv_shape_ms": split_ms, "best_gain": full_ms / split_ms}
        print(f"{name:>26} {n:>7} {full_ms:>14.1f} {split_ms:>9.1f} {full_ms / split_ms:>9.2f}x", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(), "rows": rows}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
