"""zkmargin margin --model var|es, stress and cascade: outputs, charts and exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from zkmargin.cli.main import cli
from zkmargin.margin.models import account_to_json, snapshot_to_json
from zkmargin.margin.samples import sample_account, sample_snapshot
from zkmargin.margin.var import with_scenarios

E8 = 10**8


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("risk")
    (root / "snapshot.json").write_text(json.dumps(snapshot_to_json(sample_snapshot())))
    scenarios = snapshot_to_json(with_scenarios(sample_snapshot(), 250, 99 * 10**6, 100 * E8, seed=5))
    (root / "scenarios.json").write_text(json.dumps(scenarios))
    small = snapshot_to_json(with_scenarios(sample_snapshot(), 20, 90 * 10**6, 100 * E8, seed=5))
    (root / "scenarios20.json").write_text(json.dumps(small))
    (root / "healthy.json").write_text(json.dumps(account_to_json(sample_account("healthy"))))
    (root / "margin_call.json").write_text(json.dumps(account_to_json(sample_account("margin_call"))))
    return root


def run(workdir: Path, *args: str):
    return CliRunner().invoke(cli, ["--cache-dir", str(workdir / "cache"), *args], catch_exceptions=False)


@pytest.mark.parametrize("model,k", [("var", 3), ("es", 2)])
def test_margin_var_and_es(workdir, model, k):
    ok = run(workdir, "margin", str(workdir / "healthy.json"), str(workdir / "scenarios.json"), "--model", model, "--json")
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.stdout)
    assert doc["model"] == model and doc["k"] == k and doc["add_on"] == "100"
    text = run(workdir, "margin", str(workdir / "margin_call.json"), str(workdir / "scenarios.json"), "--model", model)
    assert text.exit_code == 1
    assert f"k = {k} of 250 scenarios" in text.stdout


@pytest.mark.parametrize("model,k", [("var", 3), ("es", 2)])
def test_margin_var_and_es_text_lists_every_sorted_loss_the_kth_and_the_positions(workdir, model, k):
    args = ["margin", str(workdir / "healthy.json"), str(workdir / "scenarios20.json"), "--model", model]
    doc = json.loads(run(workdir, *args, "--json").stdout)
    text = run(workdir, *args).stdout
    assert f"requirement:  {doc['maintenance']}" in text and "maintenance:" not in text
    losses = sorted(((float(v), s) for s, v in enumerate(doc["scenario_losses"], 1)), reverse=True)
    rows = re.findall(r"^  ([* ]) +(\d+) +(\d+) +(-?[0-9.]+)(.*)$", text, re.MULTILINE)
    assert [(int(r[2]), float(r[3])) for r in rows] == [(s, v) for v, s in losses]  # all 20, worst first
    counted = ["*"] * k if model == "es" else [" "] * (k - 1) + ["*"]  # ES: the k worst; VaR: the k-th alone
    assert [r[0] for r in rows] == counted + [" "] * (20 - k)
    assert f"<- k = {k}" in rows[k - 1][4] and all("<-" not in r[4] for i, r in enumerate(rows) if i != k - 1)
    assert doc["worst_loss_scenario"] == losses[0][1]
    assert [p["instrument"] for p in doc["positions"]] == ["BTC-PERP", "ETH-PERP", "SOL-PERP", "DOGE-PERP"]
    for position in doc["positions"]:
        assert re.search(rf"^  {position['instrument']} +quantity {position['quantity']} .*worst_scenario_loss "
                         rf"{re.escape(position['worst_scenario_loss'])}$", text, re.MULTILINE)


def test_margin_var_over_many_scenarios_shows_a_histogram_with_the_kth_marked(workdir):
    args = ["margin", str(workdir / "healthy.json"), str(workdir / "scenarios.json"), "--model", "var"]
    doc = json.loads(run(workdir, *args, "--json").stdout)
    text = run(workdir, *args).stdout
    kth = sorted((float(v) for v in doc["scenario_losses"]), reverse=True)[2]
    bins = re.findall(r"^ +(-?[0-9.]+) \.\. +(-?[0-9.]+) +(\d+) #*(  <-)?$", text, re.MULTILINE)
    assert sum(int(b[2]) for b in bins) == 250
    marked = [b for b in bins if b[3]]
    assert len(marked) == 1 and float(marked[0][0]) - 0.01 <= kth <= float(marked[0][1]) + 0.01
    assert "<- k = 3: the VaR" in text


def test_margin_var_without_scenarios_is_bad_input(workdir):
    result = run(workdir, "margin", str(workdir / "healthy.json"), str(workdir / "snapshot.json"), "--model", "var")
    assert result.exit_code == 2
    assert "publishes no historical scenarios" in result.stderr


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["instruments"][0].update(scenario_pnl=["1"] * 3), "every scenario vector must have the same length"),
    (lambda d: d["scenarios"].update(confidence="1"), "strictly between 0 and 1"),
])
def test_bad_scenario_snapshot_exits_2(workdir, tmp_path, mutate, message):
    doc = json.loads((workdir / "scenarios.json").read_text())
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    result = run(workdir, "margin", str(workdir / "healthy.json"), str(path), "--model", "es")
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


def test_stress_text_json_and_charts(workdir, tmp_path):
    png, page = tmp_path / "stress.png", tmp_path / "stress.html"
    result = run(workdir, "stress", str(workdir / "healthy.json"), str(workdir / "snapshot.json"),
                 "--shock", "ETH=+10%", "--grid", "BTC=-80%:+50%:10%", "--grid", "ETH=-50%:+150%:25%",
                 "--png", str(png), "--html", str(page), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [g["underlying"] for g in doc["grids"]] == ["BTC", "ETH"]
    assert len(doc["grids"][0]["points"]) == 14 and len(doc["grids"][1]["points"]) == 9
    assert doc["points"][0]["shocks"] == {"ETH": "0.1"}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = page.read_text()
    assert text.count("<svg") == 1 and "src=" not in text and "<!DOCTYPE svg" not in text
    assert "move of BTC from today&#x27;s price (%)" in text or "move of BTC from today's price (%)" in text
    assert "value (quote currency)" in text and "Stress of account trader-healthy" in text
    # Equity and requirement per grid, the margin-call zone, BTC's and ETH's margin-call moves inside the grids.
    for gid in ("equity-BTC", "requirement-ETH", "call-zone-BTC", "today-ETH", "call-BTC-below", "call-ETH-above"):
        assert f'id="{gid}"' in text, gid
    plain = run(workdir, "stress", str(workdir / "healthy.json"), str(workdir / "snapshot.json"), "--shock", "BTC=-20%")
    assert plain.exit_code == 0 and "BTC=-20%" in plain.stdout and "margin-call price per underlying" in plain.stdout


def _stress_doc(in_call: bool) -> dict:
    call = {"underlying": "BTC", "price": "100", "in_call_now": in_call, "below": None, "above": None,
            "restore_below": None, "restore_above": None}
    call["restore_above" if in_call else "below"] = {"move": "0.05" if in_call else "-0.05", "price": "105" if in_call else "95"}
    return {"account_id": "acct-7", "model": "cross", "under_margin_call": in_call, "margin_call_prices": [call],
            "points": [{"shocks": {"ETH": "-0.2"}}], "grids": [
                {"underlying": "BTC", "points": [
                    {"shocks": {"ETH": "-0.2", "BTC": str(m / 100)}, "equity": str(e), "requirement": str(r),
                     "status": "healthy" if e >= r else "margin_call"}
                    for m, e, r in ((-10, 50, 60), (0, 100, 55), (10, 150, 50))]}]}


def test_stress_default_chart_widens_to_show_each_call_price(workdir, tmp_path):
    page = tmp_path / "default.html"
    result = run(workdir, "stress", str(workdir / "healthy.json"), str(workdir / "snapshot.json"), "--html", str(page),
                 "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    btc = next(g for g in doc["grids"] if g["underlying"] == "BTC")
    call = next(c for c in doc["margin_call_prices"] if c["underlying"] == "BTC")["below"]
    moves = [float(p["shocks"]["BTC"]) for p in btc["points"]]
    assert float(call["move"]) < -0.5 and min(moves) < float(call["move"]) and 0.0 in moves
    # BTC's call lies beyond the default -50%, ETH's beyond +50%: both are drawn.
    assert 'id="call-BTC-below"' in page.read_text() and 'id="call-ETH-above"' in page.read_text()
    shocked = run(workdir, "stress", str(workdir / "healthy.json"), str(workdir / "snapshot.json"), "--shock",
                  "BTC=-75%", "--html", str(page), "--json")
    btc = next(g for g in json.loads(shocked.stdout)["grids"] if g["underlying"] == "BTC")
    assert min(float(p["shocks"]["BTC"]) for p in btc["points"]) == -0.75  # the series starts at the shock
    assert 'id="restore-BTC-above"' in page.read_text()


def test_stress_figure_draws_equity_and_requirement_in_currency_and_marks_the_call_price():
    from zkmargin.cli.stress import stress_figure

    figure = stress_figure(_stress_doc(in_call=False))
    axes = figure.axes[0]
    assert figure.get_suptitle() == "Stress of account acct-7: model cross, shocks ETH -20% (healthy today)"
    assert axes.get_xlabel() == "move of BTC from today's price (%)" and axes.get_ylabel() == "value (quote currency)"
    lines = {line.get_gid(): line for line in axes.get_lines()}
    assert list(lines["equity-BTC"].get_xdata()) == [-10.0, 0.0, 10.0]
    assert list(lines["equity-BTC"].get_ydata()) == [50.0, 100.0, 150.0]
    assert list(lines["requirement-BTC"].get_ydata()) == [60.0, 55.0, 50.0]
    assert list(lines["call-BTC-below"].get_xdata()) == [-5.0, -5.0]
    assert lines["call-BTC-below"].get_label() == "margin call at 95 (-5.0000%)"
    assert axes.get_title() == "BTC today 100: margin call at 95 (-5.0000%) going down; no margin call going up"
    legend = [text.get_text() for text in axes.get_legend().get_texts()]
    assert len(legend) == len(set(legend))  # no line drawn twice


def test_stress_figure_of_an_account_under_margin_call_marks_what_restores_it():
    from zkmargin.cli.stress import stress_figure

    figure = stress_figure(_stress_doc(in_call=True))
    axes = figure.axes[0]
    assert "UNDER MARGIN CALL NOW" in figure.get_suptitle()
    lines = {line.get_gid(): line for line in axes.get_lines()}
    assert list(lines["restore-BTC-above"].get_xdata()) == [5.0, 5.0]
    assert not any(gid.startswith("call-BTC") for gid in lines)
    assert axes.get_title() == "BTC today 100: healthy again at 105 (+5.0000%) going up"


def test_stress_of_an_account_under_margin_call_says_so_and_exits_like_margin(workdir, tmp_path):
    account, snapshot = str(workdir / "margin_call.json"), str(workdir / "snapshot.json")
    assert run(workdir, "margin", account, snapshot).exit_code == 1
    text = run(workdir, "stress", account, snapshot)
    assert text.exit_code == 1, text.output
    assert "UNDER MARGIN CALL NOW" in text.stdout and "(+0.0000%)" not in text.stdout
    assert re.search(r"^  BTC today 64000: healthy again at [0-9.]+ \(\+0\.[0-9]+%\) going up$", text.stdout, re.M)
    shocked = run(workdir, "stress", str(workdir / "healthy.json"), snapshot, "--shock", "BTC=-75%")
    assert shocked.exit_code == 0  # healthy today: only the shocked state is under margin call
    assert "under the shocks: margin call" in shocked.stdout and "UNDER MARGIN CALL NOW" not in shocked.stdout
    assert re.search(r"^  BTC today 64000, shocked -75% to 16000: healthy again at [0-9.]+ \(-[0-9.]+%\) going up$",
                     shocked.stdout, re.M)
    as_json = run(workdir, "stress", account, snapshot, "--json", "--png", str(tmp_path / "mc.png"))
    assert as_json.exit_code == 1
    doc = json.loads(as_json.stdout)
    assert doc["under_margin_call"] is True and doc["account_id"] == "trader-margin-call"
    btc = next(c for c in doc["margin_call_prices"] if c["underlying"] == "BTC")
    assert btc["in_call_now"] and btc["below"] is None and btc["above"] is None
    assert float(btc["restore_above"]["move"]) > 0 and btc["restore_below"] is None
    assert (tmp_path / "mc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    healthy = run(workdir, "stress", str(workdir / "healthy.json"), snapshot, "--json")
    assert healthy.exit_code == 0 and json.loads(healthy.stdout)["under_margin_call"] is False


@pytest.mark.parametrize("args,message", [
    (("--shock", "XRP=-20%"), "unknown underlying 'XRP'"),
    (("--shock", "BTC=-120%"), "below -100%"),
    (("--shock", "BTC"), "expected UNDERLYING=MOVE"),
    (("--grid", "BTC=-50%:+50%"), "expected UNDERLYING=START:STOP:STEP"),
    (("--grid", "BTC=-50%:+50%:0%"), "STEP must be positive"),
    (("--grid", "NOPE=-5%:5%:1%"), "unknown underlying 'NOPE'"),
    (("--model", "var"), "publishes no historical scenarios"),
])
def test_stress_bad_input_exits_2(workdir, args, message):
    result = run(workdir, "stress", str(workdir / "healthy.json"), str(workdir / "snapshot.json"), *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("model", ["cross", "tiered", "portfolio", "es"])
def test_stress_runs_for_every_model(workdir, model):
    snapshot = "scenarios.json" if model == "es" else "snapshot.json"
    result = run(workdir, "stress", str(workdir / "healthy.json"), str(workdir / snapshot), "--model", model,
                 "--shock", "BTC=-30%", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"] == model


@pytest.fixture(scope="module")
def population(workdir) -> Path:
    path = workdir / "accounts.jsonl"
    result = run(workdir, "sample-population", str(workdir / "snapshot.json"), "--count", "600", "--seed", "3",
                 "--out", str(path))
    assert result.exit_code == 0, result.output
    assert len(path.read_text().splitlines()) == 600
    return path


def test_cascade_text_json_and_charts(workdir, population, tmp_path):
    png, page = tmp_path / "cascade.png", tmp_path / "cascade.html"
    depth = ("--depth", "BTC=300000", "--depth", "ETH=300000", "--depth", "SOL=200000", "--depth", "DOGE=100000")
    result = run(workdir, "cascade", str(population), str(workdir / "snapshot.json"), "--shock", "BTC=-12%",
                 "--shock", "ETH=-15%", *depth, "--png", str(png), "--html", str(page), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["accounts"] == 600 and doc["reached_fixpoint"] and len(doc["rounds"]) >= 2
    assert doc["accounts_liquidated"] == sum(r["accounts_liquidated"] for r in doc["rounds"])
    assert len(doc["price_path"]) == len(doc["rounds"]) + 2
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = page.read_text()
    assert "price (% of pre-shock)" in text and "notional liquidated" in text and "<!DOCTYPE svg" not in text
    for name in ("BTC", "ETH"):
        assert f'id="price-{name}"' in text
    assert 'id="notional-liquidated"' in text and "liquidation round (0: right after the shock)" in text
    assert "Liquidation cascade over 600 accounts, shocks BTC -12%, ETH -15%" in text
    plain = run(workdir, "cascade", str(population), str(workdir / "snapshot.json"), "--shock", "BTC=-12%", *depth)
    assert plain.exit_code == 0 and "round  accounts liquidated" in plain.stdout and "total:" in plain.stdout


def _run_with_stderr_on_a_terminal(*args: str) -> tuple[int, bytes, bytes]:
    """(exit code, stdout, what reached the terminal) of the CLI with stderr on a pseudo-terminal, stdout piped."""
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-c", "from zkmargin.cli.main import main; main()", *args],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    terminal = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        terminal += data
    os.close(master)
    stdout = process.stdout.read()
    return process.wait(timeout=120), stdout, terminal


def test_long_loops_show_progress_on_a_terminal_stderr_never_on_stdout(workdir, tmp_path):
    out = tmp_path / "accounts.jsonl"
    code, stdout, terminal = _run_with_stderr_on_a_terminal(
        "sample-population", str(workdir / "snapshot.json"), "--count", "3000", "--out", str(out))
    assert code == 0 and stdout == b""
    assert b"generating accounts" in terminal and b"6000/6000" in terminal
    assert len(out.read_text().splitlines()) == 3000
    args = ("cascade", str(out), str(workdir / "snapshot.json"), "--shock", "BTC=-12%")
    code, stdout, terminal = _run_with_stderr_on_a_terminal(*args)
    assert code == 0 and b"reading accounts" in terminal and b"6000/6000" in terminal
    assert b"total:" in stdout and b"reading accounts" not in stdout and b"\r" not in stdout
    code, stdout, terminal = _run_with_stderr_on_a_terminal(*args, "--json")
    assert code == 0 and json.loads(stdout)["accounts"] == 3000 and b"reading accounts" not in terminal


def test_long_loops_are_quiet_when_stderr_is_not_a_terminal(workdir, population, tmp_path):
    made = run(workdir, "sample-population", str(workdir / "snapshot.json"), "--count", "3000", "--out",
               str(tmp_path / "a.jsonl"))
    assert made.exit_code == 0 and made.stderr == f"wrote 3000 accounts to {tmp_path / 'a.jsonl'}\n"
    ran = run(workdir, "cascade", str(population), str(workdir / "snapshot.json"), "--shock", "BTC=-12%")
    assert ran.exit_code == 0 and ran.stderr == ""


def test_cascade_figure_contents():
    from zkmargin.cli.cascade import cascade_figure

    doc = {"accounts": 10, "accounts_liquidated": 5, "shocks": {"BTC": -0.1}, "price_path": [
        {"stage": "before shock", "prices": {"BTC": 100.0, "ETH": 10.0, "SOL": 5.0, "USD": 1.0}},
        {"stage": "after shock", "prices": {"BTC": 90.0, "ETH": 10.0, "SOL": 5.0, "USD": 1.0}},
        {"stage": "after round 1", "prices": {"BTC": 85.0, "ETH": 9.5, "SOL": 4.9999, "USD": 1.0}},
        {"stage": "after round 2", "prices": {"BTC": 84.0, "ETH": 9.4, "SOL": 4.9998, "USD": 1.0}}],
        "rounds": [{"round": 1, "accounts_liquidated": 3, "notional_liquidated": 1500.0},
                   {"round": 2, "accounts_liquidated": 2, "notional_liquidated": 400.0}]}
    figure = cascade_figure(doc)
    prices, bars = figure.axes
    assert figure.get_suptitle() == ("Liquidation cascade over 10 accounts, shocks BTC -10%: 5 liquidated in 2 rounds")
    assert prices.get_ylabel() == "price (% of pre-shock)" and bars.get_ylabel() == "notional liquidated"
    assert bars.get_xlabel() == "liquidation round (0: right after the shock)"
    lines = {line.get_gid(): line for line in prices.get_lines()}
    # SOL moved by 0.004%: it would sit on the 100% line hiding others; USD never moved.
    assert sorted(gid for gid in lines if gid.startswith("price-")) == ["price-BTC", "price-ETH"]
    assert list(lines["price-BTC"].get_xdata()) == [0, 1, 2] and list(lines["price-BTC"].get_ydata()) == [90.0, 85.0, 84.0]
    assert lines["not-drawn"].get_label() == "not drawn (moved < 0.1%): SOL"
    assert [(p.get_x() + p.get_width() / 2, p.get_height()) for p in bars.patches] == [(1.0, 1500.0), (2.0, 400.0)]
    assert [t.get_text() for t in bars.texts] == ["3 accounts", "2 accounts"]


@pytest.mark.parametrize("args,message", [
    (("--shock", "XRP=-10%"), "unknown underlying 'XRP'"),
    (("--shock", "BTC=-10%", "--depth", "BTC=-5"), "depth BTC"),
    (("--shock", "BTC=-10%", "--depth", "BTC"), "expected UNDERLYING=NOTIONAL"),
])
def test_cascade_bad_input_exits_2(workdir, population, args, message):
    result = run(workdir, "cascade", str(population), str(workdir / "snapshot.json"), *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output


def test_cascade_missing_accounts_file_exits_2(workdir, tmp_path):
    result = run(workdir, "cascade", str(tmp_path / "none.jsonl"), str(workdir / "snapshot.json"), "--shock", "BTC=-1%")
    assert result.exit_code == 2 and "accounts file not found" in result.stderr


RISK_CIRCUIT = "es-n6-k4-s20"


def test_es_end_to_end_commit_prove_verify_and_batch(workdir):
    opening = workdir / "es-opening.json"
    scenarios = str(workdir / "scenarios20.json")
    committed = run(workdir, "commit", str(workdir / "healthy.json"), scenarios, "--opening", str(opening),
                    "--circuit", RISK_CIRCUIT, "--json")
    assert committed.exit_code == 0, committed.output
    commitment = json.loads(committed.stdout)["commitment"]
    keys = json.loads(run(workdir, "setup", "--circuit", RISK_CIRCUIT, "--json").stdout)  # the verifier's keys
    proved = run(workdir, "prove", str(workdir / "healthy.json"), scenarios, "--opening", str(opening),
                 "--context", "77", "--out", str(workdir / "es-proof.json"), "--public-out", str(workdir / "es-public.json"))
    assert proved.exit_code == 0, proved.output
    verify_args = ["verify", str(workdir / "es-proof.json"), "--snapshot", scenarios, "--commitment", commitment,
                   "--circuit", RISK_CIRCUIT]
    assert run(workdir, *verify_args, "--context", "77").exit_code == 0
    assert run(workdir, *verify_args, "--context", "78").exit_code == 1
    # A margin call under ES is refused before any proof is written.
    bad_opening = workdir / "es-bad-opening.json"
    assert run(workdir, "commit", str(workdir / "margin_call.json"), scenarios, "--opening", str(bad_opening),
               "--circuit", RISK_CIRCUIT).exit_code == 0
    refused = run(workdir, "prove", str(workdir / "margin_call.json"), scenarios, "--opening", str(bad_opening),
                  "--context", "1", "--out", str(workdir / "never.json"))
    assert refused.exit_code == 1 and "margin call" in refused.stderr and not (workdir / "never.json").exists()
    # verify-batch with the same key from the cache.
    proof = json.loads((workdir / "es-proof.json").read_text())
    lines = [{"id": "good", "commitment": commitment, "context": "77", "proof": proof},
             {"id": "replay", "commitment": commitment, "context": "76", "proof": proof}]
    (workdir / "es-batch.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    inspected = run(workdir, "inspect", "--circuit", RISK_CIRCUIT, "--json")
    assert inspected.exit_code == 0 and json.loads(inspected.stdout)["public_inputs"] == 3 + 22 * 10 + 2
    batch = run(workdir, "verify-batch", str(workdir / "es-batch.jsonl"), "--vk", keys["verification_key"],
                "--snapshot", scenarios, "--circuit", RISK_CIRCUIT, "--report-dir", str(workdir / "es-report"), "--json")
    assert batch.exit_code == 1, batch.output
    summary = json.loads(batch.stdout)
    assert (summary["valid"], summary["invalid"]) == (1, 1)
