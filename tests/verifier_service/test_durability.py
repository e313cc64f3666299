"""A receipt returned by a real uvicorn process survives kill -9 of that process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.verifier_service.conftest import ADMIN, CIRCUIT, verify_body


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


def test_receipt_survives_kill_9(tmp_path, material):
    database_url = f"sqlite:///{tmp_path}/durable.db"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    admin = {"Authorization": f"Bearer {ADMIN}"}
    server = start(database_url, port)
    try:
        venue_token = httpx.post(f"{base}/v1/keys", json={"role": "venue", "name": "v"}, headers=admin).json()["token"]
        assert httpx.post(f"{base}/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                          headers=admin).status_code == 201
        assert httpx.post(f"{base}/v1/snapshots", json=material.snapshot_json,
                          headers={"Authorization": f"Bearer {venue_token}"}).status_code == 201
        result = httpx.post(f"{base}/v1/verify", json=verify_body(material), timeout=30).json()
        assert result["valid"] is True
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    restarted = start(database_url, port)
    try:
        receipt = httpx.get(f"{base}/v1/receipts/{result['receipt_id']}").json()
        assert receipt["valid"] is True and receipt["input_digest"] == result["input_digest"]
        # The venue key, circuit and snapshot survived as well.
        again = httpx.post(f"{base}/v1/verify", json=verify_body(material), timeout=30).json()
        assert again["valid"] is True and again["receipt_id"] != result["receipt_id"]
    finally:
        restarted.send_signal(signal.SIGKILL)
        restarted.wait()


def test_healthz_answers_while_verifications_saturate_the_pool(tmp_path, material):
    """Verification runs off the event loop: liveness stays fast under a burst of proofs."""
    from concurrent.futures import ThreadPoolExecutor

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    admin = {"Authorization": f"Bearer {ADMIN}"}
    server = start(f"sqlite:///{tmp_path}/load.db", port)
    try:
        venue = httpx.post(f"{base}/v1/keys", json={"role": "venue", "name": "v"}, headers=admin).json()["token"]
        httpx.post(f"{base}/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                   headers=admin).raise_for_status()
        httpx.post(f"{base}/v1/snapshots", json=material.snapshot_json,
                   headers={"Authorization": f"Bearer {venue}"}).raise_for_status()
        body = verify_body(material)
        with ThreadPoolExecutor(max_workers=24) as pool:
            burst = [pool.submit(httpx.post, f"{base}/v1/verify", json=body, timeout=60) for _ in range(120)]
            time.sleep(0.2)
            health = []
            for _ in range(10):
                started = time.perf_counter()
                assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
                health.append(time.perf_counter() - started)
            results = [f.result() for f in burst]
        assert all(r.status_code == 200 and r.json()["valid"] for r in results)
        assert max(health) < 1.0, health
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
