"""zkmargin sample: the newcomer's starting files, usable as written by margin (cross and var/es)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from zkmargin.cli.main import cli
from zkmargin.margin.models import parse_account, parse_snapshot
from zkmargin.margin.samples import sample_account, sample_snapshot


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_sample_writes_the_builtin_accounts_snapshot_and_a_scenario_snapshot(tmp_path):
    workdir = tmp_path / "new" / "dir"
    result = run("sample", "--workdir", str(workdir), "--scenarios", "20", "--json")
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.stdout)["files"]) == sorted(
        str(workdir / n) for n in ("account.json", "margin_call.json", "snapshot.json", "scenarios.json"))
    assert parse_account(json.loads((workdir / "account.json").read_text())) == sample_account("healthy")
    assert parse_account(json.loads((workdir / "margin_call.json").read_text())) == sample_account("margin_call")
    assert parse_snapshot(json.loads((workdir / "snapshot.json").read_text())) == sample_snapshot()
    scenarios = json.loads((workdir / "scenarios.json").read_text())
    assert scenarios["scenarios"]["count"] == 20
    assert all(len(i["scenario_pnl"]) == 20 for i in scenarios["instruments"])


def test_the_sample_files_work_with_margin_in_cross_var_and_es(tmp_path):
    assert run("sample", "--workdir", str(tmp_path)).exit_code == 0
    assert json.loads((tmp_path / "scenarios.json").read_text())["scenarios"]["count"] == 250
    for snapshot, model in (("snapshot.json", "cross"), ("scenarios.json", "var"), ("scenarios.json", "es")):
        healthy = run("margin", str(tmp_path / "account.json"), str(tmp_path / snapshot), "--model", model, "--json")
        assert healthy.exit_code == 0 and json.loads(healthy.stdout)["status"] == "healthy", healthy.output
        called = run("margin", str(tmp_path / "margin_call.json"), str(tmp_path / snapshot), "--model", model)
        assert called.exit_code == 1, called.output


def test_sample_refuses_to_overwrite_and_leaves_the_folder_as_it_was(tmp_path):
    (tmp_path / "snapshot.json").write_text("mine")
    result = run("sample", "--workdir", str(tmp_path))
    assert result.exit_code == 2 and "snapshot.json" in result.stderr and "--force" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["snapshot.json"]
    assert (tmp_path / "snapshot.json").read_text() == "mine"
    forced = run("sample", "--workdir", str(tmp_path), "--force")
    assert forced.exit_code == 0, forced.output
    assert parse_snapshot(json.loads((tmp_path / "snapshot.json").read_text())) == sample_snapshot()


def test_sample_into_a_file_or_an_unwritable_place_is_bad_input(tmp_path):
    (tmp_path / "file").write_text("x")
    assert run("sample", "--workdir", str(tmp_path / "file")).exit_code == 2
    result = run("sample", "--workdir", "/proc/no-such-dir")
    assert result.exit_code == 2 and "cannot write the sample files" in result.stderr
