"""First-run cost: `zkmargin setup` and `zkmargin prove` as whole processes, first and second time, in a fresh install.

For each git revision given (default HEAD): clone the repository into a temporary
directory, create a virtual environment, `pip install` the clone (not editable),
then run, with an empty key cache, `commit` once and `setup --force` + `prove`
twice on the packaged sample account. Nothing is cached before the first round
(no numba cache, no keys, no .pyc beyond what pip writes at install). Target of
issue #10: first prove <= 1.25 x second prove + 1 s. Prints a table, writes JSON.

Usage: python bench/first_run.py [--ref HEAD] [--ref <base commit>] [--out bench/results/first_run.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall seconds of one process; fails loudly if it fails."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def run(ref: str) -> dict:
    """Fresh clone at ref, fresh venv, then two rounds of setup + prove."""
    work = Path(tempfile.mkdtemp(prefix="zkmargin-first-run-"))
    try:
        clone = work / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "-q", ref], check=True)
        commit = subprocess.run(["git", "-C", str(clone), "rev-parse", "--short", "HEAD"], check=True,
                                capture_output=True, text=True).stdout.strip()
        venv = work / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        started = time.perf_counter()
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(clone)], check=True, capture_output=True)
        install_s = time.perf_counter() - started
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "ZKMARGIN_", "VIRTUAL_ENV"))}
        env.update(ZKMARGIN_CACHE_DIR=str(work / "keys"), PATH=f"{venv / 'bin'}:{env.get('PATH', '')}")
        cli = str(venv / "bin" / "zkmargin")
        data = clone / "zkmargin" / "margin" / "sample_data"
        run_dir = work / "run"
        run_dir.mkdir()
        account, snapshot = str(data / "healthy.json"), str(data / "snapshot.json")
        commit_s = timed([cli, "commit", account, snapshot, "--opening", "opening.json"], run_dir, env)
        rounds = []
        for _ in range(2):
            setup_s = timed([cli, "setup", "--force"], run_dir, env)
            prove_s = timed([cli, "prove", account, snapshot, "--opening", "opening.json", "--context", "42",
                             "--out", "proof.json", "--public-out", "public.json"], run_dir, env)
            rounds.append({"setup_s": setup_s, "prove_s": prove_s})
        first, second = rounds[0]["prove_s"], rounds[1]["prove_s"]
        return {
            "ref": ref,
            "commit": commit,
            "install_s": install_s,
            "commit_s": commit_s,
            "rounds": rounds,
            "prove_first_over_second": first / second,
            "target_met": first <= 1.25 * second + 1.0,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    """Run each revision, print, write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", action="append", help="git revision (repeatable; default HEAD)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "first_run.json")
    args = parser.parse_args()
    rows = [run(ref) for ref in (args.ref or ["HEAD"])]
    print(f"{'revision':<10} {'install s':>9} {'setup 1st':>9} {'setup 2nd':>9} {'prove 1st':>9} {'prove 2nd':>9} "
          f"{'1st/2nd':>7} {'<= 1.25x + 1 s':>14}")
    for r in rows:
        (a, b) = r["rounds"]
        print(f"{r['commit']:<10} {r['install_s']:>9.1f} {a['setup_s']:>9.2f} {b['setup_s']:>9.2f} "
              f"{a['prove_s']:>9.2f} {b['prove_s']:>9.2f} {r['prove_first_over_second']:>7.2f} {str(r['target_met']):>14}")
    load = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(),
                                    "load_avg_at_end": load, "rows": rows}, indent=1))
    print(f"load average at the end: {load[0]:.1f} (2 cores); wrote {args.out}")


if __name__ == "__main__":
    main()
