"""What GLV could save in the native G1 MSM at best: n full-width scalars against 2n half-width ones.

GLV splits k = k1 + lambda k2 (lambda^2 + lambda + 1 = 0 mod r, |k1|, |k2| ~ 2^128) and adds sigma(P) as
a second base, so an MSM of n 255-bit scalars becomes one of 2n 128-bit scalars. Timing the second on the
existing MSM (random 128-bit scalars, no decomposition cost, the extra bases free) bounds the gain from
above. Pippenger with wide windows already spends most of its work on one addition per point and window,
which GLV leaves unchanged (twice the points, half the windows); only the bucket sums halve. And a proof's
witness scalars are mostly 0/1 or 64-bit, which GLV cannot shorten. Figures: best of --reps process CPU times.

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
    rows = {}
    print(f"{'points':>7} {'n x 255-bit ms':>15} {'2n x 128-bit ms':>16} {'best GLV gain':>14}")
    for log_n in (10, 12, 14):
        n = 1 << log_n
        points, _ = backend.g1_batch_mul_bases(backend.g1_generator(), [rng.randrange(1, R) for _ in range(2 * n)])
        xy = b"".join(bytes(p.to_xy_bytes_be()) for p in points)
        bases_n, bases_2n = native.g1_points(xy[: 96 * n]), native.g1_points(xy)
        full = b"".join(rng.randrange(R).to_bytes(32, "little") for _ in range(n))
        half = b"".join(rng.randrange(1 << 128).to_bytes(32, "little") for _ in range(2 * n))
        full_ms = _best_ms(args.reps, lambda: native.g1_msm(bases_n, full))  # noqa: B023
        half_ms = _best_ms(args.reps, lambda: native.g1_msm(bases_2n, half))  # noqa: B023
        rows[n] = {"full_width_ms": full_ms, "glv_shape_ms": half_ms, "best_gain": full_ms / half_ms}
        print(f"{n:>7} {full_ms:>15.1f} {half_ms:>16.1f} {full_ms / half_ms:>13.2f}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(), "rows": rows}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
