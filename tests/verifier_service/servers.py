"""Real verifier-service processes on loopback for the tests that need one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import pytest

from tests.verifier_service.conftest import ADMIN, free_port

__all__ = ["free_port", "start"]


def start(database_url: str | None, port: int, command: list[str] | None = None,
          stdout: int = subprocess.DEVNULL, env: dict[str, str] | None = None,
          preexec_fn: Callable[[], None] | None = None) -> subprocess.Popen:
    """A real server process (python -m zkmargin.verifier_service unless command is given), once /healthz answers;
    env adds ZKMARGIN_* settings, preexec_fn runs in the child before it starts (resource limits)."""
    env = {**os.environ, "ZKMARGIN_ADMIN_KEY": ADMIN, **(env or {})}
    command = command or [sys.executable, "-m", "zkmargin.verifier_service", "--port", str(port), "--database-url",
                          str(database_url)]
    process = subprocess.Popen(command, env=env, stdout=stdout, stderr=subprocess.PIPE, preexec_fn=preexec_fn)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    pytest.fail("server did not start within 60 s")
