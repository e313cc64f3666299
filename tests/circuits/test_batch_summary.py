"""circuits/batch_summary.py and the canonical field-element text: outcomes counted once, on values."""

from __future__ import annotations

import pytest

from zkmargin.circuits.batch_summary import BATCH_OUTCOMES, summarize_batch
from zkmargin.circuits.proving import canonical_field_element
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.circuits.verification import BatchReport, Verdict
from zkmargin.errors import FormatError, PublicInputError
from zkmargin.field import R

PLAIN, MEMBER = circuit_from_id("cross-n6-k4"), circuit_from_id("cross-n6-k4-m2")
P, Q = b"\x01" * 192, b"\x02" * 192


def verdicts(*outcomes: str) -> BatchReport:
    made = {
        "valid": dict(valid=True),
        "invalid": dict(valid=False),
        "malformed": dict(valid=False, error="bad"),
        "refused": dict(valid=False, refused="no attestation"),
    }
    return BatchReport([Verdict(i, f"i{i}", **made[o]) for i, o in enumerate(outcomes)])


@pytest.mark.parametrize(
    "text, value", [("0", 0), ("1001", 1001), ("0x3e9", 1001), ("0x0", 0), (str(R - 1), R - 1), (hex(R - 1), R - 1)]
)
def test_canonical_texts(text, value):
    assert canonical_field_element(text, "x") == value


@pytest.mark.parametrize(
    "text",
    [
        " +1001 ",
        "+1001",
        "1001 ",
        "1_001",
        "\uff11\uff10\uff10\uff11",
        "-0",
        "01",
        "0x03e9",
        "0X3e9",
        "0x3E9",
        "",
        "1e3",
        "1001\n",
        "0x",
        "00",
    ],
)
def test_one_number_has_one_text(text):
    with pytest.raises(FormatError, match="x: .*not a canonical"):
        canonical_field_element(text, "x")


@pytest.mark.parametrize("value", [1001, True, None, 1.5, ["1"]])
def test_only_strings_are_field_element_texts(value):
    with pytest.raises(FormatError, match="must be a string"):
        canonical_field_element(value, "x")


@pytest.mark.parametrize("text", [str(R), hex(R), "9" * 78])
def test_canonical_text_of_r_or_more_is_out_of_range(text):
    with pytest.raises(PublicInputError, match=r"\[0, r\)"):
        canonical_field_element(text, "x")


def test_counts_add_up_and_each_id_has_one_outcome():
    report = verdicts("valid", "valid", "invalid", "invalid", "refused", "malformed", "valid")
    headers = [(1, 5), (1, 5), (2, 5), (2, 5), (1, 5), None, (1, 6)]
    proofs = [P, P, Q, Q, P, None, P]
    summary = summarize_batch(PLAIN, report, headers, proofs)
    assert summary.counts == {"valid": 2, "invalid": 1, "refused": 1, "malformed": 1, "duplicate": 2}
    assert sum(summary.counts.values()) == len(report.verdicts)
    assert [summary.ids(o) for o in BATCH_OUTCOMES] == [["i0", "i6"], ["i2"], ["i4"], ["i5"], ["i1", "i3"]]
    assert [i.duplicate_of for i in summary.items] == [None, "i0", None, "i2", None, None, None]
    assert summary.items[4].reason == "no attestation" and summary.items[5].reason == "bad"
    assert summary.repeated_nullifier_ids is None  # named mode: no nullifiers


def test_a_copy_under_a_refused_attestation_stays_refused_and_the_first_checked_copy_counts():
    """Refusal is about the copy's own attestation: it keeps its outcome; the first checked copy is the original."""
    summary = summarize_batch(PLAIN, verdicts("refused", "valid", "valid"), [(1, 5)] * 3, [P] * 3)
    assert [i.outcome for i in summary.items] == ["refused", "valid", "duplicate"]
    assert summary.items[2].duplicate_of == "i1"


def test_membership_repeats_count_valid_proofs_of_one_scope_and_nullifier():
    # header: root, context, scope, nullifier
    headers = [(9, 5, 7, 100), (9, 6, 7, 100), (9, 5, 7, 100), (9, 5, 8, 101), (9, 7, 7, 100), (9, 8, 7, 100)]
    report = verdicts("valid", "valid", "valid", "valid", "invalid", "valid")
    summary = summarize_batch(MEMBER, report, headers, [P, Q, P, P, Q, b"\x03" * 192])
    assert summary.ids("duplicate") == ["i2"] and summary.counts["valid"] == 4
    assert summary.repeated_nullifier_ids == ["i1", "i2", "i5"]  # an invalid proof shows no nullifier


def test_one_header_and_proof_per_verdict():
    with pytest.raises(ValueError):
        summarize_batch(PLAIN, verdicts("valid", "valid"), [(1, 5)], [P, P])


def test_summary_document_counts_rows_and_ids_come_from_the_library():
    """verify-batch prints what the library assembles: counts that add up, one row per item, ids per outcome."""
    from zkmargin.circuits.batch_summary import outcome_ids, report_rows, summary_document
    from zkmargin.margin.models import parse_snapshot

    snapshot = parse_snapshot({
        "snapshot_id": "s1", "venue": "v1", "timestamp": "2026-11-24T16:00:00Z",
        "assets": [{"asset": "USDC", "price": "1", "haircut": "0.02"}],
        "instruments": [{"instrument": "BTC-PERP", "mark_price": "64000", "maintenance_rate": "0.005",
                         "contract_size": "1"}]})
    report = verdicts("valid", "valid", "refused", "malformed", "invalid")
    headers = [(1, 2), (1, 2), (3, 4), None, (5, 6)]
    outcome = summarize_batch(PLAIN, report, headers, [P, P, Q, None, Q])
    doc = summary_document(PLAIN, snapshot, report, outcome, attestations_required=True, scope=None,
                           timings_s={"total": 0.123456})
    assert (doc["total"], doc["valid"], doc["duplicates"], doc["refused"], doc["malformed"], doc["invalid"]) == (
        5, 1, 1, 1, 1, 1)
    assert doc["timings_s"] == {"total": 0.1235} and "mode" not in doc
    metas = [{"source": f"line {i}", "commitment": str(h[0]) if h else None, "context": "7"}
             for i, h in enumerate(headers)]
    rows = report_rows(PLAIN, report, outcome, metas)
    assert [r["outcome"] for r in rows] == ["valid", "duplicate", "refused", "malformed", "invalid"]
    assert rows[1]["duplicate_of"] == "i0" and rows[2]["refused"] == "no attestation" and rows[0]["commitment"] == "1"
    ids = outcome_ids(PLAIN, outcome)
    assert ids["duplicate_ids"] == ["i1"] and ids["invalid_ids"] == ["i4"] and "repeated_nullifier_ids" not in ids
    assert "repeated_nullifier_ids" in outcome_ids(MEMBER, summarize_batch(MEMBER, verdicts(), [], []))
