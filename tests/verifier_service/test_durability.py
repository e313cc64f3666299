"""A receipt returned by a real uvicorn process survives kill -9 of that process."""

from __future__ import annotations

import signal
import time

import httpx

from tests.verifier_service.conftest import ADMIN, CIRCUIT, verify_body
from tests.verifier_service.servers import free_port, start


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
