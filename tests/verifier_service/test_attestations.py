"""Attested verification in the service (#12 item 5): admins register venue keys; once a snapshot's venue
has one, /v1/verify and /v1/verify/batch accept a proof only with the venue's attestation, and receipts
record it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.verifier_service.conftest import admin_headers, new_key, verify_body
from zkmargin.attestation import (
    VenueSigningKey,
    attest,
    attestation_to_json,
    public_key_to_json,
    snapshot_digest,
)
from zkmargin.margin.models import parse_snapshot

VENUE_KEY = VenueSigningKey.generate()
RIVAL_KEY = VenueSigningKey.generate()


def snapshot(material):
    return parse_snapshot(material.snapshot_json)


def attestation(material, key=VENUE_KEY, commitment=None, snap=None) -> dict:
    snap = snap or snapshot(material)
    return attestation_to_json(attest(key, snap, "trader-1", material.commitment if commitment is None else commitment))


@pytest.fixture
def attested(ready, material):
    """The ready client with the snapshot's venue key registered."""
    client, venue = ready
    document = public_key_to_json(VENUE_KEY.public_key(snapshot(material).venue))
    response = client.post("/v1/venues", json=document, headers=admin_headers())
    assert response.status_code == 201, response.text
    return client, venue


def test_the_stored_snapshot_digest_is_the_one_attestations_sign(ready, material):
    client, _ = ready
    stored = client.get(f"/v1/snapshots/{material.snapshot_json['snapshot_id']}").json()
    assert stored["digest"] == snapshot_digest(snapshot(material)).hex()


def test_registering_venue_keys_needs_admin_and_never_replaces_a_key(ready, material):
    client, venue = ready
    document = public_key_to_json(VENUE_KEY.public_key(snapshot(material).venue))
    assert client.post("/v1/venues", json=document, headers=venue).status_code == 403
    assert client.post("/v1/venues", json=document).status_code == 401
    assert client.post("/v1/venues", json=document, headers=admin_headers()).status_code == 201
    again = client.post("/v1/venues", json=document, headers=admin_headers())
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_registered"
    other = public_key_to_json(RIVAL_KEY.public_key(snapshot(material).venue))
    replaced = client.post("/v1/venues", json=other, headers=admin_headers())
    assert replaced.status_code == 409 and replaced.json()["error"]["code"] == "conflict"
    fetched = client.get(f"/v1/venues/{snapshot(material).venue}", headers=venue).json()
    assert fetched["document"] == document
    bad = client.post("/v1/venues", json={**document, "public_key": "00" * 31}, headers=admin_headers())
    assert bad.status_code == 422 and "public_key" in bad.json()["error"]["message"]
    assert client.get("/v1/venues/nobody", headers=venue).status_code == 404


def test_without_a_registered_key_no_attestation_is_asked_for(ready, material):
    client, _ = ready
    response = client.post("/v1/verify", json=verify_body(material))
    assert response.status_code == 200 and response.json()["valid"] is True
    assert response.json()["attestation"] is None


def test_an_attested_proof_is_accepted_and_its_receipt_records_the_attestation(attested, material):
    client, _ = attested
    att = attestation(material)
    response = client.post("/v1/verify", json=verify_body(material, attestation=att))
    assert response.status_code == 200, response.text
    assert response.json()["valid"] is True and response.json()["attestation"] == att
    receipt = client.get(f"/v1/receipts/{response.json()['receipt_id']}").json()
    assert receipt["attestation"] == att


@pytest.mark.parametrize("make, reason", [
    (lambda m: None, "no attestation"),
    (lambda m: attestation(m, commitment=m.commitment + 1), "attestation is for commitment"),
    (lambda m: attestation(m, snap=replace(snapshot(m), snapshot_id="later")), "signed for snapshot digest"),
    (lambda m: attestation(m, key=RIVAL_KEY), "signature does not verify"),
    (lambda m: {**attestation(m), "venue": "rival"}, "signed for venue 'rival'"),
])
def test_unattested_or_wrongly_attested_proofs_are_refused(attested, material, make, reason):
    client, _ = attested
    response = client.post("/v1/verify", json=verify_body(material, attestation=make(material)))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "attestation_refused" and reason in error["message"]


def test_a_malformed_attestation_is_bad_input(attested, material):
    client, _ = attested
    response = client.post("/v1/verify", json=verify_body(material, attestation={**attestation(material),
                                                                                 "signature": "zz"}))
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_input"


def test_batch_refuses_each_unattested_item_and_gives_it_no_receipt(attested, material):
    client, _ = attested
    item = {"commitment": str(material.commitment), "context": str(material.context), "proof": material.proof_json}
    body = {"circuit_id": verify_body(material)["circuit_id"], "snapshot_id": material.snapshot_json["snapshot_id"],
            "items": [{**item, "id": "good", "attestation": attestation(material)},
                      {**item, "id": "bare"},
                      {**item, "id": "other", "attestation": attestation(material, commitment=1)}]}
    response = client.post("/v1/verify/batch", json=body, headers=new_key(client, "verifier"))
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["valid"], result["invalid"], result["malformed"], result["refused"]) == (1, 0, 0, 2)
    good, bare, other = result["results"]
    assert good["valid"] and good["receipt_id"] and good["refused"] is None
    assert "no attestation" in bare["refused"] and bare["receipt_id"] is None
    assert "attestation is for commitment" in other["refused"] and other["receipt_id"] is None
    receipt = client.get(f"/v1/receipts/{good['receipt_id']}").json()
    assert receipt["attestation"]["signature"] == attestation(material)["signature"]


def test_a_key_registered_after_verifications_applies_at_once(ready, material):
    client, _ = ready
    assert client.post("/v1/verify", json=verify_body(material)).json()["valid"] is True  # caches the verifier
    document = public_key_to_json(VENUE_KEY.public_key(snapshot(material).venue))
    assert client.post("/v1/venues", json=document, headers=admin_headers()).status_code == 201
    refused = client.post("/v1/verify", json=verify_body(material))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "attestation_refused"
