"""Poseidon in-circuit: the same permutation and sponge as zkmargin.gadgets.poseidon.

Cost: an x^5 S-box is 3 constraints (x^2, x^4, x^5); round constants and the MDS
layer are free linear combinations. One permutation is 3 * (R_F * t + R_P)
constraints: 243 at width 3, 300 at width 5.
"""

from __future__ import annotations

from collections.abc import Sequence

from zkmargin.errors import CircuitError
from zkmargin.field import R
from zkmargin.gadgets.poseidon import PoseidonParams, poseidon_params
from zkmargin.r1cs import ConstraintSystem, LinearCombination


def _sbox(cs: ConstraintSystem, x: LinearCombination, label: str) -> LinearCombination:
    x2 = cs.mul(x, x, f"{label}/x2")
    x4 = cs.mul(x2, x2, f"{label}/x4")
    return cs.mul(x4, x, f"{label}/x5")


def poseidon_permutation_gadget(
    cs: ConstraintSystem, state: Sequence[LinearCombination], width: int, label: str = "poseidon"
) -> list[LinearCombination]:
    """The permutation applied to width linear combinations."""
    params = poseidon_params(width)
    if len(state) != width:
        raise CircuitError(f"state must have {width} elements")
    if not cs.records_constraints:
        return _permutation_values(cs, state, params, label)
    words = list(state)
    constants = iter(params.round_constants)
    half = params.full_rounds // 2
    for round_index in range(params.full_rounds + params.partial_rounds):
        words = [w + next(constants) for w in words]
        if half <= round_index < half + params.partial_rounds:
            words[0] = _sbox(cs, words[0], f"{label}/round{round_index}/sbox0")
        else:
            words = [_sbox(cs, w, f"{label}/round{round_index}/sbox{i}") for i, w in enumerate(words)]
        mixed = []
        for row in params.mds:
            acc = cs.constant(0)
            for m, w in zip(row, words):
                acc = acc + w * m
            mixed.append(acc)
        words = mixed
    return words


def _permutation_values(cs: ConstraintSystem, state: Sequence[LinearCombination], params: PoseidonParams,
                        label: str) -> list[LinearCombination]:
    """Prove mode: the same S-box variables in the same order, the free linear layer on plain integers.

    The witness is most of a proof's Python time and the MDS products were most of that.
    """
    words = [_value(w, label) for w in state]
    constants = iter(params.round_constants)
    half = params.full_rounds // 2
    for round_index in range(params.full_rounds + params.partial_rounds):
        words = [(w + next(constants)) % R for w in words]
        partial = half <= round_index < half + params.partial_rounds
        for i in range(1 if partial else len(words)):
            words[i] = _value(_sbox(cs, cs.constant(words[i]), label), label)
        words = [sum(m * w for m, w in zip(row, words)) % R for row in params.mds]
    return [cs.constant(w) for w in words]


def _value(lc: LinearCombination, label: str) -> int:
    """lc's value in prove mode (a builder without values never takes the values-only path)."""
    if lc.value is None:
        raise CircuitError(f"{label}: no value assigned")
    return lc.value


def poseidon_hash_gadget(
    cs: ConstraintSystem, elements: Sequence[LinearCombination], domain_tag: int, width: int = 5
) -> LinearCombination:
    """Sponge hash matching poseidon_hash (capacity = domain tag, zero padding, output state[1])."""
    rate = width - 1
    state = [cs.constant(domain_tag)] + [cs.constant(0) for _ in range(rate)]
    message = list(elements) or [cs.constant(0)]
    for block_index, start in enumerate(range(0, len(message), rate)):
        block = message[start : start + rate]
        for i, value in enumerate(block):
            state[1 + i] = state[1 + i] + value
        state = poseidon_permutation_gadget(cs, state, width, f"block{block_index}")
    return state[1]
