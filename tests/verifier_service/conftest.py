"""Service fixtures: one small circuit's keys and proof per session, a fresh app per test."""

from __future__ import annotations

import glob
import hashlib
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from zkmargin.backends import get_backend
from zkmargin.circuits.proving import prove_account
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.errors import ZkMarginError
from zkmargin.groth16 import VerifyingKey, setup
from zkmargin.groth16.batch import BatchItem, BatchResult
from zkmargin.groth16.serialization import proof_to_json, vk_to_json
from zkmargin.margin.models import parse_snapshot, snapshot_to_json
from zkmargin.margin.samples import sample_account, sample_snapshot
from zkmargin.venue.attestation import (
    VenueSigningKey,
    attest,
    attestation_to_json,
    public_key_to_json,
    sign_snapshot,
    snapshot_signature_to_json,
)
from zkmargin.verifier_service.app import create_app
from zkmargin.verifier_service.settings import Settings

CIRCUIT = "cross-n6-k4"
ADMIN = "admin-secret-for-tests"
VENUE_KEY = VenueSigningKey(Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"zkmargin test venue").digest()))
"""The signing key of every venue the tests publish snapshots for (fixed, so runs are repeatable)."""


@dataclass
class Material:
    vk_json: dict
    snapshot_json: dict
    proof_json: dict
    commitment: int
    context: int
    proof: object
    attestation_json: dict


@pytest.fixture(scope="session")
def material() -> Material:
    backend = get_backend("arkworks")
    circuit = circuit_from_id(CIRCUIT)
    pk = setup(circuit.compile(), random.Random(4), backend)
    snapshot = sample_snapshot()
    proof, public = prove_account(circuit, pk, sample_account("healthy"), snapshot, 1234, 99, backend)
    return Material(vk_to_json(pk.vk, backend, alphabeta=[]), snapshot_to_json(snapshot), proof_to_json(proof, backend),
                    public.commitment, 99, proof, attestation_json(snapshot_to_json(snapshot), public.commitment))


def attestation_json(snapshot_json: dict, commitment: int, key: VenueSigningKey = VENUE_KEY,
                     account_id: str = "trader-1") -> dict:
    """The venue's attestation document of commitment for this snapshot."""
    return attestation_to_json(attest(key, parse_snapshot(snapshot_json), account_id, commitment))


def signed_snapshot(snapshot_json: dict, key: VenueSigningKey = VENUE_KEY) -> dict:
    """The POST /v1/snapshots body: the snapshot and key's signature over it (a placeholder signature when the
    snapshot does not parse, for tests of what the schema refuses)."""
    try:
        signature = snapshot_signature_to_json(sign_snapshot(key, parse_snapshot(snapshot_json)))
    except ZkMarginError:
        signature = {"format": "zkmargin-snapshot-signature/1", "scheme": "ed25519", "venue": "v", "snapshot_id": "s",
                     "snapshot_digest": "00" * 32, "signature": "00" * 64}
    return {"snapshot": snapshot_json, "signature": signature}


def _post(client: TestClient | str) -> Callable[..., httpx.Response]:
    """client.post for a test client, httpx.post under the base URL of a real server."""
    if isinstance(client, str):
        import httpx

        return lambda path, **kwargs: httpx.post(f"{client}{path}", **kwargs)
    return client.post


def register_venue(client: TestClient | str, venue: str, key: VenueSigningKey = VENUE_KEY) -> None:
    """Register key as venue's (admin); a venue already registered with it is fine."""
    response = _post(client)("/v1/venues", json=public_key_to_json(key.public_key(venue)), headers=admin_headers())
    assert response.status_code == 201 or response.json()["error"]["code"] == "already_registered", response.text


def publish(client: TestClient | str, snapshot_json: dict, headers: dict | None,
            key: VenueSigningKey = VENUE_KEY) -> httpx.Response:
    """Register the snapshot's venue key if needed, then POST the signed snapshot (the response); client is a test
    client or a real server's base URL."""
    register_venue(client, snapshot_json["venue"], key)
    return _post(client)("/v1/snapshots", json=signed_snapshot(snapshot_json, key), headers=headers)


def make_client(tmp_path, **overrides) -> TestClient:
    overrides.setdefault("database_url", f"sqlite:///{tmp_path}/service.db")
    overrides.setdefault("admin_key", ADMIN)
    return TestClient(create_app(Settings(**overrides)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster on loopback (or $ZKMARGIN_TEST_POSTGRES_URL), shared by the session."""
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
        # max_connections: one worker's session shares this cluster across every PostgreSQL test file it runs,
        # and the apps of finished tests may keep their pools until collected; 100 ran out under -n 2.
        subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-o",
                                     f"-p {port} -k {root} -h 127.0.0.1 -c max_connections=400",
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


def fresh_postgres_database(server: Server) -> str:
    """The URL of a new empty database on server (the server's own URL where databases cannot be created)."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    try:
        with psycopg.connect(server.url, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
    except psycopg.Error:
        return server.url
    return server.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """Each test using it runs on SQLite and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/service.db"
    return fresh_postgres_database(request.getfixturevalue("postgres"))


@pytest.fixture
def any_client(tmp_path, database_url) -> TestClient:
    """A fresh app on SQLite, then on PostgreSQL."""
    return make_client(tmp_path, database_url=database_url)


@pytest.fixture
def client(tmp_path) -> TestClient:
    return make_client(tmp_path)


def admin_headers() -> dict:
    return {"Authorization": f"Bearer {ADMIN}"}


def new_key(client: TestClient, role: str) -> dict:
    response = client.post("/v1/keys", json={"role": role, "name": f"{role}-1"}, headers=admin_headers())
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def ready(client, material):
    """A client with the circuit registered, the venue's key registered and the snapshot published (signed);
    returns (client, venue headers)."""
    venue = new_key(client, "venue")
    assert client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                       headers=admin_headers()).status_code == 201
    assert publish(client, material.snapshot_json, venue).status_code == 201
    return client, venue


def verify_body(material: Material, **changes) -> dict:
    """A /v1/verify body for the material's proof, attested by the venue; a change to None drops the field."""
    body = {"circuit_id": CIRCUIT, "snapshot_id": material.snapshot_json["snapshot_id"],
            "commitment": str(material.commitment), "context": str(material.context), "proof": material.proof_json,
            "attestation": material.attestation_json}
    if changes.get("commitment") is not None and "attestation" not in changes:
        # Another commitment comes with the venue's attestation of it, so the proof itself decides the verdict.
        try:
            changes["attestation"] = attestation_json(material.snapshot_json, int(changes["commitment"], 0))
        except (ValueError, ZkMarginError):
            pass  # not a number the venue could sign: the request is refused before attestations are read
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.fixture
def batch_sizes(monkeypatch) -> list[int]:
    """The item counts of the weighted batch checks the service's coalesced verification runs (through the one
    verdict path, SnapshotVerifier.verify_batch), in order."""
    from zkmargin.circuits import verification

    sizes: list[int] = []
    original = verification.verify_batch

    def counted(vk: VerifyingKey, items: Sequence[BatchItem], *args: Any, **kwargs: Any) -> BatchResult:
        sizes.append(len(items))
        return original(vk, items, *args, **kwargs)

    monkeypatch.setattr(verification, "verify_batch", counted)
    return sizes
