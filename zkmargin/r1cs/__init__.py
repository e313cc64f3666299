"""Rank-1 constraint systems: variables, linear combinations, constraints, witness solving."""

from zkmargin.r1cs.builder import CompiledR1CS, ConstraintSystem, LinearCombination

__all__ = ["CompiledR1CS", "ConstraintSystem", "LinearCombination"]
