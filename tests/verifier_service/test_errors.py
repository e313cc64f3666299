"""The error table: every exception the service maps answers with its status, code and JSON envelope."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from zkmargin.errors import AttestationError, EncodingError, MalformedAttestationError, ZkMarginError
from zkmargin.verifier_service.errors import (
    ERROR_TABLE,
    AmbiguousSnapshot,
    ApiError,
    SnapshotDoesNotFit,
    UnknownCircuit,
    UnknownRoot,
    UnknownSnapshot,
    install_error_handlers,
)
from zkmargin.verifier_service.storage import StorageConflict, StorageRefused, StorageUnavailable

# exception raised by a route -> (status, code, message, extra headers) the client gets.
CASES = [
    (UnknownCircuit("c1"), 404, "unknown_circuit", "circuit 'c1' is not registered", {}),
    (UnknownSnapshot("s1", "v"), 404, "unknown_snapshot", "snapshot 's1' is not published by venue 'v'", {}),
    (AmbiguousSnapshot("s1", ["a", "b"]), 409, "ambiguous_snapshot", None, {}),
    (UnknownRoot("r1"), 404, "unknown_root", "root 'r1' is not registered", {}),
    (SnapshotDoesNotFit("capacity 4 < 8"), 422, "snapshot_does_not_fit", "capacity 4 < 8", {}),
    (StorageRefused("NUL in text"), 422, "invalid_input", "the database cannot store this value: NUL in text", {}),
    (StorageConflict("UNIQUE failed: keys.id"), 409, "conflict",
     "another request stored the same id first; fetch it instead", {}),
    (StorageUnavailable("database is locked"), 503, "database_unavailable",
     "the database is unavailable; retry shortly", {"retry-after": "1"}),
    (AttestationError("not signed by venue v"), 422, "attestation_refused", "not signed by venue v", {}),
    # A subclass of both AttestationError and EncodingError: a malformed document is bad input, not a refusal.
    (MalformedAttestationError("signature: 63 bytes"), 422, "invalid_input", "signature: 63 bytes", {}),
    (EncodingError("proof: not JSON"), 422, "invalid_input", "proof: not JSON", {}),
    (ZkMarginError("bad"), 422, "invalid_input", "bad", {}),
    (ApiError(401, "unauthorized", "no key", {"WWW-Authenticate": "Bearer"}), 401, "unauthorized", "no key",
     {"www-authenticate": "Bearer"}),
]


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/raise/{index}")
    def raise_case(index: int) -> None:
        raise CASES[index][0]

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[type(case[0]).__name__ for case in CASES])
def test_each_mapped_exception_answers_its_status_code_and_message(client, index):
    exc, status, code, message, headers = CASES[index]
    response = client.get(f"/raise/{index}")
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert body["error"]["message"] == (str(exc) if message is None else message)
    assert {name: response.headers.get(name) for name in headers} == headers


def test_every_table_row_is_covered_by_a_case():
    """A row added to ERROR_TABLE without a case here would answer untested."""
    assert set(ERROR_TABLE) <= {type(case[0]) for case in CASES}


def test_an_unavailable_database_is_logged_and_a_refusal_is_not(client, caplog):
    with caplog.at_level(logging.WARNING, logger="zkmargin.verifier_service"):
        client.get(f"/raise/{[type(c[0]) for c in CASES].index(StorageUnavailable)}")
        client.get(f"/raise/{[type(c[0]) for c in CASES].index(AttestationError)}")
    assert [record.getMessage() for record in caplog.records] == ["database is locked"]

