"""Built-in sample data for the demo and the tests: one snapshot, a healthy and a margin-call account."""

from __future__ import annotations

import json
from importlib import resources

from zkmargin.margin.models import Account, Snapshot, parse_account, parse_snapshot

SAMPLE_ACCOUNT_NAMES = ("healthy", "margin_call")


def _read(name: str) -> object:
    return json.loads(resources.files("zkmargin.margin").joinpath("sample_data", name).read_text())


def sample_snapshot() -> Snapshot:
    """The sample venue snapshot (4 assets, 6 instruments)."""
    return parse_snapshot(_read("snapshot.json"))


def sample_account(name: str) -> Account:
    """A sample account: 'healthy' or 'margin_call'."""
    if name not in SAMPLE_ACCOUNT_NAMES:
        raise ValueError(f"unknown sample account {name!r}; choose one of {SAMPLE_ACCOUNT_NAMES}")
    return parse_account(_read(f"{name}.json"))
