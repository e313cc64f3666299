"""Signed roots (#12 item 5): POST /v1/roots registers a venue's signed Merkle root for a stored snapshot, only
when signed by the key registered for the snapshot's venue; GET /v1/roots/{root_id}. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest

from tests.verifier_service.conftest import VENUE_KEY, admin_headers, new_key, publish, register_venue
from zkmargin.margin.models import parse_snapshot
from zkmargin.venue.attestation import (
    VenueSigningKey,
    root_message,
    sign_root,
    signed_root_to_json,
    snapshot_digest,
)
from zkmargin.venue.tree import MerkleTree
from zkmargin.verifier_service.deps import now_iso
from zkmargin.verifier_service.repository import SnapshotRecord

RIVAL_KEY = VenueSigningKey.generate()
LEAVES = [11, 22, 33]


def signed_root(snapshot_json: dict, key: VenueSigningKey = VENUE_KEY, depth: int = 4, **changes) -> dict:
    snap = replace(parse_snapshot(snapshot_json), **changes)
    tree = MerkleTree(LEAVES, depth)
    return signed_root_to_json(sign_root(key, snap, depth, len(LEAVES), tree.root))


@pytest.fixture
def published(any_client, material):
    """The snapshot published (signed), a rival venue registered; returns (client, venue key headers)."""
    client = any_client
    venue = new_key(client, "venue")
    assert publish(client, material.snapshot_json, venue).status_code == 201
    register_venue(client, "rival", RIVAL_KEY)
    return client, venue


def body(material, document: dict, snapshot_id: str | None = None) -> dict:
    return {"snapshot_id": snapshot_id or material.snapshot_json["snapshot_id"], "signed_root": document}


def test_a_signed_root_is_registered_under_a_stable_id(published, material):
    client, venue = published
    document = signed_root(material.snapshot_json)
    response = client.post("/v1/roots", json=body(material, document), headers=venue)
    assert response.status_code == 201, response.text
    info = response.json()
    # The id is the SHA-256 of the signed bytes: anyone holding the signed root recomputes it.
    snap = parse_snapshot(material.snapshot_json)
    expected = hashlib.sha256(root_message(snap.venue, snapshot_digest(snap), 4, 3, int(document["root"]))).hexdigest()
    assert info["root_id"] == expected
    assert (info["snapshot_id"], info["venue"], info["root"], info["depth"], info["leaf_count"]) == (
        snap.snapshot_id, snap.venue, document["root"], 4, 3)
    assert client.get(f"/v1/roots/{expected}").json() == info and info["signed_root"] == document
    again = client.post("/v1/roots", json=body(material, document), headers=venue)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_registered"
    # Another depth is another signed root, with another id.
    deeper = client.post("/v1/roots", json=body(material, signed_root(material.snapshot_json, depth=5)), headers=venue)
    assert deeper.status_code == 201 and deeper.json()["root_id"] != expected


@pytest.mark.parametrize("make, says", [
    (lambda s: signed_root(s, RIVAL_KEY), "signature does not verify"),
    (lambda s: {**signed_root(s, RIVAL_KEY), "venue": "rival"}, "signed for venue 'rival'"),
    (lambda s: signed_root(s, snapshot_id="another"), "signed for snapshot digest"),
    (lambda s: {**signed_root(s), "leaf_count": 2}, "signature does not verify"),
    (lambda s: {**signed_root(s), "root": "12345"}, "signature does not verify"),
])
def test_only_roots_signed_by_the_snapshots_venue_key_are_accepted(published, material, make, says):
    client, venue = published
    response = client.post("/v1/roots", json=body(material, make(material.snapshot_json)), headers=venue)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "root_refused" and says in error["message"], error


def test_a_root_for_the_rivals_snapshot_needs_the_rivals_key(published, material):
    client, venue = published
    rival = {**material.snapshot_json, "snapshot_id": "rival-snap", "venue": "rival"}
    assert publish(client, rival, venue, RIVAL_KEY).status_code == 201
    # This venue's key signing a root over the rival's snapshot.
    response = client.post("/v1/roots", json=body(material, signed_root(rival), "rival-snap"), headers=venue)
    assert response.status_code == 422 and response.json()["error"]["code"] == "root_refused"
    accepted = client.post("/v1/roots", json=body(material, signed_root(rival, RIVAL_KEY), "rival-snap"),
                           headers=venue)
    assert accepted.status_code == 201 and accepted.json()["venue"] == "rival"


def test_bad_root_requests_are_4xx(published, material):
    client, venue = published
    document = signed_root(material.snapshot_json)
    unknown = client.post("/v1/roots", json=body(material, document, "nope"), headers=venue)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_snapshot"
    for change in ({"signature": "zz"}, {"depth": 0}, {"depth": 33}, {"root": "01"}, {"format": "x"}):
        response = client.post("/v1/roots", json=body(material, {**document, **change}), headers=venue)
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_input", (change, response.text)
    assert client.post("/v1/roots", json=body(material, document)).status_code == 401
    assert client.post("/v1/roots", json=body(material, document), headers=new_key(client, "verifier")).status_code == 403
    assert client.post("/v1/roots", json=body(material, document), headers=admin_headers()).status_code == 201
    missing = client.get("/v1/roots/" + "0" * 64)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_root"
    assert client.get("/v1/roots/not-an-id").status_code == 422


def test_a_legacy_unsigned_snapshot_takes_no_root(any_client, material):
    """A snapshot stored before signatures were required, whose venue has no key: no root can be checked."""
    client = any_client
    snap = parse_snapshot(material.snapshot_json)
    client.app.state.service.repository.insert_snapshot(SnapshotRecord(
        snap.snapshot_id, snap.venue, snapshot_digest(snap).hex(), "legacy", now_iso(),
        json.dumps(material.snapshot_json, sort_keys=True, separators=(",", ":"))))
    response = client.post("/v1/roots", json=body(material, signed_root(material.snapshot_json)),
                           headers=new_key(client, "venue"))
    assert response.status_code == 422 and response.json()["error"]["code"] == "root_refused"
