"""Both entry points start a real server: `zkmargin serve` and `python -m zkmargin.verifier_service`."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.verifier_service.conftest import ADMIN, CIRCUIT
from tests.verifier_service.servers import free_port, start

ZKMARGIN = [sys.executable, "-c", "from cli.main import main; main()"]


def test_zkmargin_serve_starts_the_service_with_the_global_backend(tmp_path, material, monkeypatch):
    # An unknown backend in the environment: only the --backend option can make this server work.
    monkeypatch.setenv("ZKMARGIN_BACKEND", "no-such-backend")
    database = tmp_path / "fresh" / "cli.db"
    command = [*ZKMARGIN, "--backend", "py_ecc", "serve", "--port", "0", "--database-url", f"sqlite:///{database}"]
    server = start(None, command=command, stdout=subprocess.PIPE)
    port = server.port
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").json() == {"status": "ready"}
        created = httpx.post(f"http://127.0.0.1:{port}/v1/keys", json={"role": "venue", "name": "v"},
                             headers={"Authorization": f"Bearer {ADMIN}"})
        assert created.status_code == 201  # the admin key came from the environment
        assert database.exists()  # created on first start, parent directories included
        registered = httpx.post(f"http://127.0.0.1:{port}/v1/circuits", timeout=60,
                                json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                                headers={"Authorization": f"Bearer {ADMIN}"})
        assert registered.status_code == 201, registered.text
        # The service's own HTTP protocol, as `python -m zkmargin.verifier_service` runs it: a bounded head, no Server header.
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.settimeout(30)  # a hang guard: the old server waited for the rest of the head
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 431 ")
        assert "server" not in httpx.get(f"http://127.0.0.1:{port}/healthz").headers
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert f"Uvicorn running on http://127.0.0.1:{port}" in server.stderr_text()  # where it listens
    assert '"POST /v1/keys HTTP/1.1" 201' in server.stdout.read().decode()  # uvicorn's access log, a line per request


@pytest.mark.parametrize(
    "command",
    [
        [*ZKMARGIN, "serve", "--database-url", "mysql://db"],
        [*ZKMARGIN, "serve", "--port", "70000"],
        [*ZKMARGIN, "serve", "--workers", "0"],
        [sys.executable, "-m", "zkmargin.verifier_service", "--database-url", "sqlite:relative.db"],
        [sys.executable, "-m", "zkmargin.verifier_service", "--workers", "0"],
    ],
)
def test_bad_options_exit_2_before_serving(command):
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env={**os.environ})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_backend_stops_the_start(tmp_path, monkeypatch):
    monkeypatch.setenv("ZKMARGIN_BACKEND", "no-such-backend")
    result = subprocess.run([sys.executable, "-m", "zkmargin.verifier_service", "--port", str(free_port()), "--database-url",
                             f"sqlite:///{tmp_path}/x.db"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "unknown curve backend" in result.stderr


def test_serve_on_a_busy_port_exits_2_and_creates_no_database(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        database = tmp_path / "busy.db"
        result = subprocess.run([*ZKMARGIN, "serve", "--port", str(port), "--database-url", f"sqlite:///{database}"],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
    assert not database.exists()


def test_serve_maps_uvicorns_startup_failure_to_exit_2(tmp_path, monkeypatch):
    """Should the port be taken between the check and uvicorn's bind, uvicorn's exit 3 still comes out as 2."""
    import socket

    from click.testing import CliRunner

    from zkmargin.cli import serve as serve_module
    from zkmargin.cli.main import cli

    monkeypatch.setattr(serve_module, "_check_port_free", lambda host, port: None, raising=False)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = CliRunner().invoke(cli, ["serve", "--port", str(busy.getsockname()[1]), "--database-url",
                                          f"sqlite:///{tmp_path}/race.db"])
    assert result.exit_code == 2, result.output


def documented_commands(page: str) -> list[str]:
    """The shell commands of a docs page's ```sh blocks, one per line."""
    text = (Path(__file__).resolve().parents[2] / "docs" / page).read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_the_migration_pages_start_command_serves(tmp_path):
    """docs/service-migration.md's command, run as printed (port, database and secret filled in)."""
    [command] = documented_commands("service-migration.md")
    port = free_port()
    command = (command.replace("<ADMIN_KEY>", ADMIN).replace("--port 8000", f"--port {port}")
               .replace("sqlite:///receipts.db", f"sqlite:///{tmp_path}/receipts.db"))
    assert "python -m zkmargin.verifier_service" in command
    words = shlex.split(command)
    settings = dict(word.split("=", 1) for word in words if "=" in word and not word.startswith("-"))
    argv = [sys.executable if word == "python" else word for word in words if word not in
            {f"{k}={v}" for k, v in settings.items()}]
    server = start(None, port, command=argv, env=settings)
    try:
        created = httpx.post(f"http://127.0.0.1:{port}/v1/keys", json={"role": "venue", "name": "v"},
                             headers={"Authorization": f"Bearer {ADMIN}"})
        assert created.status_code == 201, created.text
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert (tmp_path / "receipts.db").exists()
