"""A batch's summary: one outcome per item (valid, invalid, refused, malformed, duplicate), counted once.

SnapshotVerifier.verify_batch decides every item's verdict; this module adds what only the
whole batch shows: an item whose per-proof public inputs (as parsed field elements, the values
the verifier checked, never their text) and proof (its canonical 192 bytes) equal an earlier
checked item's is a "duplicate" of it, not a second valid (or invalid) proof. Refused and
malformed items keep their own outcome and reason: a copy of a proof under another
attestation is judged on that attestation. In membership mode, a valid proof whose
(scope, nullifier) an earlier valid proof showed is a repeat: the same account proving again
in that scope (exact duplicates included). The counts add up to the number of items, and
each item's id is listed under exactly one outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zkmargin.circuits.circuit import AnyCircuit
from zkmargin.circuits.verification import BatchReport
from zkmargin.margin.models import Snapshot, snapshot_to_json

BATCH_OUTCOMES = ("valid", "invalid", "refused", "malformed", "duplicate")
"""Every item has exactly one of these: a verdict's outcome (verification.OUTCOMES), or duplicate."""


@dataclass(frozen=True)
class ItemOutcome:
    """One item's place in the summary: its outcome, why (error or refusal), and the item it duplicates."""

    label: str
    outcome: str
    reason: str | None = None
    duplicate_of: str | None = None


@dataclass(frozen=True)
class BatchSummary:
    """Per-item outcomes in input order, and the repeats of a membership batch (None in named mode)."""

    items: list[ItemOutcome]
    repeated_nullifier_ids: list[str] | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Items per outcome (every outcome present); the values add up to the number of items."""
        counts = {name: 0 for name in BATCH_OUTCOMES}
        for item in self.items:
            counts[item.outcome] += 1
        return counts

    def ids(self, outcome: str) -> list[str]:
        """The ids of the items with this outcome, in input order."""
        return [item.label for item in self.items if item.outcome == outcome]


def summarize_batch(
    circuit: AnyCircuit, report: BatchReport, headers: Sequence[Sequence[int] | None], proofs: Sequence[bytes | None]
) -> BatchSummary:
    """The summary of a verified batch; headers and proofs (192-byte form) per item in input order, None if unread.

    headers are the per-proof inputs in circuit.header order, as the verifier was given them.
    """
    if not len(report.verdicts) == len(headers) == len(proofs):
        raise ValueError("one header and one proof (or None) per verdict")
    first_checked: dict[tuple, str] = {}
    items = []
    for verdict, header, proof in zip(report.verdicts, headers, proofs):
        outcome = verdict.outcome
        reason = verdict.error if outcome == "malformed" else verdict.refused
        duplicate_of = None
        if outcome in ("valid", "invalid") and header is not None and proof is not None:
            key = (tuple(header), proof)
            if key in first_checked:
                outcome, duplicate_of = "duplicate", first_checked[key]
            else:
                first_checked[key] = verdict.label
        items.append(ItemOutcome(verdict.label, outcome, reason, duplicate_of))
    repeats = None
    if circuit.is_membership:
        scope_at, nullifier_at = circuit.header.index("scope"), circuit.header.index("nullifier")
        shown: set[tuple[int, int]] = set()
        repeats = []
        for verdict, header in zip(report.verdicts, headers):
            if verdict.valid and header is not None:
                key = (header[scope_at], header[nullifier_at])
                if key in shown:
                    repeats.append(verdict.label)
                shown.add(key)
    return BatchSummary(items, repeats)


def report_rows(circuit: AnyCircuit, report: BatchReport, summary: BatchSummary,
                metas: Sequence[Mapping[str, Any]]) -> list[dict]:
    """One report row per item: its id, source and per-proof inputs as the item gave them (metas), outcome, reason."""
    rows = []
    for meta, verdict, item in zip(metas, report.verdicts, summary.items):
        inputs = ({"root": meta.get("root"), "scope": meta.get("scope"), "nullifier": meta.get("nullifier")}
                  if circuit.is_membership else {"commitment": meta.get("commitment")})
        rows.append({"id": verdict.label, "source": meta.get("source"), **inputs, "context": meta.get("context"),
                     "outcome": item.outcome, "valid": verdict.valid, "error": verdict.error,
                     "duplicate_of": item.duplicate_of, "refused": verdict.refused})
    return rows


def summary_document(circuit: AnyCircuit, snapshot: Snapshot, report: BatchReport, summary: BatchSummary, *,
                     attestations_required: bool, scope: int | None, timings_s: Mapping[str, float]) -> dict:
    """The batch's summary as report.json holds it: counts per outcome (they add up to total), mode, checks, timings."""
    counts = summary.counts
    return {
        "circuit_id": circuit.circuit_id,
        "snapshot": snapshot_to_json(snapshot),
        "total": len(summary.items),
        **{name: counts[name] for name in BATCH_OUTCOMES if name != "duplicate"},
        "duplicates": counts["duplicate"],
        "attestations_required": attestations_required,
        **({"mode": "membership", "scope": None if scope is None else str(scope),
            "repeated_nullifiers": len(summary.repeated_nullifier_ids or [])} if circuit.is_membership else {}),
        "pairing_checks": report.pairing_checks,
        "timings_s": {name: round(seconds, 4) for name, seconds in timings_s.items()},
    }


def outcome_ids(circuit: AnyCircuit, summary: BatchSummary) -> dict[str, list[str]]:
    """The ids under every outcome but valid (<outcome>_ids), and in membership mode repeated_nullifier_ids."""
    ids = {f"{name}_ids": summary.ids(name) for name in BATCH_OUTCOMES if name != "valid"}
    if circuit.is_membership:
        ids["repeated_nullifier_ids"] = summary.repeated_nullifier_ids or []
    return ids
