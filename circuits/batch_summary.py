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

from collections.abc import Sequence
from dataclasses import dataclass

from zkmargin.circuits.circuit import AnyCircuit
from zkmargin.circuits.verification import BatchReport

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
