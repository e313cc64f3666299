"""`zkmargin venue run` on real LocalClusters (smallest circuit, cross-n1-k1): 200 accounts end to end with every
bundle checked, a second run that does nothing, a worker killed mid-run, a run killed and restarted; and
`verify-batch --scheduler`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.cli.venue_run_helpers import (
    CIRCUIT,
    N_ACCOUNTS,
    check_bundles,
    run_cli,
    venue_run_args,
    write_accounts,
)
from zkmargin.cli.main import cli
from zkmargin.venue.attestation import (
    parse_signed_root,
)


@pytest.fixture(scope="module")
def first_run(venue):
    result = run_cli(venue, *venue_run_args(venue, "accounts.jsonl", "out", "--workers", "2"))
    return result


HEALTHY = {f"acct-{i}" for i in range(N_ACCOUNTS) if i % 10}
MARGIN_CALLS = {f"acct-{i}" for i in range(N_ACCOUNTS) if i % 10 == 0}


def test_200_accounts_on_a_local_cluster_every_bundle_checks(venue, first_run):
    # The malformed lines make it bad input (exit 2), reported after the run.
    assert first_run.exit_code == 2 and "accounts" in json.loads(first_run.stdout), first_run.output
    summary = json.loads(first_run.stdout)
    assert summary["accounts"] == {"read": N_ACCOUNTS + 3, "healthy": len(HEALTHY), "margin_call": len(MARGIN_CALLS),
                                   "malformed": 3, "proved_now": len(HEALTHY), "already_done": 0, "failed": 0}
    assert summary["cluster"] == {"scheduler": "LocalCluster", "workers": 2}
    assert json.loads((venue / "out" / "summary.json").read_text())["accounts"] == summary["accounts"]
    # Malformed inputs are named by line and skipped.
    sources = {m["source"]: m["error"] for m in summary["malformed"]}
    assert set(sources) == {"accounts.jsonl:201", "accounts.jsonl:202", "accounts.jsonl:203"}
    assert "not valid JSON" in sources["accounts.jsonl:201"] and "DOGE" in sources["accounts.jsonl:202"]
    assert "duplicate account id 'acct-3'" in sources["accounts.jsonl:203"]
    assert "skipped accounts.jsonl:201" in first_run.stderr
    # Accounts under margin call: listed privately, never proved.
    calls = json.loads((venue / "out" / "margin_calls.json").read_text())
    assert {c["account_id"] for c in calls} == MARGIN_CALLS
    assert oct((venue / "out" / "margin_calls.json").stat().st_mode & 0o777) == "0o600"
    check_bundles(venue, venue / "out", HEALTHY)
    assert parse_signed_root(json.loads((venue / "out" / "root.json").read_text())).leaf_count == N_ACCOUNTS


def test_a_run_under_json_or_with_stderr_piped_draws_no_progress_bar(first_run):
    """Issue 25: the committing and proving bars are for a terminal; under --json (and when piped) stderr
    carries notes only, never a bar's label or its carriage returns."""
    assert "committing" not in first_run.stderr and "proving" not in first_run.stderr
    assert "\r" not in first_run.stderr


def test_a_second_run_does_no_work(venue, first_run):
    out = venue / "out"
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (out / "bundles").iterdir()}
    plan = (out / "plan.jsonl").read_bytes()
    again = run_cli(venue, *venue_run_args(venue, "accounts.jsonl", "out", "--workers", "2"))
    assert again.exit_code == 2, again.output
    summary = json.loads(again.stdout)
    assert summary["accounts"]["proved_now"] == 0 and summary["accounts"]["already_done"] == len(HEALTHY)
    assert summary["cluster"]["workers"] is None  # no cluster was even started
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (out / "bundles").iterdir()} == before
    assert (out / "plan.jsonl").read_bytes() == plan


def test_rerun_over_changed_accounts_is_refused_and_writes_nothing(venue, first_run, tmp_path):
    changed = venue / "changed.jsonl"
    write_accounts(changed, range(N_ACCOUNTS))
    out = venue / "out"
    plan = (out / "plan.jsonl").read_bytes()
    result = run_cli(venue, "venue", "run", str(changed), str(venue / "snapshot.json"), "--keys",
                     str(venue / "cache" / CIRCUIT), "--signing-key", str(venue / "venue.key"), "--out", str(out),
                     "--circuit", CIRCUIT, "--depth", "8")
    assert result.exit_code == 2
    assert "holds a run of other inputs (different accounts_sha256)" in result.stderr
    assert (out / "plan.jsonl").read_bytes() == plan


def batch_here_and_there(venue: Path, items: Path, tmp_path: Path, *extra: str):
    """`verify-batch --json` of items in this process and on a LocalCluster (reports in here/ and there/)."""
    from distributed import LocalCluster

    args = ["verify-batch", str(items), "--vk", str(venue / "cache" / CIRCUIT / "verification_key.json"),
            "--snapshot", str(venue / "snapshot.json"), "--circuit", CIRCUIT, "--json", *extra]
    here = run_cli(venue, *args, "--report-dir", str(tmp_path / "here"))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        there = run_cli(venue, *args, "--report-dir", str(tmp_path / "there"), "--scheduler", cluster.scheduler_address)
    return here, there


def test_verify_batch_on_a_cluster_gives_the_in_process_report(venue, first_run, tmp_path):
    batch = (venue / "out" / "batch.jsonl").read_text().splitlines()
    assert len(batch) == len(HEALTHY)
    tampered = json.loads(batch[5])
    tampered["context"] = str(int(tampered["context"]) + 1)
    items = tmp_path / "items.jsonl"
    items.write_text("\n".join([*batch, json.dumps({**tampered, "id": "tampered"}), "{broken"]) + "\n")
    here, there = batch_here_and_there(venue, items, tmp_path)
    assert here.exit_code == there.exit_code == 1, there.output
    a, b = json.loads(here.stdout), json.loads(there.stdout)
    for key in ("total", "valid", "invalid", "malformed", "invalid_ids", "malformed_ids", "duplicate_ids"):
        assert a[key] == b[key], key
    assert b["invalid_ids"] == ["tampered"] and b["valid"] == len(HEALTHY)
    rows = json.loads((tmp_path / "there" / "report.json").read_text())
    assert rows  # the reports are written from the cluster's verdicts too


def test_attested_batch_on_a_cluster_refuses_what_the_in_process_path_refuses(venue, first_run, tmp_path):
    batch = [json.loads(line) for line in (venue / "out" / "batch.jsonl").read_text().splitlines()]
    assert all("attestation" in item for item in batch)  # venue run hands auditors attested items
    unattested = {k: v for k, v in batch[0].items() if k != "attestation"}
    swapped = {**batch[1], "attestation": batch[2]["attestation"]}  # another account's attestation
    items = tmp_path / "items.jsonl"
    items.write_text("\n".join(json.dumps(x) for x in [*batch[3:], {**unattested, "id": "unattested"},
                                                        {**swapped, "id": "swapped"}]) + "\n")
    here, there = batch_here_and_there(venue, items, tmp_path, "--venue-key", str(venue / "venue.key.pub.json"))
    assert here.exit_code == there.exit_code == 1, there.output
    a, b = json.loads(here.stdout), json.loads(there.stdout)
    for key in ("total", "valid", "invalid", "malformed", "refused", "refused_ids"):
        assert a[key] == b[key], key
    assert sorted(b["refused_ids"]) == ["swapped", "unattested"] and b["valid"] == len(batch) - 3


def test_unknown_scheduler_is_a_clear_error(venue, tmp_path):
    result = CliRunner().invoke(cli, ["verify-batch", str(venue / "out" / "batch.jsonl"), "--vk",
                                      str(venue / "cache" / CIRCUIT / "verification_key.json"), "--snapshot",
                                      str(venue / "snapshot.json"), "--circuit", CIRCUIT, "--scheduler", "nonsense://x",
                                      "--report-dir", str(tmp_path)])
    assert result.exit_code == 2 and "scheduler" in result.stderr and "Traceback" not in result.output


def test_missing_key_bundle_exits_2_and_writes_nothing(venue):
    result = run_cli(venue, "venue", "run", str(venue / "accounts.jsonl"), str(venue / "snapshot.json"), "--keys",
                     str(venue / "nowhere"), "--signing-key", str(venue / "venue.key"), "--out",
                     str(venue / "never"), "--circuit", CIRCUIT)
    assert result.exit_code == 2 and "no key bundle" in result.stderr
    assert not (venue / "never").exists()


def test_a_worker_killed_mid_run_has_its_chunk_retried(venue):
    from distributed import Client, LocalCluster

    ids = range(1, 31)
    write_accounts(venue / "kill.jsonl", ids)
    bundles = venue / "out-kill" / "bundles"
    killed: dict = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        pids_before = set(client.run(os.getpid).values())

        def kill_one_worker() -> None:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                done = len(list(bundles.glob("*.json"))) if bundles.exists() else 0
                if done >= 3:
                    victim = sorted(pids_before)[0]
                    os.kill(victim, signal.SIGKILL)
                    killed.update(pid=victim, bundles_then=done)
                    return
                time.sleep(0.05)

        watcher = threading.Thread(target=kill_one_worker)
        watcher.start()
        result = run_cli(venue, *venue_run_args(venue, "kill.jsonl", "out-kill", "--scheduler",
                                                cluster.scheduler_address, "--chunk-size", "1"))
        watcher.join()
        client.wait_for_workers(2, timeout=120)
        pids_after = set(client.run(os.getpid).values())
    healthy = {f"acct-{i}" for i in ids if i % 10}
    assert killed and killed["bundles_then"] < len(healthy), killed  # the kill happened mid-run
    assert killed["pid"] not in pids_after  # that worker really died (its nanny started another)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["accounts"]["failed"] == 0 and summary["accounts"]["proved_now"] == len(healthy)
    check_bundles(venue, venue / "out-kill", healthy)


def test_a_run_killed_and_restarted_ends_complete_and_proves_nothing_twice(venue):
    ids = range(1, 25)
    write_accounts(venue / "restart.jsonl", ids)
    out = venue / "out-restart"
    bundles = out / "bundles"
    args = venue_run_args(venue, "restart.jsonl", "out-restart", "--workers", "1", "--chunk-size", "1")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    # Its own session, so that the driver and its LocalCluster's processes die together.
    proc = subprocess.Popen([sys.executable, "-m", "zkmargin.cli.main", "--cache-dir", str(venue / "cache"), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            if bundles.exists() and len(list(bundles.glob("*.json"))) >= 3:
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be interrupted"
    kept = {p.name: p.read_bytes() for p in bundles.glob("*.json")}
    plan = (out / "plan.jsonl").read_bytes()
    root = (out / "root.json").read_bytes()
    healthy = {f"acct-{i}" for i in ids if i % 10}
    assert 3 <= len(kept) < len(healthy)

    result = run_cli(venue, *args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["accounts"]["already_done"] == len(kept)
    assert summary["accounts"]["proved_now"] == len(healthy) - len(kept)
    # Same plan, same root, the bundles made before the kill untouched; nothing half-written remains.
    assert (out / "plan.jsonl").read_bytes() == plan and (out / "root.json").read_bytes() == root
    assert all((bundles / name).read_bytes() == data for name, data in kept.items())
    assert not [p for p in bundles.iterdir() if p.name.startswith(".")]
    check_bundles(venue, out, healthy)
