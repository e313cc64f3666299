"""Margin statements over zkmargin's R1CS builder, one sibling module each.

protocol   what a statement provides (circuit id, public layout, synthesize, witness, commitment, health check)
layout     public inputs declared once: named fields that allocate, flatten and count themselves
parts      shared free functions and gadgets (position and collateral terms, one-hot, opening, covers check)
cross, isolated, tiered, portfolio   the statements; none imports another
membership any statement in anonymous-membership mode: private commitment under a public root, nullifier
circuit    any statement made usable: compile, public inputs from the verifier's snapshot, assignment
proving    prove an account, verify a proof against the verifier's snapshot
registry   the margin models and circuit ids, in one place
"""
