"""The venue directory the `zkmargin venue` tests share: two venue keys, a snapshot, a later one, requests."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from zkmargin.cli.main import cli

COMMITMENTS = [1000 + 7 * i for i in range(5)]
IDENTITIES = [5000 + 11 * i for i in range(5)]  # the traders' identities (stand-ins for identity_commitment outputs)


def run(tmp: Path, *args: str):
    return CliRunner().invoke(cli, ["--cache-dir", str(tmp / "cache"), *args], catch_exceptions=False)


def check(d: Path, *args: str, snapshot: str = "snapshot.json", public: str = "venue.key.pub.json"):
    return run(d, "venue", "check", str(d / snapshot), "--public-key", str(d / public), *args)
