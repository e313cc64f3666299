"""Body limits per route, the body read deadline on a real server, and 5xx responses in /metrics."""

from __future__ import annotations

import re
import socket

import pytest
from fastapi.testclient import TestClient

from tests.verifier_service.conftest import admin_headers, make_client, new_key
from tests.verifier_service.servers import start
from zkmargin.backends import get_backend
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.groth16.serialization import g1_to_json
from zkmargin.verifier_service.settings import Settings


def synthetic_key(material, circuit_id: str) -> dict:
    """A verification key of circuit_id's true size: the small key's points, IC distinct multiples of the generator.

    Repeated IC points would be refused (equal input points are not bound separately).
    """
    backend = get_backend("arkworks")
    circuit = circuit_from_id(circuit_id)
    point, ic = backend.g1_generator(), []
    for _ in range(circuit.num_public + 1):
        point = backend.g1_add(point, backend.g1_generator())
        ic.append(g1_to_json(point, backend))
    return {**material.vk_json, "nPublic": circuit.num_public, "IC": ic}


@pytest.mark.parametrize("circuit_id,at_least_bytes", [
    ("tiered-n64-k8-t4", 280_000),     # 289,584 bytes from `zkmargin setup`, refused by the old 256 KiB limit
    ("portfolio-n64-k8", 290_000),
    ("tiered-n1023-k1-t16", 16_000_000),  # the largest circuit whose snapshots the service accepts
])
def test_key_registration_takes_every_circuits_key_under_default_settings(tmp_path, material, circuit_id,
                                                                           at_least_bytes):
    import json

    assert Settings().max_body_bytes < at_least_bytes  # the default general limit alone would refuse it
    client = make_client(tmp_path)
    body = {"circuit_id": circuit_id, "verification_key": synthetic_key(material, circuit_id)}
    assert len(json.dumps(body)) >= at_least_bytes
    response = client.post("/v1/circuits", json=body, headers=admin_headers())
    assert response.status_code == 201, response.text[:300]
    assert client.get(f"/v1/circuits/{circuit_id}").json()["num_public"] == circuit_from_id(circuit_id).num_public


def test_only_the_admin_gets_the_larger_body_limit(tmp_path, material):
    client = make_client(tmp_path)
    body = {"circuit_id": "tiered-n64-k8-t4", "verification_key": synthetic_key(material, "tiered-n64-k8-t4")}
    venue = new_key(client, "venue")
    for headers in ({}, venue, {"Authorization": "Bearer not-the-admin"}):
        response = client.post("/v1/circuits", json=body, headers=headers)
        assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"
    # Other routes keep the general limit even with the admin key.
    assert client.post("/v1/keys", json={"role": "venue", "name": "x" * 300_000},
                       headers=admin_headers()).status_code == 413


def test_unhandled_errors_are_counted_in_metrics(tmp_path, monkeypatch):
    client = make_client(tmp_path)
    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(client.app.state.service.repository, "receipt", broken)
    quiet = TestClient(client.app, raise_server_exceptions=False)
    response = quiet.get("/v1/receipts/abc")
    assert response.status_code == 500 and response.json()["error"]["code"] == "internal_error"
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["cache-control"] == "no-store"
    text = quiet.get("/metrics", headers=admin_headers()).text
    assert re.search(r'^zkmargin_http_requests_total\{method="GET",route="/v1/receipts/\{receipt_id\}",status="500"\} 1(\.0)?$',
                     text, re.M), text


def test_slow_bodies_time_out_on_a_real_server(tmp_path, monkeypatch):
    """Connections that declare a body and never send it are answered 408 and closed by the server."""
    monkeypatch.setenv("ZKMARGIN_BODY_TIMEOUT_S", "1")
    server = start(f"sqlite:///{tmp_path}/slow.db")
    port = server.port
    connections = []
    try:
        for _ in range(20):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 200000\r\n\r\n{")
            connections.append(sock)
        for sock in connections:
            sock.settimeout(60)  # a hang guard, not a bound on the answer: the server must close by itself
            received = b""
            while chunk := sock.recv(65536):  # ends at EOF: the server closed the connection
                received += chunk
            assert received.startswith(b"HTTP/1.1 408"), received[:200]
            assert b'"body_timeout"' in received
    finally:
        for sock in connections:
            sock.close()
        server.kill()
        server.wait()


def test_worker_processes_share_one_set_of_series(tmp_path):
    """prometheus_client's multiprocess mode, as `zkmargin serve --workers N` switches it on: two
    processes count, and /metrics (in any of them) shows the sums, not one series per worker."""
    import os
    import subprocess
    import sys

    from zkmargin.verifier_service.metrics import render_multiprocess

    script = ("from verifier_service.metrics import Metrics; m = Metrics(); "
              "m.observe_request('GET', '/healthz', 200, 0.003); m.observe_result('valid')")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", script], env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
                       check=True, timeout=120)
    text = render_multiprocess(str(tmp_path)).decode()
    assert 'zkmargin_http_requests_total{method="GET",route="/healthz",status="200"} 2.0' in text
    assert 'zkmargin_verifications_total{result="valid"} 2.0' in text
    assert 'zkmargin_http_request_duration_seconds_count{route="/healthz"} 2.0' in text
