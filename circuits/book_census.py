"""The census of margin calls by account size, per slot of a book batch: one function every batch statement calls.

An account's size is its maintenance requirement (price unit, scale 1e32); bucket j holds
CENSUS_BOUNDS_E32[j - 1] <= requirement < CENSUS_BOUNDS_E32[j] (bucket 0 from 0, bucket J - 1 unbounded
above; docs/book.md). The bucket is a private one-hot vector (flags f_0 .. f_{J-1}), proved with two range
checks instead of J - 1 comparisons:
  * each f_j is boolean and sum_j f_j = 1, so exactly one bucket is chosen (an index out of range would be
    all zeros, a non-boolean vector such as (2, -1, 0, ...) sums to 1 but breaks f_j (f_j - 1) = 0);
  * requirement - sum_j f_j low_j lies in [0, 2^230): requirement >= the chosen bucket's lower bound (the
    requirement is below 2^228, parts.cross_terms's bound; below the bound the difference wraps to r - d > 2^230);
  * sum_{j < J-1} f_j (high_j - 1) - (1 - f_{J-1}) requirement lies in [0, 2^UPPER_BITS): requirement < the chosen
    bucket's upper bound; for the top bucket both terms are 0. Above the bound the difference wraps to r - d.
So the chosen bucket is the requirement's, exactly, at every boundary (a requirement equal to a bound is in the
bucket the bound opens). Every slot proves its bucket, healthy or padding (a padding slot's requirement is 0:
bucket 0): one path, no condition on being below maintenance, and the figures below zero what does not count.
Figures: below_j = f_j below and shortfall_j = f_j shortfall, with below and shortfall as the slot counts them
(zero for a padding slot); each is a boolean times a range-checked figure, so it is in [0, 2^230) and
sum_j below_j = below, sum_j shortfall_j = shortfall: the census adds up to the book-wide figures.
Cost: J booleans, 1 sum, 231 + 1 + UPPER_BITS + 1 for the range checks and the cap, 2J products: 376 for
J = 5, against 938 for J - 1 comparisons of the requirement with the bounds (gadgets.range.is_less_than, 232
each; the one-hot vector is then their differences) and the same 2J products.
"""

from __future__ import annotations

import functools

from zkmargin.book.reference import CENSUS_BOUNDS_E32, CENSUS_BUCKETS, LEAF_SUM_BITS, size_bucket
from zkmargin.gadgets.range import assert_unsigned
from zkmargin.r1cs import ConstraintSystem, LinearCombination

UPPER_BITS = CENSUS_BOUNDS_E32[-1].bit_length()
"""Every finite upper bound minus one is below 2^UPPER_BITS (127 bits for 1e38)."""


def bucket_flags(requirement_e32: int) -> tuple[int, ...]:
    """The one-hot vector of the requirement's size bucket (the prover's hint; the constraints check it)."""
    bucket = size_bucket(requirement_e32)
    return tuple(int(j == bucket) for j in range(CENSUS_BUCKETS))


def census_figures(cs: ConstraintSystem, requirement: LinearCombination, below: LinearCombination,
                   shortfall: LinearCombination) -> tuple[list[LinearCombination], list[LinearCombination]]:
    """(below_j, shortfall_j) per size bucket j: below and shortfall in the requirement's bucket, 0 in the others.

    Preconditions: requirement in [0, 2^228) (the cross terms' bound), below boolean and shortfall in
    [0, 2^230) (both range-checked by the caller, zero for a padding slot). Cost 3J + 361 (376 for J = 5).
    """
    with cs.namespace("census"):
        values = bucket_flags(requirement.value) if cs.has_values else None  # type: ignore[arg-type]
        flags = [cs.alloc(f"bucket[{j}]", None if values is None else functools.partial(values.__getitem__, j))
                 for j in range(CENSUS_BUCKETS)]
        for j, flag in enumerate(flags):
            cs.assert_bool(flag, f"bucket[{j}]/bool")
        chosen = cs.constant(0)
        lower = cs.constant(0)
        upper = cs.constant(0)
        for j, flag in enumerate(flags):
            chosen = chosen + flag
            if j > 0:
                lower = lower + flag * CENSUS_BOUNDS_E32[j - 1]
            if j < CENSUS_BUCKETS - 1:
                upper = upper + flag * (CENSUS_BOUNDS_E32[j] - 1)
        cs.assert_equal(chosen, cs.one, "one_bucket")
        assert_unsigned(cs, requirement - lower, LEAF_SUM_BITS, "from_lower")
        bounded = cs.mul(cs.one - flags[-1], requirement, "bounded")  # the top bucket has no upper bound
        assert_unsigned(cs, upper - bounded, UPPER_BITS, "below_upper")
        return ([cs.mul(flag, below, f"below[{j}]") for j, flag in enumerate(flags)],
                [cs.mul(flag, shortfall, f"shortfall[{j}]") for j, flag in enumerate(flags)])
