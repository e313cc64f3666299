"""Real server processes for the service tests: a free loopback port, and a server started on it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.verifier_service.conftest import ADMIN


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(database_url: str | None, port: int, command: list[str] | None = None) -> subprocess.Popen:
    """A real server process (python -m verifier_service unless command is given), once /healthz answers."""
    env = {**os.environ, "ZKMARGIN_ADMIN_KEY": ADMIN}
    command = command or [sys.executable, "-m", "verifier_service", "--port", str(port), "--database-url",
                          str(database_url)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
