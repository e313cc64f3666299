"""The same API on PostgreSQL, where a server can be started here (Debian's postgresql package)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.verifier_service.conftest import (
    ADMIN,
    CIRCUIT,
    admin_headers,
    new_key,
    publish,
    signed_snapshot,
    verify_body,
)
from zkmargin.verifier_service.app import create_app
from zkmargin.verifier_service.settings import Settings


def test_api_on_postgres(postgres, material):
    postgres_url = postgres.url
    client = TestClient(create_app(Settings(database_url=postgres_url, admin_key=ADMIN)))
    venue = new_key(client, "venue")
    assert client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                       headers=admin_headers()).status_code == 201
    assert publish(client, material.snapshot_json, venue).status_code == 201
    result = client.post("/v1/verify", json=verify_body(material)).json()
    assert result["valid"] is True
    # A second worker process would share this database: a fresh app sees everything.
    other = TestClient(create_app(Settings(database_url=postgres_url, admin_key=ADMIN)))
    assert other.get(f"/v1/receipts/{result['receipt_id']}").json()["valid"] is True
    assert other.get("/readyz").status_code == 200
    assert other.get(f"/v1/receipts/{result['receipt_id']}").json()["snapshot_digest"] == result["snapshot_digest"]
    # The same ids from a second worker are conflicts, not server errors.
    assert other.post("/v1/snapshots", json=signed_snapshot(material.snapshot_json), headers=venue).status_code == 409


def test_workers_survive_a_database_restart(postgres, material):
    """Connections killed by a restart are replaced on next use: no request fails after it."""
    if postgres.restart is None:
        pytest.skip("external PostgreSQL: not restarted by the tests")
    client = TestClient(create_app(Settings(database_url=postgres.url, admin_key=ADMIN)))
    assert client.get("/readyz").status_code == 200
    first = client.post("/v1/verify", json=verify_body(material))
    if first.status_code == 404:  # run alone: register what test_api_on_postgres would have
        venue = new_key(client, "venue")
        client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                    headers=admin_headers())
        publish(client, material.snapshot_json, venue)
        first = client.post("/v1/verify", json=verify_body(material))
    assert first.json()["valid"] is True
    postgres.restart()
    # A write first (its transaction probes the connection), then a read (retried once).
    after = client.post("/v1/verify", json=verify_body(material))
    assert after.status_code == 200, after.text
    postgres.restart()
    assert client.get(f"/v1/receipts/{after.json()['receipt_id']}").status_code == 200
    assert client.get("/readyz").status_code == 200
