"""API v1 through the test client: happy paths, auth, and every class of bad input as a JSON 4xx."""

from __future__ import annotations

import base64
import copy

import pytest

from tests.book.proved import SNAPSHOT as BOOK_SNAPSHOT
from tests.verifier_service.books import book_circuit_registration, book_json, path_json
from tests.verifier_service.conftest import (
    CIRCUIT,
    VENUE_KEY,
    admin_headers,
    make_client,
    new_key,
    publish,
    register_venue,
    signed_snapshot,
    verify_body,
)
from zkmargin.backends import get_backend
from zkmargin.field import R
from zkmargin.groth16.serialization import proof_to_bytes
from zkmargin.margin.models import parse_snapshot, snapshot_to_json
from zkmargin.venue.attestation import sign_root, signed_root_to_json


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_verify_valid_proof_and_fetch_its_receipt(ready, material):
    client, _ = ready
    response = client.post("/v1/verify", json=verify_body(material))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["valid"] is True and len(result["input_digest"]) == 64
    receipt = client.get(f"/v1/receipts/{result['receipt_id']}").json()
    assert receipt["valid"] is True and receipt["input_digest"] == result["input_digest"]
    assert receipt["proof_hex"] == proof_to_bytes(material.proof, get_backend("arkworks")).hex()


def test_binary_proof_is_accepted(ready, material):
    client, _ = ready
    data = base64.b64encode(proof_to_bytes(material.proof, get_backend("arkworks"))).decode()
    response = client.post("/v1/verify", json=verify_body(material, proof=None, proof_b64=data))
    assert response.status_code == 200 and response.json()["valid"] is True


@pytest.mark.parametrize("change", [{"context": "100"}, {"commitment": "5"}])
def test_wrong_context_or_commitment_is_a_negative_verdict(ready, material, change):
    client, _ = ready
    response = client.post("/v1/verify", json=verify_body(material, **change))
    assert response.status_code == 200 and response.json()["valid"] is False


@pytest.mark.parametrize(
    "change,status,code",
    [
        ({"circuit_id": "cross-n9-k9"}, 404, "unknown_circuit"),
        ({"snapshot_id": "nope"}, 404, "unknown_snapshot"),
        ({"commitment": str(R)}, 422, "invalid_input"),
        ({"context": "-1"}, 422, "invalid_request"),  # the schema admits one canonical form only
        ({"context": "abc"}, 422, "invalid_request"),
        ({"proof_b64": "AAAA"}, 422, "invalid_request"),  # both proof and proof_b64
        ({"proof": None}, 422, "invalid_request"),  # neither
        ({"extra": 1}, 422, "invalid_request"),
    ],
)
def test_bad_verify_requests(ready, material, change, status, code):
    client, _ = ready
    assert_error(client.post("/v1/verify", json=verify_body(material, **change)), status, code)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.update(pi_a=["1", "2", "1"]),
        lambda p: p.update(pi_c=["0", "1", "0"]),
        lambda p: p["pi_b"].__setitem__(0, ["1", "1"]),
        lambda p: p.update(curve="bn128"),
    ],
)
def test_malformed_points_are_422(ready, material, mutate):
    client, _ = ready
    proof = copy.deepcopy(material.proof_json)
    mutate(proof)
    assert_error(client.post("/v1/verify", json=verify_body(material, proof=proof)), 422)


def test_garbage_bodies(ready):
    client, _ = ready
    assert_error(client.post("/v1/verify", content=b"{not json", headers={"content-type": "application/json"}), 422)
    assert_error(client.post("/v1/verify", json=[1, 2]), 422)
    assert_error(client.get("/v1/receipts/unknown"), 404, "unknown_receipt")
    assert_error(client.get("/v1/nothing-here"), 404)


def test_body_limit(tmp_path, material):
    client = make_client(tmp_path, max_body_bytes=1000)
    assert_error(client.post("/v1/verify", json=verify_body(material)), 413, "body_too_large")
    streamed = client.post("/v1/verify", content=iter([b"{" + b" " * 600, b" " * 600 + b"}"]),
                           headers={"content-type": "application/json"})
    assert_error(streamed, 413, "body_too_large")


def test_auth_and_roles(client, material):
    assert_error(client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json}), 401)
    venue = new_key(client, "venue")
    assert_error(client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                             headers=venue), 403, "forbidden")
    assert_error(client.post("/v1/snapshots", json=signed_snapshot(material.snapshot_json),
                             headers={"Authorization": "Bearer zkm_0000_wrong"}), 401, "unauthorized")
    verifier = new_key(client, "verifier")
    assert_error(client.post("/v1/snapshots", json=signed_snapshot(material.snapshot_json), headers=verifier), 403)
    assert_error(client.post("/v1/keys", json={"role": "admin", "name": "x"}, headers=admin_headers()), 422)


def test_circuit_registration_checks_the_key(client, material):
    bad = copy.deepcopy(material.vk_json)
    bad["vk_delta_2"] = bad["vk_gamma_2"]
    assert_error(client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": bad},
                             headers=admin_headers()), 422)
    assert_error(client.post("/v1/circuits", json={"circuit_id": "cross-n7-k4", "verification_key": material.vk_json},
                             headers=admin_headers()), 422, "wrong_public_input_count")
    ok = client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                     headers=admin_headers())
    assert ok.status_code == 201
    assert_error(client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                             headers=admin_headers()), 409)
    assert [c["circuit_id"] for c in client.get("/v1/circuits").json()] == [CIRCUIT]
    assert client.get(f"/v1/circuits/{CIRCUIT}").json()["num_public"] == ok.json()["num_public"]


def test_snapshots_are_validated_and_immutable(ready, material):
    client, venue = ready
    assert_error(client.post("/v1/snapshots", json=signed_snapshot(material.snapshot_json), headers=venue), 409)
    bad = copy.deepcopy(material.snapshot_json)
    bad["snapshot_id"] = "other"
    bad["assets"][0]["price"] = "1.123456789"
    error = assert_error(client.post("/v1/snapshots", json=signed_snapshot(bad), headers=venue), 422)
    assert "assets[0].price" in error["message"]
    assert client.get(f"/v1/snapshots/{material.snapshot_json['snapshot_id']}").json()["venue"] == "example-exchange"


def test_verify_can_require_a_key(tmp_path, material):
    client = make_client(tmp_path, verify_requires_key=True)
    assert_error(client.post("/v1/verify", json=verify_body(material)), 401)


def test_rate_limit_per_key(tmp_path, material):
    client = make_client(tmp_path, rate_limit_per_minute=3)
    statuses = [client.post("/v1/verify", json=verify_body(material)).status_code for _ in range(5)]
    assert statuses[:3] == [404, 404, 404] and statuses[3:] == [429, 429]


def test_batch_endpoint(ready, material):
    client, _ = ready
    good = {"id": "a", "commitment": str(material.commitment), "context": str(material.context), "proof": material.proof_json,
            "attestation": material.attestation_json}
    items = [good, dict(good, id="b", context="1"), {"id": "c", "commitment": "1", "context": "1", "proof_b64": "!!"}]
    body = {"circuit_id": CIRCUIT, "snapshot_id": material.snapshot_json["snapshot_id"], "items": items}
    result = client.post("/v1/verify/batch", json=body).json()
    assert (result["valid"], result["invalid"], result["malformed"]) == (1, 1, 1)
    assert [r["valid"] for r in result["results"]] == [True, False, False]
    assert client.get(f"/v1/receipts/{result['results'][1]['receipt_id']}").json()["valid"] is False


def test_batch_limit(tmp_path, material):
    client = make_client(tmp_path, max_batch_items=2)
    item = {"commitment": "1", "context": "1", "proof_b64": "AAAA"}
    body = {"circuit_id": CIRCUIT, "snapshot_id": "x", "items": [item] * 3}
    assert_error(client.post("/v1/verify/batch", json=body), 413, "batch_too_large")


def test_health_and_metrics(ready, material):
    client, _ = ready
    client.post("/v1/verify", json=verify_body(material))
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    text = client.get("/metrics", headers=admin_headers()).text
    assert 'zkmargin_verifications_total{result="valid"} 1' in text
    assert 'route="/v1/verify",status="200"' in text and "zkmargin_http_request_duration_seconds_bucket" in text


def test_metrics_series_are_bounded_whatever_the_client_sends(client):
    for i in range(5):
        client.request(f"METHOD{i}", "/v1/verify")
        client.get(f"/v1/unknown/{i}")
    text = client.get("/metrics", headers=admin_headers()).text
    assert 'zkmargin_http_requests_total{method="OTHER",route="/v1/verify",status="405"} 5' in text
    assert 'zkmargin_http_requests_total{method="GET",route="unmatched",status="404"} 5' in text
    assert "METHOD" not in text and "/v1/unknown" not in text


def test_verification_runs_on_the_worker_pool_not_the_event_loop(ready, material, monkeypatch):
    """CPU-bound work must not block the event loop (and with it /healthz)."""
    import threading

    from zkmargin.verifier_service import verification

    seen = []
    original = verification.verify_many_and_record

    def spy(state, bodies):
        seen.append(threading.current_thread().name)
        return original(state, bodies)

    monkeypatch.setattr(verification, "verify_many_and_record", spy)
    client, _ = ready
    assert client.post("/v1/verify", json=verify_body(material)).status_code == 200
    assert seen and seen[0].startswith("verify")


def test_receipt_digest_recomputes_from_the_receipt_alone(ready, material):
    """A holder of a receipt can check its digest without the service's code."""
    import hashlib
    import json

    client, _ = ready
    result = client.post("/v1/verify", json=verify_body(material)).json()
    receipt = client.get(f"/v1/receipts/{result['receipt_id']}").json()
    snapshot = client.get(f"/v1/snapshots/{receipt['snapshot_id']}").json()
    assert receipt["snapshot_digest"] == snapshot["digest"] == result["snapshot_digest"]
    fields = {k: receipt[k] for k in ("circuit_id", "snapshot_id", "snapshot_digest", "commitment", "context", "valid")}
    canonical = json.dumps({**fields, "proof": receipt["proof_hex"]}, sort_keys=True, separators=(",", ":"))
    assert hashlib.sha256(canonical.encode()).hexdigest() == receipt["input_digest"]
    # The verdict is part of what is digested: flipping it breaks the digest.
    flipped = json.dumps({**fields, "valid": not fields["valid"], "proof": receipt["proof_hex"]}, sort_keys=True,
                         separators=(",", ":"))
    assert hashlib.sha256(flipped.encode()).hexdigest() != receipt["input_digest"]


@pytest.mark.parametrize(
    "method,path,allowed",
    [
        ("PUT", "/v1/circuits", "GET, HEAD, POST"),
        ("DELETE", "/v1/verify", "POST"),
        ("POST", "/v1/receipts/abc", "GET, HEAD"),
        ("POST", "/healthz", "GET, HEAD"),
    ],
)
def test_wrong_method_names_every_allowed_method(client, method, path, allowed):
    response = client.request(method, path)
    error = assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allowed and allowed in error["message"]


@pytest.mark.parametrize("body", [b"\xff\xfe", b"\xff", b"\xc3(", b"[" * 100_000 + b"]" * 100_000, b"", b"nul\x00l"])
def test_undecodable_body_is_422(tmp_path, body):
    client = make_client(tmp_path, max_body_bytes=1_000_000)
    response = client.post("/v1/verify", content=body, headers={"content-type": "application/json"})
    assert_error(response, 422, "invalid_request")


def test_every_documented_error_is_an_error_envelope(client):
    """The OpenAPI document promises the same error body the handlers send."""
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path, status)
            assert "413" in operation["responses"], (method, path)


@pytest.mark.parametrize("verify_requires_key", [False, True])
def test_documented_security_matches_what_each_operation_enforces(tmp_path, material, verify_requires_key):
    """A valid body without a key is a 401 exactly where the spec lists no empty security requirement."""
    client = make_client(tmp_path, verify_requires_key=verify_requires_key)
    spec = client.get("/openapi.json").json()
    assert set(spec["components"]["securitySchemes"]) == {"bearerKey", "apiKeyHeader"}
    venue = new_key(client, "venue")
    register_venue(client, material.snapshot_json["venue"])
    root = sign_root(VENUE_KEY, parse_snapshot(material.snapshot_json), 4, 1, material.commitment)
    valid_bodies = {
        "/v1/keys": {"role": "verifier", "name": "v"},
        "/v1/circuits": {"circuit_id": CIRCUIT, "verification_key": material.vk_json},
        "/v1/snapshots": signed_snapshot(material.snapshot_json),
        "/v1/roots": {"snapshot_id": material.snapshot_json["snapshot_id"], "signed_root": signed_root_to_json(root)},
        "/v1/venues": {"format": "zkmargin-venue-public-key/1", "scheme": "ed25519", "venue": "another-venue",
                       "public_key": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"},
        "/v1/verify": verify_body(material),
        "/v1/verify/batch": {"circuit_id": CIRCUIT, "snapshot_id": material.snapshot_json["snapshot_id"],
                             "items": [{"commitment": str(material.commitment), "context": str(material.context),
                                        "proof": material.proof_json, "attestation": material.attestation_json}]},
        # A book is published before its paths are checked (dict order).
        "/v1/books": {"book": book_json()},
        "/v1/books/{venue}/{snapshot_id}/check": path_json(0),
    }
    urls = {"/v1/books/{venue}/{snapshot_id}/check": f"/v1/books/{BOOK_SNAPSHOT.venue}/{BOOK_SNAPSHOT.snapshot_id}/check"}
    assert client.post("/v1/circuits", json=book_circuit_registration(), headers=admin_headers()).status_code == 201
    assert publish(client, snapshot_to_json(BOOK_SNAPSHOT), venue).status_code == 201
    posts = {path for path, operations in spec["paths"].items() if "post" in operations}
    assert posts == set(valid_bodies)
    for path, body in valid_bodies.items():
        security = spec["paths"][path]["post"].get("security", [])
        key_optional = not security or {} in security
        path = urls.get(path, path)
        anonymous = client.post(path, json=body)
        assert (anonymous.status_code == 401) == (not key_optional), (path, anonymous.status_code, anonymous.text)
        headers = admin_headers() if path in ("/v1/keys", "/v1/circuits", "/v1/venues") else venue
        assert client.post(path, json=body, headers=headers).status_code in (200, 201), path


def test_metrics_name_the_openapi_and_docs_routes(client):
    assert client.get("/openapi.json").status_code == 200
    text = client.get("/metrics", headers=admin_headers()).text
    assert 'zkmargin_http_requests_total{method="GET",route="/openapi.json",status="200"} 1' in text
    assert 'route="unmatched"' not in text
