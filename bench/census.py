"""Constraints of the census by account size: the one-hot design against J - 1 comparisons, and the batch circuits.

Per slot: census_figures (a private one-hot bucket, two range checks) next to the obvious alternative, one
230-bit comparison of the requirement with each bound (gadgets.range.is_less_than) whose differences give the
one-hot vector, both followed by the same 2J products. Per circuit: the book batch statement's constraints and
public inputs as built now (the census included). Counting only: no keys, no proofs.

Usage: python bench/census.py [--circuits book-cross-n8-k4-b8 book-cross-n8-k4-b16] [--out bench/results/census.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zkmargin.book.reference import CENSUS_BOUNDS_E32, CENSUS_BUCKETS, LEAF_SUM_BITS  # noqa: E402
from zkmargin.circuits.book_census import census_figures  # noqa: E402
from zkmargin.circuits.registry import circuit_from_id  # noqa: E402
from zkmargin.gadgets.range import is_less_than  # noqa: E402
from zkmargin.r1cs import ConstraintSystem  # noqa: E402


def one_hot_cost() -> int:
    """Constraints of census_figures for one slot."""
    cs = ConstraintSystem("setup")
    requirement, below, shortfall = (cs.private_input(n) for n in ("requirement", "below", "shortfall"))
    census_figures(cs, requirement, below, shortfall)
    return cs.num_constraints


def comparisons_cost() -> int:
    """Constraints of the alternative: [requirement >= bound] for each bound, flags as their differences."""
    cs = ConstraintSystem("setup")
    requirement, below, shortfall = (cs.private_input(n) for n in ("requirement", "below", "shortfall"))
    at_least = [cs.one - is_less_than(cs, requirement, cs.constant(bound), LEAF_SUM_BITS, f"ge[{j}]")
                for j, bound in enumerate(CENSUS_BOUNDS_E32)]
    steps = [cs.one, *at_least, cs.constant(0)]
    flags = [steps[j] - steps[j + 1] for j in range(CENSUS_BUCKETS)]
    for j, flag in enumerate(flags):
        cs.mul(flag, below, f"below[{j}]")
        cs.mul(flag, shortfall, f"shortfall[{j}]")
    return cs.num_constraints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circuits", nargs="+", default=["book-cross-n8-k4-b8", "book-cross-n8-k4-b16"])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "census.json")
    args = parser.parse_args()
    per_slot = {"one_hot": one_hot_cost(), "comparisons": comparisons_cost()}
    print(f"census per slot (J = {CENSUS_BUCKETS}): one-hot {per_slot['one_hot']}, "
          f"comparisons {per_slot['comparisons']} ({per_slot['comparisons'] / per_slot['one_hot']:.2f}x)")
    rows = []
    print(f"{'circuit':<24} {'constraints':>12} {'public inputs':>14}")
    for circuit_id in args.circuits:
        compiled = circuit_from_id(circuit_id).compile()
        rows.append({"circuit": circuit_id, "constraints": compiled.num_constraints, "public": compiled.num_public})
        print(f"{circuit_id:<24} {compiled.num_constraints:>12,} {compiled.num_public:>14}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.machine(), "buckets": CENSUS_BUCKETS, "per_slot": per_slot,
                                    "circuits": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
