"""A receipt returned by a real uvicorn process survives kill -9 of that process."""

from __future__ import annotations

import signal

import httpx

from tests.verifier_service.conftest import ADMIN, CIRCUIT, free_port, publish, verify_body
from tests.verifier_service.servers import start
from zkmargin.verifier_service.deps import ServiceState
from zkmargin.verifier_service.repository import ReceiptRecord


def test_receipt_survives_kill_9(tmp_path, material):
    database_url = f"sqlite:///{tmp_path}/durable.db"
    admin = {"Authorization": f"Bearer {ADMIN}"}
    server = start(database_url)
    base = f"http://127.0.0.1:{server.port}"
    try:
        venue_token = httpx.post(f"{base}/v1/keys", json={"role": "venue", "name": "v"}, headers=admin).json()["token"]
        assert httpx.post(f"{base}/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                          headers=admin).status_code == 201
        assert publish(base, material.snapshot_json, {"Authorization": f"Bearer {venue_token}"}).status_code == 201
        result = httpx.post(f"{base}/v1/verify", json=verify_body(material), timeout=30).json()
        assert result["valid"] is True
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    restarted = start(database_url)
    base = f"http://127.0.0.1:{restarted.port}"
    try:
        receipt = httpx.get(f"{base}/v1/receipts/{result['receipt_id']}").json()
        assert receipt["valid"] is True and receipt["input_digest"] == result["input_digest"]
        # The venue key, circuit and snapshot survived as well.
        again = httpx.post(f"{base}/v1/verify", json=verify_body(material), timeout=30).json()
        assert again["valid"] is True and again["receipt_id"] != result["receipt_id"]
    finally:
        restarted.send_signal(signal.SIGKILL)
        restarted.wait()


def test_healthz_answers_while_verifications_saturate_the_pool(tmp_path, monkeypatch):
    """/healthz is answered while every verification thread is provably busy and more requests queue.

    No wall-clock bound: verifications block on a gate this test holds closed until /healthz has
    answered. Were /healthz queued behind them (or verification run on the event loop), it could not
    answer before the gate opens; the guard timer opens it only to end such a run, and then fails it.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import uvicorn

    from tests.verifier_service.conftest import make_client
    from zkmargin.verifier_service import verification
    from zkmargin.verifier_service.verification import new_receipt

    threads = 2
    app = make_client(tmp_path, worker_threads=threads).app
    gate, entered, guard_fired = threading.Event(), threading.Semaphore(0), threading.Event()

    def blocked_verification(state: ServiceState, bodies: list) -> list[ReceiptRecord]:
        entered.release()
        gate.wait()
        return [new_receipt(CIRCUIT, "s", "d", 1, 2, "00", False, venue="v") for _ in bodies]

    monkeypatch.setattr(verification, "verify_many_and_record", blocked_verification)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()

    def open_gate_to_end_a_hung_run() -> None:
        guard_fired.set()
        gate.set()

    guard = threading.Timer(120, open_gate_to_end_a_hung_run)
    try:
        while not server.started:
            serving.join(0.05)
            assert serving.is_alive(), "server thread died"
        base = f"http://127.0.0.1:{port}"
        body = {"circuit_id": CIRCUIT, "snapshot_id": "s", "commitment": "1", "context": "2", "proof_b64": "AA=="}
        guard.start()
        with ThreadPoolExecutor(max_workers=threads + 2) as clients:
            burst = [clients.submit(httpx.post, f"{base}/v1/verify", json=body, timeout=None)
                     for _ in range(threads + 2)]
            for _ in range(threads):  # every verification thread is now inside a verification
                entered.acquire()
            health = httpx.get(f"{base}/healthz", timeout=None)
            in_flight = sum(not f.done() for f in burst)
            guard_fired_before_answer = guard_fired.is_set()
            gate.set()
            statuses = [f.result().status_code for f in burst]
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        assert not guard_fired_before_answer, "/healthz waited for the verifications"
        assert in_flight == threads + 2  # none had finished: /healthz was not queued behind them
        assert statuses == [200] * (threads + 2)  # each one ran the blocked verification to its end
    finally:
        guard.cancel()
        gate.set()
        server.should_exit = True
        serving.join(30)
