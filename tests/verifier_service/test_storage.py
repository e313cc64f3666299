"""Storage failures leave as typed service errors: 503 for an unavailable database, 409 for a race."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from zkmargin.verifier_service.repository import Repository
from zkmargin.verifier_service.storage import Storage, StorageConflict, StorageUnavailable


def test_schema_is_created_on_first_start_in_wal_mode(tmp_path):
    path = tmp_path / "nested" / "dir" / "service.db"
    storage = Repository(Storage(f"sqlite:///{path}")).storage
    assert path.exists()
    assert storage.fetch_one("PRAGMA journal_mode") == ("wal",)
    # synchronous=FULL (2) is what makes a committed receipt survive kill -9 and power loss.
    assert storage.fetch_one("PRAGMA synchronous") == (2,)
    Repository(Storage(f"sqlite:///{path}"))  # a second start finds the schema and keeps it


@pytest.mark.parametrize("url", ["mysql://x", "sqlite://relative.db", "", "postgresql:/x"])
def test_unsupported_urls_are_refused(url):
    with pytest.raises(ValueError, match="unsupported database url"):
        Storage(url)


def test_duplicate_insert_is_a_conflict_and_rolls_back(tmp_path):
    storage = Repository(Storage(f"sqlite:///{tmp_path}/s.db")).storage
    insert = "INSERT INTO api_keys (key_id, key_hash, role, name, created_at) VALUES (?, ?, ?, ?, ?)"
    storage.execute(insert, ("k1", "h", "venue", "n", "t"))
    with pytest.raises(StorageConflict):
        with storage.transaction() as cursor:
            cursor.execute(insert, ("k2", "h", "venue", "n", "t"))
            cursor.execute(insert, ("k1", "h", "venue", "n", "t"))
    # The whole transaction rolled back, and the connection is still usable.
    assert storage.fetch_all("SELECT key_id FROM api_keys") == [("k1",)]


def test_unreachable_database_is_503_and_recovers(tmp_path, monkeypatch):
    from tests.verifier_service.conftest import make_client

    client = make_client(tmp_path)
    storage = client.app.state.service.storage
    assert client.get("/readyz").json() == {"status": "ready"}

    def refuse():
        raise sqlite3.OperationalError("unable to open database file")

    connect = storage._connect
    monkeypatch.setattr(storage, "_connect", refuse)
    monkeypatch.setattr(storage, "_local", threading.local())  # every thread must reconnect
    response = client.get("/v1/receipts/abc")
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "database_unavailable"
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200  # liveness does not depend on the database
    monkeypatch.setattr(storage, "_connect", connect)
    assert client.get("/v1/receipts/abc").status_code == 404
    assert client.get("/readyz").status_code == 200


def test_operational_error_mid_query_drops_the_connection(tmp_path):
    storage = Storage(f"sqlite:///{tmp_path}/s.db")
    with pytest.raises(StorageUnavailable):
        storage.fetch_one("SELECT * FROM no_such_table")  # OperationalError in sqlite3
    # A fresh connection is opened on next use.
    assert storage.fetch_one("SELECT 1") == (1,)
