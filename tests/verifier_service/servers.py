"""Real verifier-service processes on loopback for the tests that need one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from tests.verifier_service.conftest import ADMIN, free_port

__all__ = ["ServerProcess", "free_port", "start"]

_LISTENING = re.compile(rb"Uvicorn running on \S*?http://\S+:(\d+)")


class ServerProcess(subprocess.Popen):
    """A server child whose stderr a thread drains (a full pipe would stall it) and reads for the port it bound."""

    port: int

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, stderr=subprocess.PIPE, **kwargs)
        self._stderr_lines: list[bytes] = []
        self._bound = threading.Event()
        self._drained = threading.Thread(target=self._drain, daemon=True)
        self._drained.start()

    def _drain(self) -> None:
        for line in self.stderr:
            self._stderr_lines.append(line)
            found = _LISTENING.search(line)
            if found and not self._bound.is_set():
                self.port = int(found.group(1))
                self._bound.set()

    def stderr_text(self) -> str:
        """All the server wrote to stderr (whole once it has exited)."""
        if self.poll() is not None:
            self._drained.join(timeout=30)
        return b"".join(self._stderr_lines).decode(errors="replace")

    def wait_until_bound(self, deadline: float) -> bool:
        """True once this process said where it listens; False if it exited or the deadline passed first."""
        while time.monotonic() < deadline and self.poll() is None:
            if self._bound.wait(0.1):
                return True
        return self._bound.is_set()


def start(database_url: str | None, port: int = 0, command: list[str] | None = None,
          stdout: int = subprocess.DEVNULL, env: dict[str, str] | None = None,
          preexec_fn: Callable[[], None] | None = None) -> ServerProcess:
    """A real server process (python -m zkmargin.verifier_service unless command is given), once it answers /healthz on
    the port it bound (process.port); env adds ZKMARGIN_* settings, preexec_fn runs in the child before it starts.

    Port 0 (the default) lets the server's own bind choose a free port, so no other process can take it between
    choosing and binding. /healthz is asked only on the port this process announced: a server of another test
    answering on a port this one failed to bind must not pass for it (its database is another one).
    """
    env = {**os.environ, "ZKMARGIN_ADMIN_KEY": ADMIN, **(env or {})}
    command = command or [sys.executable, "-m", "zkmargin.verifier_service", "--port", str(port), "--database-url",
                          str(database_url)]
    process = ServerProcess(command, env=env, stdout=stdout, preexec_fn=preexec_fn)
    deadline = time.monotonic() + 60
    if not process.wait_until_bound(deadline):
        if process.poll() is not None:
            pytest.fail(f"server exited: {process.stderr_text()[-2000:]}")
        process.kill()
        pytest.fail("server did not say where it listens within 60 s")
    if port and process.port != port:
        process.kill()
        pytest.fail(f"server listens on {process.port}, not on the port {port} it was given")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited: {process.stderr_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{process.port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    pytest.fail("server did not start within 60 s")
