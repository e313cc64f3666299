"""Built-in sample data for the demo, `zkmargin sample` and the tests: one snapshot, a healthy and a margin-call account."""

from __future__ import annotations

import json
from importlib import resources

from zkmargin.margin.models import Account, Snapshot, account_to_json, parse_account, parse_snapshot, snapshot_to_json
from zkmargin.margin.var import with_scenarios

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


SAMPLE_SCENARIO_SEED = 5


def sample_files(scenario_count: int = 250) -> dict[str, dict]:
    """The newcomer's starting files by name: both sample accounts, the snapshot and a var/es scenario snapshot.

    The scenario snapshot is the sample snapshot with `scenario_count` seeded historical scenarios at
    99% confidence and a 100 add-on (zkmargin.margin.var.with_scenarios), so `--model var|es` has data.
    """
    snapshot = sample_snapshot()
    scenarios = with_scenarios(snapshot, scenario_count, 99 * 10**6, 100 * 10**8, seed=SAMPLE_SCENARIO_SEED)
    return {
        "account.json": account_to_json(sample_account("healthy")),
        "margin_call.json": account_to_json(sample_account("margin_call")),
        "snapshot.json": snapshot_to_json(snapshot),
        "scenarios.json": snapshot_to_json(scenarios),
    }
