"""Gadgets over the R1CS builder: range checks, comparisons, Poseidon, Merkle membership, selection."""

from zkmargin.gadgets.merkle import (
    merkle_membership_gadget,
    merkle_node,
    nullifier,
    nullifier_gadget,
)
from zkmargin.gadgets.poseidon import poseidon_hash, poseidon_permutation
from zkmargin.gadgets.poseidon_gadget import (
    poseidon_hash_gadget,
    poseidon_permutation_gadget,
)
from zkmargin.gadgets.range import (
    abs_value,
    assert_less_or_equal,
    assert_signed,
    assert_unsigned,
    is_less_than,
)
from zkmargin.gadgets.selection import assert_index, assert_lookups, mux_tree

__all__ = [
    "abs_value",
    "assert_index",
    "assert_less_or_equal",
    "assert_lookups",
    "assert_signed",
    "assert_unsigned",
    "is_less_than",
    "merkle_membership_gadget",
    "merkle_node",
    "mux_tree",
    "nullifier",
    "nullifier_gadget",
    "poseidon_hash",
    "poseidon_hash_gadget",
    "poseidon_permutation",
    "poseidon_permutation_gadget",
]
