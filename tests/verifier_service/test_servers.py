"""The real-server harness itself: a test talks to the server it started, never to another one on its port."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.verifier_service.servers import start


class _AlwaysHealthy(BaseHTTPRequestHandler):
    """Another process's server: answers 200 to every GET, as any verifier service answers /healthz."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
        pass


def test_a_server_that_could_not_bind_is_not_taken_for_the_one_answering_on_its_port(tmp_path):
    """Two test processes that picked one free port: the loser's /healthz poll reached the winner, so its test
    read another database (a receipt without a venue). The harness now fails the start instead."""
    other = ThreadingHTTPServer(("127.0.0.1", 0), _AlwaysHealthy)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        port = other.server_address[1]
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        with pytest.raises(pytest.fail.Exception, match="server exited"):
            stray = start(f"sqlite:///{tmp_path}/loser.db", port)
            # Reached only when the harness took the other server's answer for its own: the stray process
            # would bind the port once the other server is gone, and outlive the test.
            stray.kill()
            stray.wait()
    finally:
        other.shutdown()
        other.server_close()


def test_port_zero_lets_the_server_choose_and_says_which(tmp_path):
    server = start(f"sqlite:///{tmp_path}/t.db")
    try:
        assert server.port > 0
        assert httpx.get(f"http://127.0.0.1:{server.port}/readyz").json() == {"status": "ready"}
    finally:
        server.kill()
        server.wait()
    assert f"Uvicorn running on http://127.0.0.1:{server.port}" in server.stderr_text()
