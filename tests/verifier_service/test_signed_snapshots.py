"""Signed snapshots (#12 item 5): POST /v1/snapshots stores a snapshot only with its venue's signature under the
key an admin registered for that venue, and the venue stored is the key's. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

from tests.verifier_service.conftest import VENUE_KEY, new_key, register_venue, signed_snapshot
from zkmargin.cli.main import cli
from zkmargin.margin.models import parse_snapshot
from zkmargin.venue.attestation import (
    VenueSigningKey,
    public_key_to_json,
    sign_snapshot,
    snapshot_digest,
    snapshot_signature_to_json,
)

RIVAL_KEY = VenueSigningKey.generate()


def signature_of(snapshot_json: dict, key: VenueSigningKey = VENUE_KEY, **changes) -> dict:
    snap = replace(parse_snapshot(snapshot_json), **changes)
    return snapshot_signature_to_json(sign_snapshot(key, snap))


@pytest.fixture
def venues(any_client, material):
    """The snapshot's venue registered with VENUE_KEY and a rival venue with its own key; returns (client, venue key)."""
    client = any_client
    register_venue(client, material.snapshot_json["venue"])
    register_venue(client, "rival", RIVAL_KEY)
    return client, new_key(client, "venue")


def refused(response, code: str = "snapshot_refused", says: str = "") -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code and says in error["message"], error


def test_a_snapshot_signed_by_its_venue_is_stored_with_its_signature(venues, material):
    client, venue = venues
    body = signed_snapshot(material.snapshot_json)
    response = client.post("/v1/snapshots", json=body, headers=venue)
    assert response.status_code == 201, response.text
    stored = client.get(f"/v1/snapshots/{material.snapshot_json['snapshot_id']}").json()
    assert stored["venue"] == material.snapshot_json["venue"] and stored["signature"] == body["signature"]
    assert stored["digest"] == body["signature"]["snapshot_digest"]


def test_an_unsigned_snapshot_is_refused(venues, material):
    client, venue = venues
    for body in (material.snapshot_json, {"snapshot": material.snapshot_json}):
        response = client.post("/v1/snapshots", json=body, headers=venue)
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request", response.text
    assert client.get(f"/v1/snapshots/{material.snapshot_json['snapshot_id']}").status_code == 404


@pytest.mark.parametrize("make, says", [
    # A signature that does not verify: flipped bytes, or the rival's key signing in this venue's name.
    (lambda s: {**signature_of(s), "signature": "00" * 64}, "signature does not verify"),
    (lambda s: signature_of(s, RIVAL_KEY), "signature does not verify"),
    # Signed by the rival's key in its own name: another venue's key.
    (lambda s: {**signature_of(s, RIVAL_KEY), "venue": "rival"}, "signed for venue 'rival'"),
    # The venue's own signature, but over another snapshot (id, or content under the same id).
    (lambda s: signature_of(s, snapshot_id="other"), "signed for snapshot 'other'"),
    (lambda s: signature_of(s, timestamp="2030-01-01T00:00:00Z"), "signed for snapshot digest"),
])
def test_a_wrongly_signed_snapshot_is_refused_and_not_stored(venues, material, make, says):
    client, venue = venues
    body = {"snapshot": material.snapshot_json, "signature": make(material.snapshot_json)}
    refused(client.post("/v1/snapshots", json=body, headers=venue), says=says)
    assert client.get(f"/v1/snapshots/{material.snapshot_json['snapshot_id']}").status_code == 404


def test_a_snapshot_claiming_another_venue_is_refused(venues, material):
    """The venue field cannot be picked by the caller: a snapshot naming the rival needs the rival's key."""
    client, venue = venues
    claimed = {**material.snapshot_json, "venue": "rival"}
    # Signed by this venue's key, in the rival's name (the signature's venue follows the snapshot's).
    refused(client.post("/v1/snapshots", json={"snapshot": claimed, "signature": signature_of(claimed)},
                        headers=venue), says="signature does not verify")
    # This venue's signature document, pasted onto the rival's claim.
    refused(client.post("/v1/snapshots", json={"snapshot": claimed,
                                               "signature": signature_of(material.snapshot_json)}, headers=venue))
    # A venue no admin has registered cannot publish at all.
    unknown = {**material.snapshot_json, "venue": "nobody"}
    refused(client.post("/v1/snapshots", json=signed_snapshot(unknown), headers=venue), says="no registered key")
    assert client.get(f"/v1/snapshots/{material.snapshot_json['snapshot_id']}").status_code == 404
    # Signed by the rival's own key, the claim is the rival's snapshot, stored as the rival's.
    stored = client.post("/v1/snapshots", json=signed_snapshot(claimed, RIVAL_KEY), headers=venue)
    assert stored.status_code == 201 and stored.json()["venue"] == "rival"


def test_a_malformed_signature_is_bad_input(venues, material):
    client, venue = venues
    body = {"snapshot": material.snapshot_json, "signature": {**signature_of(material.snapshot_json), "scheme": "rsa"}}
    refused(client.post("/v1/snapshots", json=body, headers=venue), code="invalid_input", says="scheme")


def test_venue_sign_snapshot_writes_what_the_service_accepts(venues, material, tmp_path):
    client, venue = venues
    snapshot_path, key_path, out = tmp_path / "snapshot.json", tmp_path / "venue.key", tmp_path / "snapshot.sig.json"
    snapshot_path.write_text(json.dumps(material.snapshot_json))
    key_path.write_bytes(VENUE_KEY.to_pem())
    result = CliRunner().invoke(cli, ["venue", "sign-snapshot", str(snapshot_path), "--key", str(key_path),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    signature = json.loads(out.read_text())
    assert signature["snapshot_digest"] == snapshot_digest(parse_snapshot(material.snapshot_json)).hex()
    response = client.post("/v1/snapshots", json={"snapshot": material.snapshot_json, "signature": signature},
                           headers=venue)
    assert response.status_code == 201, response.text
    missing = CliRunner().invoke(cli, ["venue", "sign-snapshot", str(snapshot_path), "--key", str(tmp_path / "none"),
                                       "--out", str(tmp_path / "x.json")])
    assert missing.exit_code == 2 and "not found" in missing.output


def test_the_stored_venue_is_the_registered_keys(venues, material):
    client, venue = venues
    assert client.post("/v1/snapshots", json=signed_snapshot(material.snapshot_json), headers=venue).status_code == 201
    stored = client.get(f"/v1/snapshots/{material.snapshot_json['snapshot_id']}").json()
    key = client.get(f"/v1/venues/{stored['venue']}").json()
    assert key["document"] == public_key_to_json(VENUE_KEY.public_key(material.snapshot_json["venue"]))
