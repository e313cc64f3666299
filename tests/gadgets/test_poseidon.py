"""Poseidon: the authors' published vectors, and the gadget equals the out-of-circuit function."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkmargin.errors import EncodingError
from zkmargin.field import R
from zkmargin.gadgets.poseidon import (
    poseidon_hash,
    poseidon_params,
    poseidon_permutation,
)
from zkmargin.gadgets.poseidon_gadget import (
    poseidon_hash_gadget,
    poseidon_permutation_gadget,
)
from zkmargin.r1cs import ConstraintSystem

# hadeshash/code/test_vectors.txt, poseidonperm_x5_255_3 and poseidonperm_x5_255_5.
REFERENCE_VECTORS = {
    3: [
        0x28CE19420FC246A05553AD1E8C98F5C9D67166BE2C18E9E4CB4B4E317DD2A78A,
        0x51F3E312C95343A896CFD8945EA82BA956C1118CE9B9859B6EA56637B4B1DDC4,
        0x3B2B69139B235626A0BFB56C9527AE66A7BF486AD8C11C14D1DA0C69BBE0F79A,
    ],
    5: [
        0x2A918B9C9F9BD7BB509331C81E297B5707F6FC7393DCEE1B13901A0B22202E18,
        0x65EBF8671739EEB11FB217F2D5C5BF4A0C3F210E3F3CD3B08B5DB75675D797F7,
        0x2CC176FC26BC70737A696A9DFD1B636CE360EE76926D182390CDB7459CF585CE,
        0x4DC4E29D283AFD2A491FE6AEF122B9A968E74EFF05341F3CC23FDA1781DCB566,
        0x03FF622DA276830B9451B88B85E6184FD6AE15C8AB3EE25A5667BE8592CCE3B1,
    ],
}


@pytest.mark.parametrize("width", [3, 5])
def test_reference_vectors(width):
    assert poseidon_permutation(list(range(width)), width) == REFERENCE_VECTORS[width]


@pytest.mark.parametrize("width,expected", [(3, 243), (5, 300)])
def test_gadget_matches_and_costs(width, expected):
    cs = ConstraintSystem("check")
    state = [cs.private_input(f"s{i}", i) for i in range(width)]
    out = poseidon_permutation_gadget(cs, state, width)
    assert [o.value for o in out] == REFERENCE_VECTORS[width]
    assert cs.num_constraints == expected
    assert cs.is_satisfied()


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, R - 1), min_size=0, max_size=9), st.integers(0, 2**64))
def test_sponge_gadget_equals_function(elements, tag):
    cs = ConstraintSystem("check")
    inputs = [cs.private_input(f"m{i}", v) for i, v in enumerate(elements)]
    digest = poseidon_hash_gadget(cs, inputs, tag)
    assert digest.value == poseidon_hash(elements, tag)
    assert cs.is_satisfied()


def test_tampered_sbox_output_names_its_round():
    cs = ConstraintSystem("check")
    state = [cs.private_input(f"s{i}", i) for i in range(3)]
    cs_values = poseidon_permutation_gadget(cs, state, 3)
    assert cs.is_satisfied() and cs_values
    # Variable 4 is the first S-box's x^2 (after the three inputs and the constant one).
    from zkmargin.r1cs import LinearCombination

    cs.set_value(LinearCombination({4: 1}, None), 12345)
    assert cs.which_is_unsatisfied() == "poseidon/round0/sbox0/x2"


def test_domain_tag_and_length_separate():
    assert poseidon_hash([1, 2], 1) != poseidon_hash([1, 2], 2)
    assert poseidon_hash([1, 2, 3, 4, 5], 7) != poseidon_hash([1, 2, 3, 4, 6], 7)


@pytest.mark.parametrize("bad", [[R], [-1], ["1"]])
def test_inputs_must_be_field_elements(bad):
    with pytest.raises(EncodingError):
        poseidon_hash(bad, 0)


def test_unsupported_width():
    with pytest.raises(EncodingError):
        poseidon_params(4)


def test_constants_are_field_elements_and_mds_invertible_shape():
    params = poseidon_params(5)
    assert len(params.round_constants) == (8 + 60) * 5
    assert all(0 <= c < R for c in params.round_constants)
    assert len({c for c in params.round_constants}) == len(params.round_constants)
    rng = random.Random(1)
    x = [rng.randrange(R) for _ in range(5)]
    assert poseidon_permutation(x, 5) != poseidon_permutation([x[0] + 1, *x[1:]], 5)


@pytest.mark.parametrize("width", [3, 5])
def test_prove_mode_solves_the_same_assignment_as_check_mode(width):
    # Prove mode runs the linear layer on plain integers: its variables, their order and values must be
    # exactly those that check mode records and verifies against the constraints.
    values = [R - 1 - i for i in range(2 * width + 1)]
    assignments = {}
    for mode in ("check", "prove"):
        cs = ConstraintSystem(mode)
        inputs = [cs.private_input(f"m{i}", v) for i, v in enumerate(values)]
        digest = poseidon_hash_gadget(cs, inputs, 7, width)
        assert digest.value == poseidon_hash(values, 7, width)
        if mode == "check":
            assert cs.is_satisfied()
        assignments[mode] = (cs.num_constraints, cs.assignment())
    assert assignments["prove"] == assignments["check"]
