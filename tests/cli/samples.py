"""Sample files the CLI tests run on."""

from __future__ import annotations

import json
from pathlib import Path

from zkmargin.margin.models import account_to_json, snapshot_to_json
from zkmargin.margin.samples import sample_account, sample_snapshot


def write_samples(root: Path) -> Path:
    """snapshot.json, healthy.json and margin_call.json from the built-in samples, in root."""
    (root / "snapshot.json").write_text(json.dumps(snapshot_to_json(sample_snapshot())))
    (root / "healthy.json").write_text(json.dumps(account_to_json(sample_account("healthy"))))
    (root / "margin_call.json").write_text(json.dumps(account_to_json(sample_account("margin_call"))))
    return root
