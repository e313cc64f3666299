"""The same API on PostgreSQL, where a server can be started here (Debian's postgresql package)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.verifier_service.conftest import (
    ADMIN,
    CIRCUIT,
    admin_headers,
    new_key,
    verify_body,
)
from tests.verifier_service.test_durability import free_port
from verifier_service.app import create_app
from verifier_service.settings import Settings


def _as_postgres(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL")
        return [runuser, "-u", "postgres", "--", *command]
    return command


@dataclass
class Server:
    url: str
    restart: Callable[[], None] | None  # None for an external server the test must not touch


@pytest.fixture(scope="module")
def postgres():
    if os.environ.get("ZKMARGIN_TEST_POSTGRES_URL"):
        yield Server(os.environ["ZKMARGIN_TEST_POSTGRES_URL"], None)
        return
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not binaries:
        pytest.skip("no PostgreSQL server binaries (install Debian's postgresql, or set ZKMARGIN_TEST_POSTGRES_URL)")
    bindir = os.path.dirname(binaries[-1])
    root = tempfile.mkdtemp(prefix="zkmargin-pg-")
    os.chmod(root, 0o777)
    data = os.path.join(root, "data")
    port = free_port()
    try:
        subprocess.run(_as_postgres([f"{bindir}/initdb", "-D", data, "-U", "postgres", "--auth=trust"]),
                       check=True, capture_output=True)
        subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-o", f"-p {port} -k {root} -h 127.0.0.1",
                                     "-l", os.path.join(root, "log"), "-w", "start"]), check=True, capture_output=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        pytest.skip(f"could not start PostgreSQL: {exc}")
    time.sleep(0.2)

    def restart() -> None:
        # -l: without a log file the new postmaster would hold our output pipe open forever.
        subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "-w", "-l", os.path.join(root, "log"),
                                     "restart"]), check=True, capture_output=True, timeout=60)

    try:
        yield Server(f"postgresql://postgres@127.0.0.1:{port}/postgres", restart)
    finally:
        subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_api_on_postgres(postgres, material):
    postgres_url = postgres.url
    client = TestClient(create_app(Settings(database_url=postgres_url, admin_key=ADMIN)))
    venue = new_key(client, "venue")
    assert client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                       headers=admin_headers()).status_code == 201
    assert client.post("/v1/snapshots", json=material.snapshot_json, headers=venue).status_code == 201
    result = client.post("/v1/verify", json=verify_body(material)).json()
    assert result["valid"] is True
    # A second worker process would share this database: a fresh app sees everything.
    other = TestClient(create_app(Settings(database_url=postgres_url, admin_key=ADMIN)))
    assert other.get(f"/v1/receipts/{result['receipt_id']}").json()["valid"] is True
    assert other.get("/readyz").status_code == 200
    assert other.get(f"/v1/receipts/{result['receipt_id']}").json()["snapshot_digest"] == result["snapshot_digest"]
    # The same ids from a second worker are conflicts, not server errors.
    assert other.post("/v1/snapshots", json=material.snapshot_json, headers=venue).status_code == 409


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
        client.post("/v1/snapshots", json=material.snapshot_json, headers=venue)
        first = client.post("/v1/verify", json=verify_body(material))
    assert first.json()["valid"] is True
    postgres.restart()
    # A write first (its transaction probes the connection), then a read (retried once).
    after = client.post("/v1/verify", json=verify_body(material))
    assert after.status_code == 200, after.text
    postgres.restart()
    assert client.get(f"/v1/receipts/{after.json()['receipt_id']}").status_code == 200
    assert client.get("/readyz").status_code == 200
