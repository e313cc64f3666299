"""Attested verification in the service (#12 item 5): admins register venue keys; a snapshot's venue always
has one (snapshots are accepted only signed by it), and /v1/verify and /v1/verify/batch accept a proof only
with the venue's attestation, and receipts record it. Snapshots stored before signatures were required
(a legacy database) keep the old rule: an attestation is asked for once their venue registers a key."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.verifier_service.conftest import CIRCUIT, VENUE_KEY, admin_headers, new_key, verify_body
from zkmargin.margin.models import parse_snapshot
from zkmargin.venue.attestation import (
    VenueSigningKey,
    attest,
    attestation_to_json,
    public_key_to_json,
    snapshot_digest,
)
from zkmargin.verifier_service.deps import now_iso
from zkmargin.verifier_service.repository import SnapshotRecord

RIVAL_KEY = VenueSigningKey.generate()


def snapshot(material):
    return parse_snapshot(material.snapshot_json)


def attestation(material, key=VENUE_KEY, commitment=None, snap=None) -> dict:
    snap = snap or snapshot(material)
    return attestation_to_json(attest(key, snap, "trader-1", material.commitment if commitment is None else commitment))


@pytest.fixture
def attested(ready, material):
    """The ready client: the snapshot's venue key is registered (publishing the signed snapshot needed it)."""
    client, venue = ready
    assert client.get(f"/v1/venues/{snapshot(material).venue}").json()["document"] == public_key_to_json(
        VENUE_KEY.public_key(snapshot(material).venue))
    return client, venue


@pytest.fixture
def legacy(client, material):
    """A database from before signed snapshots: the snapshot stored unsigned, its venue without a key."""
    assert client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                       headers=admin_headers()).status_code == 201
    snap = snapshot(material)
    client.app.state.service.repository.insert_snapshot(SnapshotRecord(
        snap.snapshot_id, snap.venue, snapshot_digest(snap).hex(), "before-signatures", now_iso(),
        json.dumps(material.snapshot_json, sort_keys=True, separators=(",", ":"))))
    return client


def test_the_stored_snapshot_digest_is_the_one_attestations_sign(ready, material):
    client, _ = ready
    stored = client.get(f"/v1/snapshots/{material.snapshot_json['snapshot_id']}").json()
    assert stored["digest"] == snapshot_digest(snapshot(material)).hex()


def test_registering_venue_keys_needs_admin_and_never_replaces_a_key(client, material):
    venue = new_key(client, "venue")
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


def test_without_a_registered_key_no_attestation_is_asked_for_a_legacy_snapshot(legacy, material):
    client = legacy
    assert client.get(f"/v1/snapshots/{snapshot(material).snapshot_id}").json()["signature"] is None
    response = client.post("/v1/verify", json=verify_body(material, attestation=None))
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


def test_a_key_registered_after_verifications_applies_at_once(legacy, material):
    client = legacy
    # Caches the verifier.
    assert client.post("/v1/verify", json=verify_body(material, attestation=None)).json()["valid"] is True
    document = public_key_to_json(VENUE_KEY.public_key(snapshot(material).venue))
    assert client.post("/v1/venues", json=document, headers=admin_headers()).status_code == 201
    refused = client.post("/v1/verify", json=verify_body(material, attestation=None))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "attestation_refused"
