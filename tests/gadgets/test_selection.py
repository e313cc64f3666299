"""Selection gadgets (zkmargin/gadgets/selection.py): index bounds at every boundary, the mux tree reads exactly
rows[index], the lookup accepts table values only (its challenge solved honestly), and their costs."""

from __future__ import annotations

import pytest

from zkmargin.errors import CircuitError
from zkmargin.field import R
from zkmargin.gadgets.selection import assert_index, assert_lookups, index_bits_for, mux_tree
from zkmargin.r1cs import ConstraintSystem

ROWS = [11, 22, 33, 44, 55]


@pytest.mark.parametrize("n_rows,bits", [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (1024, 10), (1025, 11), (9999, 14)])
def test_index_width(n_rows, bits):
    assert index_bits_for(n_rows) == bits


@pytest.mark.parametrize("n_rows", [3, 4, 5, 8])
@pytest.mark.parametrize("offset", [0, 1, 2, 3, 4, 5, 7, 8, 9])
def test_assert_index_accepts_exactly_0_to_n_minus_1(n_rows, offset):
    for index, expected in ((offset, offset < n_rows), (R - 1 - offset, False), (offset + n_rows, False)):
        cs = ConstraintSystem("check")
        assert_index(cs, cs.private_input("index", index), n_rows, "index")
        assert cs.is_satisfied() == expected, (n_rows, index)


@pytest.mark.parametrize("index", range(len(ROWS)))
def test_mux_tree_reads_the_indexed_row(index):
    cs = ConstraintSystem("check")
    rows = [cs.public_input(f"row[{i}]", v) for i, v in enumerate(ROWS)]
    bits = assert_index(cs, cs.private_input("index", index), len(ROWS), "index")
    assert mux_tree(cs, bits, rows, "select").value == ROWS[index]
    assert cs.is_satisfied()


def test_mux_tree_cost_is_about_rows_minus_one():
    cs = ConstraintSystem("setup")
    rows = [cs.public_input(f"row[{i}]") for i in range(5)]
    bits = [cs.private_input(f"bit[{h}]") for h in range(3)]
    before = cs.num_constraints
    mux_tree(cs, bits, rows, "select")
    assert cs.num_constraints - before == 6  # 3 + 2 + 1: each level's last node pairs with padding
    with_eight = ConstraintSystem("setup")
    mux_tree(
        with_eight,
        [with_eight.private_input("b") for _ in range(3)],
        [with_eight.public_input("r") for _ in range(8)],
        "select",
    )
    assert with_eight.num_constraints == 7
    with pytest.raises(CircuitError):
        mux_tree(cs, bits[:2], rows, "select")


def lookup(values, used, table=ROWS):
    cs = ConstraintSystem("check")
    rows = [cs.public_input(f"row[{i}]", v) for i, v in enumerate(table)]
    queries = [
        (cs.private_input(f"used[{s}]", u), cs.private_input(f"value[{s}]", v))
        for s, (u, v) in enumerate(zip(used, values))
    ]
    assert_lookups(cs, rows, queries, [cs.public_input("digest", 7)], 8, "lookup")
    return cs.which_is_unsatisfied()


@pytest.mark.parametrize("values,used", [((11, 55), (1, 1)), ((33, 0), (1, 0)), ((0, 0), (0, 0)), ((99, 44), (0, 1))])
def test_lookup_accepts_table_values(values, used):
    assert lookup(values, used) is None


@pytest.mark.parametrize(
    "values,used", [((12, 55), (1, 1)), ((11, 0), (1, 1)), ((11, 99), (1, 1)), ((11 + R, 54), (1, 1))]
)
def test_lookup_refuses_a_value_outside_the_table(values, used):
    assert lookup(values, used) == "lookup/sums_agree"


def test_lookup_of_one_row_twice_is_incomplete_not_unsound():
    """Multiplicities are boolean: two used queries of one row have no assignment (the caller forbids it anyway)."""
    assert lookup((22, 22), (1, 1)) is not None


def test_lookup_cost_is_two_a_row_plus_one_a_query_plus_the_sponge():
    def cost(n_rows, n_queries):
        cs = ConstraintSystem("setup")
        rows = [cs.public_input(f"row[{i}]") for i in range(n_rows)]
        queries = [(cs.private_input("u"), cs.private_input("v")) for _ in range(n_queries)]
        before = cs.num_constraints
        assert_lookups(cs, rows, queries, [cs.public_input("digest")], 8, "lookup")
        return cs.num_constraints - before

    # Same sponge length (1 + 4 + 1 elements) for both: the difference is the rows alone.
    assert cost(200, 4) - cost(100, 4) == 200


def forge_with_free_row_term(monkeypatch, alpha_value: int | None) -> str | None:
    """A query outside the table (12), the sums balanced through row 33's term: with alpha = 33 and m = 0 that term's
    constraint reads term * 0 = 0, so it is free. alpha_value None keeps the in-circuit hash (the real gadget)."""
    from zkmargin.gadgets import selection
    from zkmargin.r1cs import LinearCombination

    if alpha_value is not None:
        monkeypatch.setattr(selection, "poseidon_hash_gadget", lambda cs, absorbed, tag: cs.constant(alpha_value))
    cs = ConstraintSystem("check")
    rows = [cs.public_input(f"row[{i}]", v) for i, v in enumerate(ROWS)]
    queries = [(cs.private_input(f"used[{s}]", 1), cs.private_input(f"value[{s}]", v)) for s, v in enumerate((12, 55))]
    assert_lookups(cs, rows, queries, [cs.public_input("digest", 7)], 8, "lookup")

    terms = {name: i for i, name in enumerate(cs._names) if name.startswith(("lookup/row_term", "lookup/query_term"))}
    values = cs._values
    query_sum = sum(values[terms[f"lookup/query_term[{s}]"]] for s in range(2)) % R
    table_sum = sum(values[terms[f"lookup/row_term[{j}]"]] for j in range(len(ROWS))) % R
    cs.set_value(LinearCombination({terms["lookup/row_term[2]"]: 1}, None), (query_sum - table_sum) % R)
    return cs.which_is_unsatisfied()


def test_a_row_term_is_free_only_when_alpha_hits_that_row_which_the_hash_keeps_out_of_reach(monkeypatch):
    """Why the challenge is hashed in-circuit: a prover who could set alpha to a row value (here 33, unread) would
    balance a query outside the table through that row's free term. The real gadget's alpha is Poseidon of the very
    variables, so the same forgery fails."""
    assert forge_with_free_row_term(monkeypatch, None) == "lookup/row_term[2]"  # term * (alpha - 33) = 0 pins it
    assert forge_with_free_row_term(monkeypatch, 33) is None
