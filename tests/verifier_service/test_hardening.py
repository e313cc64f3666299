"""Errors and limits on SQLite and PostgreSQL alike: NUL characters, canonical numbers, duplicate keys,
strict timestamps, budgets per proof, Retry-After, wrong-key guessing, revocation, the schema's promises."""

from __future__ import annotations

import copy
import logging
import re

import pytest
from fastapi.testclient import TestClient

from tests.verifier_service.conftest import (
    ADMIN,
    CIRCUIT,
    admin_headers,
    make_client,
    new_key,
    publish,
    signed_snapshot,
    verify_body,
)
from zkmargin.verifier_service.app import create_app
from zkmargin.verifier_service.settings import Settings


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    return response.json()["error"]


# --- NUL characters -----------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/receipts/%00", "/v1/receipts/a%00b", "/v1/snapshots/%00", "/v1/circuits/%00",
                                  "/v1/circuits/cross-n6-k4%00", "/v1/keys/%00"])
def test_nul_in_a_path_is_a_4xx(any_client, path):
    response = any_client.get(path, headers=admin_headers())
    assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
    assert set(response.json()) == {"error"}


def test_nul_in_any_text_field_is_a_4xx(any_client, material):
    client = any_client
    venue = new_key(client, "venue")
    assert error_of(client.post("/v1/keys", json={"role": "venue", "name": "a\x00b"}, headers=admin_headers()), 422)
    for field, value in (("snapshot_id", "s\x00"), ("venue", "v\x00"), ("timestamp", "2026-11-24T16:00:00Z\x00")):
        snapshot = {**material.snapshot_json, field: value}
        assert error_of(client.post("/v1/snapshots", json=signed_snapshot(snapshot), headers=venue), 422)
    snapshot = copy.deepcopy(material.snapshot_json)
    snapshot["assets"][0]["asset"] = "U\x00SD"
    assert error_of(client.post("/v1/snapshots", json=signed_snapshot(snapshot), headers=venue), 422)
    signature = signed_snapshot(material.snapshot_json)["signature"]
    for field in ("venue", "snapshot_id", "signature"):
        body = {"snapshot": material.snapshot_json, "signature": {**signature, field: signature[field] + "\x00"}}
        assert error_of(client.post("/v1/snapshots", json=body, headers=venue), 422)
    for change in ({"circuit_id": "cross-n6-k4\x00"}, {"snapshot_id": "\x00"}, {"commitment": "1\x00"}):
        assert error_of(client.post("/v1/verify", json=verify_body(material, **change)), 422)
    registration = {"circuit_id": "\x00", "verification_key": material.vk_json}
    assert error_of(client.post("/v1/circuits", json=registration, headers=admin_headers()), 422)
    # Nothing was stored on the way: the service still works.
    assert publish(client, material.snapshot_json, venue).status_code == 201


def test_a_value_the_database_refuses_is_a_typed_error(database_url):
    """The last line behind input validation: PostgreSQL refuses NUL in text; that is StorageRefused, not a 500."""
    from zkmargin.verifier_service.repository import ApiKeyRecord, Repository
    from zkmargin.verifier_service.storage import Storage, StorageRefused

    repository = Repository(Storage(database_url))
    record = ApiKeyRecord("k1", "h", "venue", "a\x00b", "t")
    if database_url.startswith("postgresql"):
        with pytest.raises(StorageRefused):
            repository.insert_api_key(record)
        with pytest.raises(StorageRefused):
            repository.receipt("a\x00b")
        assert repository.ping()  # the connection stays usable
    else:
        repository.insert_api_key(record)  # SQLite stores NUL in text as it is
        assert repository.api_key("k1").name == "a\x00b"


# --- one canonical number -------------------------------------------------------

NON_CANONICAL = [" +1001 ", "+1001", "1001 ", "1_001", "\uff11\uff10\uff10\uff11", "\u0661\u0660\u0660\u0661", "-0",
                 "01", "0x03e9", "0X3e9", "0x3E9", "", "1e3", "1001\n"]


@pytest.mark.parametrize("text", NON_CANONICAL)
def test_non_canonical_commitment_and_context_are_refused(any_client, material, text):
    for field in ("commitment", "context"):
        error = error_of(any_client.post("/v1/verify", json=verify_body(material, **{field: text})), 422)
        assert error["code"] == "invalid_request" and field in error["message"]


def test_canonical_decimal_and_hex_are_the_same_number(ready, material):
    client, _ = ready
    decimal = client.post("/v1/verify", json=verify_body(material)).json()
    hexadecimal = client.post("/v1/verify", json=verify_body(material, commitment=hex(material.commitment))).json()
    assert decimal["valid"] is hexadecimal["valid"] is True
    assert decimal["commitment"] == hexadecimal["commitment"] == str(material.commitment)  # receipts store decimal


def test_non_canonical_numbers_in_a_batch_are_malformed_items(ready, material):
    client, _ = ready
    good = {"commitment": str(material.commitment), "context": str(material.context), "proof": material.proof_json,
            "attestation": material.attestation_json}
    items = [good, {**good, "context": f" +{material.context}"}, {**good, "commitment": f"0{material.commitment}"}]
    body = {"circuit_id": CIRCUIT, "snapshot_id": material.snapshot_json["snapshot_id"], "items": items}
    result = client.post("/v1/verify/batch", json=body).json()
    assert (result["valid"], result["malformed"]) == (1, 2)
    assert "canonical" in result["results"][1]["error"] and "canonical" in result["results"][2]["error"]


# --- duplicate keys, timestamps -------------------------------------------------

@pytest.mark.parametrize("raw", [
    b'{"circuit_id": "cross-n6-k4", "circuit_id": "cross-n7-k4", "snapshot_id": "s", "commitment": "1",'
    b' "context": "1", "proof_b64": "AA=="}',
    b'{"circuit_id": "cross-n6-k4", "snapshot_id": "s", "commitment": "1", "context": "1",'
    b' "proof": {"pi_a": ["1", "2", "1"], "pi_a": ["1", "2", "1"], "pi_b": [], "pi_c": []}}',
])
def test_duplicate_json_keys_are_refused(any_client, raw):
    error = error_of(any_client.post("/v1/verify", content=raw, headers={"content-type": "application/json"}), 422)
    assert "duplicate key" in error["message"]


@pytest.mark.parametrize("timestamp", ["", "2026-11-24T16:00:00Z\x00", "2026-11-24", "2026-11-24T16:00:00",
                                       "2026-11-24 16:00:00Z", "2026-13-01T00:00:00Z", "2026-11-24T25:00:00Z",
                                       " 2026-11-24T16:00:00Z", "2026-11-24T16:00:00.1234Z", "\uff12026-11-24T16:00:00Z"])
def test_snapshot_timestamps_are_strict(any_client, material, timestamp):
    venue = new_key(any_client, "venue")
    response = any_client.post("/v1/snapshots", json=signed_snapshot({**material.snapshot_json, "timestamp": timestamp}),
                               headers=venue)
    assert error_of(response, 422)["code"] == "invalid_request"


@pytest.mark.parametrize("timestamp", ["2026-11-24T16:00:00Z", "2026-11-24T16:00:00.250+01:00",
                                       "2026-11-24T16:00:00.123456-05:30"])
def test_rfc3339_timestamps_are_accepted(client, material, timestamp):
    venue = new_key(client, "venue")
    response = publish(client, {**material.snapshot_json, "timestamp": timestamp}, venue)
    assert response.status_code == 201, response.text


# --- budgets --------------------------------------------------------------------

def test_the_budget_counts_proofs_not_requests(tmp_path, database_url):
    client = make_client(tmp_path, database_url=database_url, rate_limit_per_minute=10)
    verifier = new_key(client, "verifier")
    item = {"commitment": "1", "context": "1", "proof_b64": "AA=="}
    body = {"circuit_id": CIRCUIT, "snapshot_id": "none", "items": [item] * 8}
    assert client.post("/v1/verify/batch", json=body, headers=verifier).status_code == 404  # 8 of 10 spent
    response = client.post("/v1/verify/batch", json={**body, "items": [item] * 3}, headers=verifier)
    assert error_of(response, 429)["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert client.post("/v1/verify/batch", json={**body, "items": [item] * 2}, headers=verifier).status_code == 404
    response = client.post("/v1/verify", json={**item, "circuit_id": CIRCUIT, "snapshot_id": "none"}, headers=verifier)
    assert error_of(response, 429)["code"] == "rate_limited" and response.headers["retry-after"].isdigit()


def test_batch_sizes(tmp_path):
    client = make_client(tmp_path, rate_limit_per_minute=100, max_batch_items=1000)
    item = {"commitment": "1", "context": "1", "proof_b64": "AA=="}
    body = {"circuit_id": CIRCUIT, "snapshot_id": "none", "items": [item] * 17}
    error = error_of(client.post("/v1/verify/batch", json=body), 413)  # anonymous: 16 at most
    assert error["code"] == "batch_too_large" and "API key" in error["message"]
    assert client.post("/v1/verify/batch", json={**body, "items": [item] * 16}).status_code == 404
    verifier = new_key(client, "verifier")
    assert client.post("/v1/verify/batch", json=body, headers=verifier).status_code == 404
    # A batch larger than the per-minute budget could never pass: 413, not an endless 429.
    error = error_of(client.post("/v1/verify/batch", json={**body, "items": [item] * 101}, headers=verifier), 413)
    assert "at most 100" in error["message"]


def test_get_routes_are_limited(any_client):
    client = make_client_like(any_client, rate_limit_per_minute=3)
    statuses = [client.get(path).status_code for path in
                ("/v1/receipts/x", "/v1/snapshots/x", "/v1/circuits", "/v1/circuits/cross-n1-k1")]
    assert statuses == [404, 404, 200, 429]
    # Operations endpoints stay unlimited (load balancers and Prometheus poll them).
    assert all(client.get(path, headers=admin_headers()).status_code == 200
               for path in ("/healthz", "/readyz", "/metrics") * 3)


def make_client_like(client: TestClient, **overrides: object) -> TestClient:
    from fastapi.testclient import TestClient

    settings = client.app.state.service.settings
    return TestClient(create_app(Settings(**{**settings.model_dump(), **overrides})))


def test_wrong_key_guessing_is_limited_per_address(any_client, material):
    client = make_client_like(any_client, auth_failures_per_minute=3)
    venue = new_key(client, "venue")
    for guess in range(3):
        error = error_of(client.post("/v1/snapshots", json=signed_snapshot(material.snapshot_json),
                                     headers={"Authorization": f"Bearer zkm_{guess:016x}_guess"}), 401)
        assert error["code"] == "unauthorized"
    # Past the budget a wrong key gets 429, whether it is well formed or not.
    for headers in ({"Authorization": "Bearer zkm_0000000000000009_guess"}, {"X-API-Key": "not-a-key"}):
        response = client.post("/v1/snapshots", json=signed_snapshot(material.snapshot_json), headers=headers)
        assert error_of(response, 429)["code"] == "too_many_failures" and response.headers["retry-after"].isdigit()
    # Valid keys are never locked out by someone else's wrong ones from the same address (a NAT).
    assert publish(client, material.snapshot_json, venue).status_code == 201
    assert client.get("/v1/keys", headers={"X-API-Key": ADMIN}).status_code == 200
    assert client.get("/v1/circuits").status_code == 200  # requests without a key are unaffected


def test_a_database_outage_is_not_a_wrong_key(tmp_path, monkeypatch):
    from zkmargin.verifier_service.storage import StorageUnavailable

    client = make_client(tmp_path, auth_failures_per_minute=1)
    repository = client.app.state.service.repository
    looked_up = repository.api_key

    def down(_key_id: str) -> None:
        raise StorageUnavailable("database down")

    monkeypatch.setattr(repository, "api_key", down)
    for _ in range(3):
        response = client.get("/v1/circuits", headers={"Authorization": "Bearer zkm_0000000000000001_guess"})
        assert error_of(response, 503)["code"] == "database_unavailable"
    monkeypatch.setattr(repository, "api_key", looked_up)
    # The outage spent none of the budget of 1: the first wrong key afterwards is a 401, the next a 429.
    assert client.get("/v1/circuits", headers={"Authorization": "Bearer zkm_0000000000000002_guess"}).status_code == 401
    assert client.get("/v1/circuits", headers={"Authorization": "Bearer zkm_0000000000000003_guess"}).status_code == 429


def test_metrics_follow_their_settings(tmp_path):
    default = make_client(tmp_path)
    assert error_of(default.get("/metrics"), 401)["code"] == "unauthorized"
    assert default.get("/metrics", headers=admin_headers()).status_code == 200
    keyed = make_client(tmp_path, metrics_key="scrape-secret")
    assert keyed.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200
    assert keyed.get("/metrics", headers={"Authorization": "Bearer other"}).status_code == 401
    assert keyed.get("/v1/keys", headers={"Authorization": "Bearer scrape-secret"}).status_code == 401  # not an API key
    assert make_client(tmp_path, metrics_public=True).get("/metrics").status_code == 200


# --- keys -----------------------------------------------------------------------

def test_api_keys_can_be_revoked(any_client, material):
    client = any_client
    created = client.post("/v1/keys", json={"role": "venue", "name": "v"}, headers=admin_headers()).json()
    venue = {"Authorization": f"Bearer {created['token']}"}
    other = new_key(client, "venue")
    revoked = client.delete(f"/v1/keys/{created['key_id']}", headers=admin_headers())
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert error_of(client.post("/v1/snapshots", json=signed_snapshot(material.snapshot_json), headers=venue),
                    401)["code"] == "unauthorized"
    assert publish(client, material.snapshot_json, other).status_code == 201
    again = client.delete(f"/v1/keys/{created['key_id']}", headers=admin_headers()).json()
    assert again["revoked_at"] == revoked.json()["revoked_at"]  # revoking twice keeps the first time
    listed = {k["key_id"]: k for k in client.get("/v1/keys", headers=admin_headers()).json()}
    assert listed[created["key_id"]]["revoked_at"] and len(listed) == 2 and "token" not in listed[created["key_id"]]
    assert error_of(client.delete("/v1/keys/0123456789abcdef", headers=admin_headers()), 404)["code"] == "unknown_key"
    assert error_of(client.delete(f"/v1/keys/{created['key_id']}", headers=other), 403)["code"] == "forbidden"


def test_starting_without_an_admin_key_logs_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="zkmargin.verifier_service"):
        create_app(Settings(database_url=f"sqlite:///{tmp_path}/a.db", admin_key=""))
    assert any("ZKMARGIN_ADMIN_KEY is not set" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="zkmargin.verifier_service"):
        create_app(Settings(database_url=f"sqlite:///{tmp_path}/b.db", admin_key="set"))
    assert not any("ZKMARGIN_ADMIN_KEY" in r.getMessage() for r in caplog.records)


# --- documentation ----------------------------------------------------------------

def test_docs_work_offline(client):
    page = client.get("/docs")
    assert page.status_code == 200
    scripts = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert scripts and not any(url.startswith(("http://", "https://", "//")) for url in scripts), scripts
    bundle = next(url for url in scripts if url.endswith("swagger-ui-bundle.js"))
    asset = client.get(bundle)
    assert asset.status_code == 200 and len(asset.content) > 100_000 and b"SwaggerUIBundle" in asset.content


def test_the_schema_says_what_the_server_enforces(client, material):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    key = schemas["VerificationKeyJson"]
    assert {"nPublic", "vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC"} <= set(key["required"])
    timestamp = schemas["SnapshotIn"]["properties"]["timestamp"]
    assert re.fullmatch(timestamp["pattern"], "2026-11-24T16:00:00Z") and not re.fullmatch(timestamp["pattern"], "")
    cap = schemas["TierIn"]["properties"]["notional_cap"]["anyOf"]
    assert not any(re.fullmatch(branch["pattern"], "0") or re.fullmatch(branch["pattern"], "0.0")
                   for branch in cap if "pattern" in branch)
    assert all(branch.get("minimum", 1) >= 1 for branch in cap if branch.get("type") == "integer")
    # ... and the server refuses those values at the schema, with invalid_request.
    refused = [
        ("/v1/circuits", {"circuit_id": CIRCUIT, "verification_key": {}}, admin_headers()),
        ("/v1/snapshots", signed_snapshot({**material.snapshot_json, "timestamp": ""}), None),
    ]
    tiered = copy.deepcopy(material.snapshot_json)
    tiered["instruments"][0]["tiers"] = [{"notional_floor": "0", "notional_cap": "0", "maintenance_rate": "0.01",
                                          "maintenance_amount": "0"}]
    refused.append(("/v1/snapshots", signed_snapshot(tiered), None))
    venue = new_key(client, "venue")
    for path, body, headers in refused:
        assert error_of(client.post(path, json=body, headers=headers or venue), 422)["code"] == "invalid_request"


@pytest.mark.parametrize("requires_key", [False, True])
def test_openapi_security_of_verify_follows_the_setting(tmp_path, material, requires_key):
    """The security of each operation comes from its dependencies: no document patched after the fact."""
    client = make_client(tmp_path, verify_requires_key=requires_key)
    spec = client.get("/openapi.json").json()
    assert set(spec["components"]["securitySchemes"]) == {"bearerKey", "apiKeyHeader"}
    for path in ("/v1/verify", "/v1/verify/batch"):
        security = spec["paths"][path]["post"]["security"]
        assert {"bearerKey": []} in security and {"apiKeyHeader": []} in security
        assert ({} in security) is not requires_key
    anonymous = client.post("/v1/verify", json=verify_body(material))
    assert anonymous.status_code == (401 if requires_key else 404)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/v1/keys") or (path == "/v1/circuits" and method == "post") or path == "/v1/snapshots":
                assert {} not in operation["security"], (method, path)  # admin and venue routes need a key
