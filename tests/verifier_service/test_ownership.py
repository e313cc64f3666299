"""Whose snapshot and whose showing (#22 items 3 and 4, #23 item 7), through the HTTP API on SQLite and PostgreSQL.

Snapshot ids live in each venue's own namespace: a venue publishing under another venue's id first neither
blocks that venue nor lends its prices to the id. Showings and repeats are counted per verifier (API key): a
proof submitted first by someone else never reads as a repeat to its rightful verifier. Each test is an attack;
it passes when the attack fails.
"""

from __future__ import annotations

import base64
import copy
import random
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.verifier_service import membership
from tests.verifier_service.conftest import (
    CIRCUIT,
    admin_headers,
    attestation_json,
    new_key,
    publish,
    register_venue,
    signed_snapshot,
    verify_body,
)
from tests.verifier_service.membership import CONTEXT, MEMBER, SCOPE, body
from zkmargin.backends import get_backend
from zkmargin.circuits.proving import prove_account
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.groth16 import setup
from zkmargin.groth16.serialization import proof_to_bytes, proof_to_json
from zkmargin.margin.engine import compute_margin
from zkmargin.margin.models import parse_snapshot
from zkmargin.margin.samples import sample_account
from zkmargin.venue.attestation import VenueSigningKey, sign_root, signed_root_to_json

anonymous, served = membership.anonymous, membership.served
"""Anonymous-mode fixtures, by name (test modules may not import each other; the helper module has them)."""

SQUATTER_KEY = VenueSigningKey.generate()
"""Venue "squatter": a real, registered venue publishing its own signed snapshots under other venues' ids."""


@dataclass
class Squat:
    snapshot_json: dict
    """The squatter's own snapshot under the sample venue's snapshot id, BTC-PERP marked at 66500."""
    proof_json: dict
    commitment: int
    attestation_json: dict
    """The squatter's attestation of the account's commitment for its snapshot."""


@pytest.fixture(scope="module")
def squat(material) -> Squat:
    """The sample margin-call account, proved healthy at the squatter's prices (the material's circuit key)."""
    backend = get_backend("arkworks")
    circuit = circuit_from_id(CIRCUIT)
    pk = setup(circuit.compile(), random.Random(4), backend)  # the material's key: the same seed
    snapshot_json = copy.deepcopy(material.snapshot_json)
    snapshot_json["venue"] = "squatter"
    for instrument in snapshot_json["instruments"]:
        if instrument["instrument"] == "BTC-PERP":
            instrument["mark_price"] = "66500"
    account = sample_account("margin_call")
    assert not compute_margin(account, parse_snapshot(material.snapshot_json)).healthy
    assert compute_margin(account, parse_snapshot(snapshot_json)).healthy
    proof, public = prove_account(circuit, pk, account, parse_snapshot(snapshot_json), 77, material.context, backend)
    return Squat(snapshot_json, proof_to_json(proof, backend), public.commitment,
                 attestation_json(snapshot_json, public.commitment, SQUATTER_KEY, "trader-margin-call"))


@pytest.fixture
def squatted(any_client, material, squat):
    """The circuit and both venues registered, the squatter's snapshot published first under the sample venue's
    id: (client, a venue API key)."""
    client = any_client
    assert client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                       headers=admin_headers()).status_code == 201
    register_venue(client, material.snapshot_json["venue"])
    register_venue(client, "squatter", SQUATTER_KEY)
    api_key = new_key(client, "venue")
    first = client.post("/v1/snapshots", json=signed_snapshot(squat.snapshot_json, SQUATTER_KEY), headers=api_key)
    assert first.status_code == 201, first.text
    assert first.json()["venue"] == "squatter"
    return client, api_key


def error_of(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text
    return response.json()["error"]["message"]


def test_a_venue_publishing_first_under_another_venues_snapshot_id_blocks_nothing(squatted, material, squat):
    client, api_key = squatted
    snapshot_id, venue = material.snapshot_json["snapshot_id"], material.snapshot_json["venue"]
    published = client.post("/v1/snapshots", json=signed_snapshot(material.snapshot_json), headers=api_key)
    assert published.status_code == 201, published.text
    assert published.json()["venue"] == venue
    # The same id, once per venue: each read under its venue; the id alone is refused, never guessed.
    own = client.get(f"/v1/venues/{venue}/snapshots/{snapshot_id}").json()
    theirs = client.get(f"/v1/venues/squatter/snapshots/{snapshot_id}").json()
    assert own["document"] == material.snapshot_json and own["venue"] == venue
    assert theirs["document"] == squat.snapshot_json and theirs["digest"] != own["digest"]
    assert "squatter" in error_of(client.get(f"/v1/snapshots/{snapshot_id}"), 409, "ambiguous_snapshot")
    error_of(client.get("/v1/venues/nobody/snapshots/" + snapshot_id), 404, "unknown_snapshot")
    # Publishing again is still refused within a venue's own namespace.
    error_of(client.post("/v1/snapshots", json=signed_snapshot(material.snapshot_json), headers=api_key), 409,
             "already_published")
    # The rightful venue's honest attested proof verifies against its own snapshot.
    honest = client.post("/v1/verify", json=verify_body(material, venue=venue))
    assert honest.status_code == 200, honest.text
    assert honest.json()["valid"] is True and honest.json()["venue"] == venue
    assert honest.json()["snapshot_digest"] == own["digest"]
    receipt = client.get(f"/v1/receipts/{honest.json()['receipt_id']}").json()
    assert (receipt["venue"], receipt["snapshot_id"], receipt["snapshot_digest"]) == (venue, snapshot_id, own["digest"])
    # Without a venue, the id names two snapshots: a clear refusal, on both verification routes.
    error_of(client.post("/v1/verify", json=verify_body(material)), 409, "ambiguous_snapshot")
    item = {k: v for k, v in verify_body(material).items() if k not in ("circuit_id", "snapshot_id")}
    batch = {"circuit_id": CIRCUIT, "snapshot_id": snapshot_id, "items": [item]}
    error_of(client.post("/v1/verify/batch", json=batch), 409, "ambiguous_snapshot")
    report = client.post("/v1/verify/batch", json={**batch, "venue": venue})
    assert report.status_code == 200, report.text
    assert (report.json()["venue"], report.json()["snapshot_id"], report.json()["valid"]) == (venue, snapshot_id, 1)


def test_an_account_healthy_only_at_the_squatters_prices_gets_no_receipt_naming_the_rightful_venue(
        squatted, material, squat):
    client, api_key = squatted
    venue = material.snapshot_json["venue"]
    # Before the rightful venue publishes, the id alone names the squatter's snapshot, and the receipt says so.
    alone = client.post("/v1/verify", json=verify_body(material, commitment=str(squat.commitment),
                                                       attestation=squat.attestation_json, proof=squat.proof_json))
    assert alone.status_code == 200, alone.text
    assert alone.json()["valid"] is True and alone.json()["venue"] == "squatter"
    published = client.post("/v1/snapshots", json=signed_snapshot(material.snapshot_json), headers=api_key)
    assert published.status_code == 201, published.text
    # Named as the rightful venue's: the squatter's attestation is not for its snapshot...
    as_rightful = verify_body(material, venue=venue, commitment=str(squat.commitment),
                              attestation=squat.attestation_json, proof=squat.proof_json)
    error_of(client.post("/v1/verify", json=as_rightful), 422, "attestation_refused")
    # ...and even with the rightful venue's own attestation of the account, its prices margin-call it.
    attested = {**as_rightful, "attestation": attestation_json(material.snapshot_json, squat.commitment,
                                                               account_id="trader-margin-call")}
    verdict = client.post("/v1/verify", json=attested)
    assert verdict.status_code == 200, verdict.text
    assert verdict.json()["valid"] is False and verdict.json()["venue"] == venue
    # Under the squatter's own name the proof is what it is: valid at the squatter's prices, and the receipt says whose.
    theirs = client.post("/v1/verify", json={**as_rightful, "venue": "squatter"})
    assert theirs.status_code == 200 and theirs.json()["valid"] is True, theirs.text
    assert client.get(f"/v1/receipts/{theirs.json()['receipt_id']}").json()["venue"] == "squatter"


def test_a_root_names_its_venues_snapshot(squatted, material):
    """A signed root is registered for the snapshot of the venue that signed it, never the squatter's."""
    client, api_key = squatted
    snapshot_id, venue = material.snapshot_json["snapshot_id"], material.snapshot_json["venue"]
    published = client.post("/v1/snapshots", json=signed_snapshot(material.snapshot_json), headers=api_key)
    assert published.status_code == 201, published.text
    from tests.verifier_service.conftest import VENUE_KEY

    document = signed_root_to_json(sign_root(VENUE_KEY, parse_snapshot(material.snapshot_json), 4, 3, 12345))
    error_of(client.post("/v1/roots", json={"snapshot_id": snapshot_id, "signed_root": document}, headers=api_key),
             409, "ambiguous_snapshot")
    error_of(client.post("/v1/roots", json={"snapshot_id": snapshot_id, "venue": "squatter", "signed_root": document},
                         headers=api_key), 422, "root_refused")
    registered = client.post("/v1/roots", json={"snapshot_id": snapshot_id, "venue": venue, "signed_root": document},
                             headers=api_key)
    assert registered.status_code == 201, registered.text
    assert registered.json()["venue"] == venue and registered.json()["snapshot_id"] == snapshot_id


# ----- whose first showing (#22 item 3) and named repeats (#23 item 7) ----------------------------------------
def keyless(client: TestClient) -> TestClient:
    """The client without the verifier key membership.served gives it by default."""
    client.headers.pop("authorization", None)
    return client


def test_a_nullifier_shown_first_by_another_verifier_is_no_repeat_for_the_rightful_one(served, anonymous):
    """Whoever holds the rightful verifier's proof submits it first, on both verification routes: the rightful
    verifier still reads its own first showing as one."""
    client, root_id = served
    client = keyless(client)
    thief, rightful = new_key(client, "verifier"), new_key(client, "verifier")
    stolen = client.post("/v1/verify", json=body(anonymous, root_id), headers=thief).json()
    assert stolen["valid"] is True and stolen["nullifier_seen_before"] is False
    assert client.post("/v1/verify", json=body(anonymous, root_id), headers=thief).json()["nullifier_seen_before"]
    first = client.post("/v1/verify", json=body(anonymous, root_id), headers=rightful).json()
    assert first["valid"] is True and first["nullifier_seen_before"] is False, first
    assert first["seen_before"] is False
    again = client.post("/v1/verify", json=body(anonymous, root_id), headers=rightful).json()
    assert (again["nullifier_seen_before"], again["seen_before"]) == (True, True)
    receipt = client.get(f"/v1/receipts/{first['receipt_id']}").json()
    assert receipt["nullifier_seen_before"] is False and "verifier" not in receipt  # whose key stays private
    # Without a key there is nobody's history to read or add to.
    alone = client.post("/v1/verify", json=body(anonymous, root_id)).json()
    assert alone["valid"] is True and (alone["nullifier_seen_before"], alone["seen_before"]) == (None, None)
    # The batch route: the thief's batch in another scope first, then the rightful verifier's.
    item = {"scope": str(SCOPE + 1), "nullifier": str(anonymous.other_scope_nullifier), "context": str(CONTEXT),
            "proof": anonymous.other_scope_proof_json}
    batch = {"circuit_id": MEMBER, "root_id": root_id, "items": [item]}
    for headers, seen in ((thief, False), (rightful, False), (rightful, True)):
        response = client.post("/v1/verify/batch", json=batch, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["results"][0]["nullifier_seen_before"] is seen, response.json()


@pytest.fixture
def published(any_client, material):
    """The circuit registered and the sample snapshot published: the client."""
    client = any_client
    assert client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                       headers=admin_headers()).status_code == 201
    assert publish(client, material.snapshot_json, new_key(client, "venue")).status_code == 201
    return client


def test_a_named_proof_submitted_twice_says_seen_before(published, material):
    client = published
    mine, theirs = new_key(client, "verifier"), new_key(client, "verifier")
    first = client.post("/v1/verify", json=verify_body(material), headers=mine).json()
    assert first["valid"] is True and first["seen_before"] is False and first["nullifier_seen_before"] is None
    again = client.post("/v1/verify", json=verify_body(material), headers=mine).json()
    assert again["valid"] is True and again["seen_before"] is True, again
    assert again["receipt_id"] != first["receipt_id"]
    assert client.get(f"/v1/receipts/{again['receipt_id']}").json()["seen_before"] is True
    # The same proof in its other encoding is the same proof.
    encoded = base64.b64encode(proof_to_bytes(material.proof, get_backend("arkworks"))).decode()
    as_b64 = client.post("/v1/verify", json=verify_body(material, proof=None, proof_b64=encoded), headers=mine)
    assert as_b64.status_code == 200 and as_b64.json()["seen_before"] is True, as_b64.text
    # Another verifier's history is its own; without a key there is none; an invalid proof never counts.
    assert client.post("/v1/verify", json=verify_body(material), headers=theirs).json()["seen_before"] is False
    assert client.post("/v1/verify", json=verify_body(material)).json()["seen_before"] is None
    wrong = client.post("/v1/verify", json=verify_body(material, context="98"), headers=mine).json()
    assert wrong["valid"] is False and wrong["seen_before"] is None
    # Batches: an earlier item of the same batch counts, as an earlier request does.
    item = {k: v for k, v in verify_body(material).items() if k not in ("circuit_id", "snapshot_id")}
    batch = {"circuit_id": CIRCUIT, "snapshot_id": material.snapshot_json["snapshot_id"], "items": [item, item]}
    fresh = new_key(client, "verifier")
    for headers, seen in ((fresh, [False, True]), (mine, [True, True])):
        report = client.post("/v1/verify/batch", json=batch, headers=headers)
        assert report.status_code == 200, report.text
        assert [r["seen_before"] for r in report.json()["results"]] == seen


def test_coalesced_requests_count_repeats_per_caller_in_request_order(published, material):
    """One job of several callers' requests (POST /v1/verify under load): each counts in its caller's history."""
    from zkmargin.verifier_service import verification
    from zkmargin.verifier_service.schemas import VerifyRequest

    request = VerifyRequest(**verify_body(material))
    jobs = [verification.Submission(request, "a"), verification.Submission(request, "a"),
            verification.Submission(request, "b"), request]
    outcomes = verification.verify_many_and_record(published.app.state.service, jobs)
    assert [o.valid for o in outcomes] == [True] * 4
    assert [o.seen_before for o in outcomes] == [False, True, False, None]


def test_an_anonymous_request_naming_another_venue_than_its_roots_is_refused(served, anonymous):
    client, root_id = served
    error_of(client.post("/v1/verify", json=body(anonymous, root_id, venue="squatter")), 422, "snapshot_does_not_fit")
    named = client.post("/v1/verify", json=body(anonymous, root_id, venue=anonymous.snapshot_json["venue"]))
    assert named.status_code == 200 and named.json()["valid"] is True, named.text
    assert named.json()["venue"] == anonymous.snapshot_json["venue"]


def test_real_servers_on_a_migrated_postgres_database_keep_venues_and_verifiers_apart(postgres, material, squat):
    """A database made at schema version 2 (one snapshot id for all venues, showings for all clients), then two
    real server processes sharing it: the first migrates it; both see the old receipt under its venue, the
    squatter's snapshot beside the rightful one, and each verifier's history as its own."""
    import signal

    import httpx

    import zkmargin.verifier_service.repository as repository_module
    from tests.verifier_service.conftest import ADMIN, fresh_postgres_database, make_client
    from tests.verifier_service.servers import start

    url = fresh_postgres_database(postgres)
    snapshot_id, venue = material.snapshot_json["snapshot_id"], material.snapshot_json["venue"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(repository_module, "MIGRATIONS", repository_module.MIGRATIONS[:2])
        with make_client(None, database_url=url) as old:
            assert old.app.state.service.repository.schema_version() == 2
            assert old.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                            headers=admin_headers()).status_code == 201
            assert publish(old, material.snapshot_json, new_key(old, "venue")).status_code == 201
            digest = old.get(f"/v1/snapshots/{snapshot_id}").json()["digest"]
            # A receipt as version 2 wrote it (no venue column yet).
            old.app.state.service.storage.execute(
                "INSERT INTO receipts (receipt_id, circuit_id, snapshot_id, commitment, context, proof, valid, reason,"
                " input_digest, checked_at) VALUES ('v2-receipt', ?, ?, '1', '2', 'ff', 1, 'ok', 'dd', 't')",
                (CIRCUIT, snapshot_id))
    servers = [start(url), start(url)]
    try:
        first, second = (f"http://127.0.0.1:{server.port}" for server in servers)
        admin = {"Authorization": f"Bearer {ADMIN}"}
        old_receipt = httpx.get(f"{second}/v1/receipts/v2-receipt").json()
        assert (old_receipt["venue"], old_receipt["snapshot_digest"], old_receipt["seen_before"]) == (
            venue, digest, None)
        register_venue(first, "squatter", SQUATTER_KEY)
        api_key = {"Authorization": "Bearer " + httpx.post(f"{first}/v1/keys", json={"role": "venue", "name": "s"},
                                                           headers=admin).json()["token"]}
        squatted = httpx.post(f"{second}/v1/snapshots", json=signed_snapshot(squat.snapshot_json, SQUATTER_KEY),
                              headers=api_key)
        assert squatted.status_code == 201, squatted.text
        assert httpx.get(f"{first}/v1/venues/{venue}/snapshots/{snapshot_id}").json()["digest"] == digest
        assert httpx.get(f"{first}/v1/snapshots/{snapshot_id}").json()["error"]["code"] == "ambiguous_snapshot"
        thief, rightful = ({"Authorization": "Bearer " + httpx.post(
            f"{first}/v1/keys", json={"role": "verifier", "name": name}, headers=admin).json()["token"]}
            for name in ("thief", "rightful"))
        request = verify_body(material, venue=venue)
        seen = [httpx.post(f"{base}/v1/verify", json=request, headers=key, timeout=60).json()
                for base, key in ((first, thief), (second, rightful), (first, rightful))]
        assert [r["valid"] for r in seen] == [True] * 3 and {r["venue"] for r in seen} == {venue}
        assert [r["seen_before"] for r in seen] == [False, False, True]
    finally:
        for server in servers:
            server.send_signal(signal.SIGKILL)
            server.wait()


def test_the_openapi_document_lists_the_venue_scoped_snapshot_path_and_the_409s(client):
    spec = client.get("/openapi.json").json()
    assert "/v1/venues/{venue}/snapshots/{snapshot_id}" in spec["paths"]
    for path in ("/v1/verify", "/v1/verify/batch"):
        assert "409" in spec["paths"][path]["post"]["responses"], path
        assert "venue" in spec["components"]["schemas"][spec["paths"][path]["post"]["requestBody"]["content"][
            "application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]]["properties"]
    assert "409" in spec["paths"]["/v1/snapshots/{snapshot_id}"]["get"]["responses"]
    receipt = spec["components"]["schemas"]["Receipt"]["properties"]
    assert {"venue", "seen_before", "nullifier_seen_before"} <= set(receipt)
