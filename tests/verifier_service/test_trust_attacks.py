"""Adversarial review of the service's trust features (#12 item 5), through the HTTP API only.

Each test is an attack; it passes when the attack fails. On SQLite and PostgreSQL where a fresh
client is enough (any_client). Covered elsewhere and not repeated here: a root of another depth
than the circuit's (test_anonymous), racing showings of one nullifier (test_migrations).
"""

from __future__ import annotations

import copy
import gc
import json
import random
import unicodedata
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.verifier_service.conftest import (
    CIRCUIT,
    VENUE_KEY,
    admin_headers,
    attestation_json,
    make_client,
    new_key,
    publish,
    register_venue,
    signed_snapshot,
    verify_body,
)
from tests.verifier_service.membership import (  # noqa: F401 - fixtures used by name
    CONTEXT,
    DEPTH,
    MEMBER,
    SCOPE,
    SECRET,
    anonymous,
    body,
    member_tree,
    register_root,
    served,
)
from zkmargin.backends import get_backend
from zkmargin.circuits.proving import prove_member
from zkmargin.circuits.registry import circuit_from_id
from zkmargin.groth16 import setup
from zkmargin.groth16.serialization import proof_to_json, vk_to_json
from zkmargin.margin.models import parse_snapshot
from zkmargin.margin.samples import sample_account, sample_snapshot
from zkmargin.venue.attestation import (
    VenueSigningKey,
    sign_root,
    signed_root_to_json,
)
from zkmargin.verifier_service.repository import Repository, SnapshotRecord
from zkmargin.verifier_service.storage import Storage


@pytest.fixture
def any_client(tmp_path, database_url):
    """conftest's any_client, its connections closed after the test: this module makes more PostgreSQL apps than
    the server takes connections, and an app's threads keep theirs open."""
    with make_client(tmp_path, database_url=database_url) as client:
        yield client
    gc.collect()
    name = database_url.rsplit("/", 1)[-1]
    if database_url.startswith("postgresql") and name.startswith("t_"):
        import psycopg

        # Threads of the app's pools keep their connections open; this test's database is its own, so end them.
        with psycopg.connect(database_url, autocommit=True) as connection:
            connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                               " WHERE datname = %s AND pid <> pg_backend_pid()", (name,))


RIVAL_KEY = VenueSigningKey.generate()
"""Venue A (registered as "rival"): a real venue with its own key and API key, attacking venue B's snapshots."""
PROVER_KEY = VenueSigningKey.generate()
"""A key nobody registered: what a prover signing its own root or snapshot holds."""


def refused(response: httpx.Response, status: int = 422, code: str | None = None) -> dict:
    """The response is a clean 4xx with a JSON error body (never a 5xx or a traceback)."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert code is None or error["code"] == code, error
    return error


def variant(snapshot_json: dict, **changes) -> dict:
    document = copy.deepcopy(snapshot_json)
    document.update(changes)
    return document


@pytest.fixture
def venues(any_client, material):
    """Venue B (the sample snapshot's) and venue A ("rival") registered with their own keys: (client, A's API key)."""
    register_venue(any_client, material.snapshot_json["venue"])
    register_venue(any_client, "rival", RIVAL_KEY)
    return any_client, new_key(any_client, "venue")


# ----- signed snapshots ---------------------------------------------------------------------
def test_a_snapshot_claiming_venue_b_signed_with_venue_as_key_is_refused(venues, material):
    client, api_key = venues
    response = client.post("/v1/snapshots", json=signed_snapshot(material.snapshot_json, RIVAL_KEY), headers=api_key)
    refused(response, code="snapshot_refused")
    refused(client.get(f"/v1/snapshots/{material.snapshot_json['snapshot_id']}"), 404)


def test_venue_a_cannot_relabel_bs_snapshot_as_its_own_or_its_own_as_bs(venues, material):
    client, api_key = venues
    bs = signed_snapshot(material.snapshot_json)
    # A's signature document naming A, over B's snapshot (the snapshot still names B).
    as_signature = signed_snapshot(variant(material.snapshot_json, venue="rival"), RIVAL_KEY)["signature"]
    refused(client.post("/v1/snapshots", json={**bs, "signature": as_signature}, headers=api_key),
            code="snapshot_refused")
    # B's signature over B's snapshot, the snapshot relabelled as A's.
    refused(client.post("/v1/snapshots", json={**bs, "snapshot": variant(material.snapshot_json, venue="rival")},
                        headers=api_key), code="snapshot_refused")


def test_as_api_key_publishing_bs_signed_snapshot_stores_it_as_bs(venues, material):
    """The API key only carries the request: the stored venue is the signing key's, never the caller's."""
    client, api_key = venues
    response = client.post("/v1/snapshots", json=signed_snapshot(material.snapshot_json), headers=api_key)
    assert response.status_code == 201, response.text
    assert response.json()["venue"] == material.snapshot_json["venue"]


@pytest.mark.parametrize("changes", [
    {"snapshot_id": "another-id"},
    {"timestamp": "2026-11-24T16:00:01Z"},
    {"venue": "rival"},
])
def test_a_snapshot_signature_does_not_check_for_another_id_or_content(venues, material, changes):
    client, api_key = venues
    signature = signed_snapshot(material.snapshot_json)["signature"]
    refused(client.post("/v1/snapshots", json={"snapshot": variant(material.snapshot_json, **changes),
                                               "signature": signature}, headers=api_key), code="snapshot_refused")


def test_a_snapshot_signature_does_not_check_after_one_price_moves_by_one_unit(venues, material):
    client, api_key = venues
    signature = signed_snapshot(material.snapshot_json)["signature"]
    moved = copy.deepcopy(material.snapshot_json)
    moved["assets"][2]["price"] = "64000.00000001"
    refused(client.post("/v1/snapshots", json={"snapshot": moved, "signature": signature}, headers=api_key),
            code="snapshot_refused")
    swapped = copy.deepcopy(material.snapshot_json)
    swapped["assets"][2], swapped["assets"][3] = swapped["assets"][3], swapped["assets"][2]
    refused(client.post("/v1/snapshots", json={"snapshot": swapped, "signature": signature}, headers=api_key),
            code="snapshot_refused")


def test_key_order_and_number_forms_do_not_make_a_second_snapshot(venues, material):
    """One snapshot, many texts: the signature covers the parsed values, so a reformatted text is the same
    snapshot (same digest, same stored document), and its id is then taken."""
    client, api_key = venues
    signature = signed_snapshot(material.snapshot_json)["signature"]
    reformatted = {key: material.snapshot_json[key] for key in reversed(list(material.snapshot_json))}
    reformatted["assets"] = [dict(reversed(list(entry.items()))) for entry in reformatted["assets"]]
    reformatted["assets"][2]["price"] = "64000.00000000"
    reformatted["assets"][1]["haircut"] = "0.020"
    text = json.dumps({"signature": signature, "snapshot": reformatted})
    response = client.post("/v1/snapshots", content=text, headers={**api_key, "Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert response.json()["digest"] == signature["snapshot_digest"]
    assert response.json()["document"] == parse_and_dump(material.snapshot_json)
    refused(client.post("/v1/snapshots", json=signed_snapshot(material.snapshot_json), headers=api_key), 409)


def parse_and_dump(snapshot_json: dict) -> dict:
    from zkmargin.margin.models import snapshot_to_json

    return snapshot_to_json(parse_snapshot(snapshot_json))


def test_a_duplicate_key_in_a_signed_snapshot_is_refused(venues, material):
    """Read last-wins, {"venue": B, "venue": A} could be checked as one document and stored as another."""
    client, api_key = venues
    body_text = json.dumps(signed_snapshot(material.snapshot_json))
    for duplicated in (body_text.replace('"venue": "example-exchange"', '"venue": "rival", "venue": "example-exchange"', 1),
                       body_text.replace('"snapshot_id": "demo', '"snapshot_id": "other", "snapshot_id": "demo', 1)):
        assert duplicated != body_text
        refused(client.post("/v1/snapshots", content=duplicated,
                            headers={**api_key, "Content-Type": "application/json"}))


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_unicode_normal_forms_of_a_venue_name_are_different_venues(any_client, material, form):
    """A key registered for one spelling of "Café" never vouches for the other spelling's snapshots."""
    client = any_client
    registered = unicodedata.normalize(form, "Café Exchange")
    other = unicodedata.normalize("NFD" if form == "NFC" else "NFC", "Café Exchange")
    assert registered != other
    register_venue(client, registered, RIVAL_KEY)
    snapshot_json = variant(material.snapshot_json, venue=other)
    response = client.post("/v1/snapshots", json=signed_snapshot(snapshot_json, RIVAL_KEY),
                           headers=new_key(client, "venue"))
    refused(response, code="snapshot_refused")
    ok = client.post("/v1/snapshots", json=signed_snapshot(variant(material.snapshot_json, venue=registered), RIVAL_KEY),
                     headers=new_key(client, "venue"))
    assert ok.status_code == 201 and ok.json()["venue"] == registered, ok.text


def test_unicode_normal_forms_of_an_asset_name_are_different_layouts(venues, material):
    client, api_key = venues
    nfc = copy.deepcopy(material.snapshot_json)
    nfc["assets"][0]["asset"] = unicodedata.normalize("NFC", "USDé")
    nfd = copy.deepcopy(nfc)
    nfd["assets"][0]["asset"] = unicodedata.normalize("NFD", "USDé")
    refused(client.post("/v1/snapshots", json={"snapshot": nfd, "signature": signed_snapshot(nfc)["signature"]},
                        headers=api_key), code="snapshot_refused")


@pytest.mark.parametrize("where", ["snapshot_id", "venue", "asset", "signature_venue"])
def test_nul_and_control_characters_in_snapshot_names_are_4xx(venues, material, where):
    client, api_key = venues
    snapshot_json = copy.deepcopy(material.snapshot_json)
    signed = signed_snapshot(snapshot_json)
    if where == "snapshot_id":
        signed["snapshot"]["snapshot_id"] = "demo\u0000x"
    elif where == "venue":
        signed["snapshot"]["venue"] = "example-exchange\u0000"
    elif where == "asset":
        snapshot_json["assets"][0]["asset"] = "US\u0000D"
        signed = signed_snapshot(snapshot_json)
    else:
        signed["signature"]["venue"] = "example\u0000exchange"
    response = client.post("/v1/snapshots", json=signed, headers=api_key)
    assert 400 <= response.status_code < 500, response.text
    assert "error" in response.json()


@pytest.mark.parametrize("path", ["/v1/snapshots/a%00b", "/v1/roots/%00", "/v1/venues/a%00b", "/v1/receipts/%00",
                                  "/v1/snapshots/caf%C3%A9", "/v1/venues/caf%C3%A9", "/v1/roots/" + "é" * 64])
def test_nul_and_unicode_in_path_ids_are_4xx(any_client, path):
    response = any_client.get(path)
    assert 400 <= response.status_code < 500, response.text
    assert "error" in response.json()


# ----- legacy (unsigned) snapshots ------------------------------------------------------------
def store_legacy_snapshot(database_url: str, snapshot_json: dict) -> None:
    """A snapshot as the release before signatures stored it: no signature, any venue name the caller gave."""
    from zkmargin.venue.attestation import snapshot_digest

    snapshot = parse_snapshot(snapshot_json)
    document = json.dumps(parse_and_dump(snapshot_json), sort_keys=True, separators=(",", ":"))
    Repository(Storage(database_url)).insert_snapshot(SnapshotRecord(
        snapshot.snapshot_id, snapshot.venue, snapshot_digest(snapshot).hex(), "old-key", "t", document, None))


@pytest.fixture
def legacy(any_client, database_url, material):
    """The circuit registered and the material's snapshot stored unsigned (as before signatures were required)."""
    client = any_client
    assert client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                       headers=admin_headers()).status_code == 201
    store_legacy_snapshot(database_url, material.snapshot_json)
    return client


def test_a_named_proof_on_a_legacy_snapshot_needs_the_attestation_once_the_venue_has_a_key(legacy, material):
    client = legacy
    register_venue(client, material.snapshot_json["venue"])
    refused(client.post("/v1/verify", json=verify_body(material, attestation=None)), code="attestation_refused")
    forged = attestation_json(material.snapshot_json, material.commitment, RIVAL_KEY)
    refused(client.post("/v1/verify", json=verify_body(material, attestation=forged)), code="attestation_refused")
    accepted = client.post("/v1/verify", json=verify_body(material))
    assert accepted.status_code == 200 and accepted.json()["valid"] is True, accepted.text
    assert accepted.json()["attestation"] == material.attestation_json and accepted.json()["mode"] == "named"


def test_a_legacy_snapshot_of_a_venue_without_key_records_no_attestation_it_did_not_check(legacy, material):
    """Before the venue registers a key nothing can check an attestation: the receipt must not show one."""
    client = legacy
    forged = attestation_json(material.snapshot_json, material.commitment, PROVER_KEY)
    response = client.post("/v1/verify", json=verify_body(material, attestation=forged))
    assert response.status_code == 200, response.text
    assert response.json()["attestation"] is None and response.json()["mode"] == "named"
    receipt = client.get(f"/v1/receipts/{response.json()['receipt_id']}").json()
    assert receipt["attestation"] is None and receipt["root_id"] is None and receipt["nullifier"] is None


def test_a_root_on_a_legacy_snapshot_of_a_venue_without_key_is_refused(legacy, material):
    client = legacy
    document = signed_root_to_json(sign_root(PROVER_KEY, parse_snapshot(material.snapshot_json), 4, 1, 5))
    response = client.post("/v1/roots", json={"snapshot_id": material.snapshot_json["snapshot_id"],
                                              "signed_root": document}, headers=new_key(client, "venue"))
    refused(response, code="root_refused")


# ----- signed roots ---------------------------------------------------------------------------
@pytest.fixture
def two_snapshots(venues, material):
    """B's snapshot and a second one of B's with another BTC price, both published: (client, A's API key, second)."""
    client, api_key = venues
    second = copy.deepcopy(material.snapshot_json)
    second["snapshot_id"] = "demo-second"
    second["assets"][2]["price"] = "65000"
    for document in (material.snapshot_json, second):
        assert client.post("/v1/snapshots", json=signed_snapshot(document), headers=api_key).status_code == 201
    return client, api_key, second


def post_root(client: TestClient, api_key: dict[str, str], snapshot_id: str, document: dict) -> httpx.Response:
    return client.post("/v1/roots", json={"snapshot_id": snapshot_id, "signed_root": document}, headers=api_key)


def test_a_root_signed_for_another_snapshot_is_refused(two_snapshots, material):
    client, api_key, second = two_snapshots
    for_second = signed_root_to_json(sign_root(VENUE_KEY, parse_snapshot(second), 4, 3, 12345))
    refused(post_root(client, api_key, material.snapshot_json["snapshot_id"], for_second), code="root_refused")
    assert post_root(client, api_key, "demo-second", for_second).status_code == 201


def test_a_root_signed_by_another_venue_is_refused(two_snapshots, material):
    client, api_key, _ = two_snapshots
    snapshot = parse_snapshot(material.snapshot_json)
    as_b = signed_root_to_json(sign_root(RIVAL_KEY, snapshot, 4, 3, 12345))  # names B, signed by A's key
    from dataclasses import replace

    as_a = signed_root_to_json(sign_root(RIVAL_KEY, replace(snapshot, venue="rival"), 4, 3, 12345))
    as_a["snapshot_digest"] = as_b["snapshot_digest"]  # A's own name, B's snapshot digest
    unregistered = signed_root_to_json(sign_root(PROVER_KEY, snapshot, 4, 3, 12345))
    for document in (as_b, as_a, unregistered):
        refused(post_root(client, api_key, material.snapshot_json["snapshot_id"], document), code="root_refused")


@pytest.mark.parametrize("changes", [{"depth": 5}, {"leaf_count": 4}, {"root": "12346"}, {"venue": "rival"},
                                     {"depth": 0}, {"depth": 33}, {"leaf_count": 17}, {"depth": True},
                                     {"root": "0x3039"}, {"root": "012345"}])
def test_a_signed_root_edited_after_signing_is_refused(two_snapshots, material, changes):
    client, api_key, _ = two_snapshots
    document = {**signed_root_to_json(sign_root(VENUE_KEY, parse_snapshot(material.snapshot_json), 4, 3, 12345)),
                **changes}
    refused(post_root(client, api_key, material.snapshot_json["snapshot_id"], document))


# ----- anonymous verification -----------------------------------------------------------------
def test_an_anonymous_proof_needs_a_registered_root(served, anonymous):
    """The prover's own tree, signed by its own key or even by the venue, is worth nothing until registered."""
    client, _ = served
    from zkmargin.venue.attestation import parse_signed_root
    from zkmargin.verifier_service.verification import root_id_of

    snapshot = parse_snapshot(anonymous.snapshot_json)
    root = int(anonymous.signed_root["root"])
    for key in (PROVER_KEY, VENUE_KEY):
        own = root_id_of(parse_signed_root(signed_root_to_json(sign_root(key, snapshot, DEPTH, 2, root))))
        refused(client.post("/v1/verify", json=body(anonymous, own)), 404, "unknown_root")
    # The root value itself in place of its id is not an id.
    refused(client.post("/v1/verify", json=body(anonymous, format(root, "064x"))), 404, "unknown_root")


def test_root_id_and_snapshot_id_do_not_mix(served, anonymous):
    client, root_id = served
    snapshot_id = anonymous.snapshot_json["snapshot_id"]
    refused(client.post("/v1/verify", json=body(anonymous, snapshot_id)))  # a snapshot id as root_id
    # A root id as the snapshot id of a named request: no such snapshot.
    named = {"circuit_id": MEMBER, "snapshot_id": root_id, "commitment": "1", "context": "1",
             "proof": anonymous.proof_json}
    response = client.post("/v1/verify", json=named)
    assert 400 <= response.status_code < 500 and "error" in response.json(), response.text
    # A root id with a named circuit and its commitment fields.
    refused(client.post("/v1/verify", json={**body(anonymous, root_id), "commitment": "1"}))
    refused(client.post("/v1/verify/batch", json={"circuit_id": MEMBER, "snapshot_id": snapshot_id, "items": [
        {"scope": str(SCOPE), "nullifier": str(anonymous.nullifier), "context": str(CONTEXT),
         "proof": anonymous.proof_json}]}))


def test_an_anonymous_proof_is_invalid_under_the_same_root_signed_for_another_snapshot(served, anonymous):
    """The venue signs the same tree for a second snapshot with another BTC price: the proof was made under the
    first snapshot's prices, and the root names the second snapshot, whose prices the service supplies."""
    client, _ = served
    second = copy.deepcopy(anonymous.snapshot_json)
    second["snapshot_id"] = "demo-second"
    second["assets"][2]["price"] = "65000"
    assert publish(client, second, new_key(client, "venue")).status_code == 201
    document = signed_root_to_json(sign_root(VENUE_KEY, parse_snapshot(second), DEPTH, 3,
                                             int(anonymous.signed_root["root"])))
    registered = post_root(client, new_key(client, "venue"), "demo-second", document)
    assert registered.status_code == 201, registered.text
    other_root = registered.json()["root_id"]
    response = client.post("/v1/verify", json=body(anonymous, other_root))
    assert response.status_code == 200, response.text
    assert response.json()["valid"] is False and response.json()["snapshot_id"] == "demo-second"
    assert response.json()["nullifier_seen_before"] is None
    # The snapshot_id of the proof's snapshot beside the other root: refused, not mixed.
    refused(client.post("/v1/verify", json=body(anonymous, other_root, snapshot_id=anonymous.snapshot_json["snapshot_id"])))


@dataclass
class Deeper:
    vk_json: dict
    proof_json: dict
    nullifier: int


MEMBER5 = f"{CIRCUIT}-m5"


@pytest.fixture(scope="module")
def deeper() -> Deeper:
    """The same account (same commitment and salt as test_anonymous's) proved under the depth-5 tree of the same
    leaves, with a -m5 circuit."""
    backend = get_backend("arkworks")
    circuit = circuit_from_id(MEMBER5)
    pk = setup(circuit.compile(), random.Random(7), backend)
    snapshot, account, salt = sample_snapshot(), sample_account("healthy"), 4321
    _, path = member_tree(circuit, account, snapshot, salt, DEPTH + 1)
    proof, public = prove_member(circuit, pk, account, snapshot, salt, CONTEXT, path, SCOPE, SECRET, backend)
    return Deeper(vk_to_json(pk.vk, backend, alphabeta=[]), proof_to_json(proof, backend), public.extra[1])


def test_the_same_nullifier_under_a_second_root_of_the_snapshot_is_seen_before(served, anonymous):
    """The venue signs its tree twice (a corrected leaf count): one account, one scope, two root ids. A verifier
    relying on nullifier_seen_before must learn the second showing is the same account again."""
    client, root_id = served
    document = signed_root_to_json(sign_root(VENUE_KEY, parse_snapshot(anonymous.snapshot_json), DEPTH, 4,
                                             int(anonymous.signed_root["root"])))
    second_root = register_root(client, anonymous, document)
    assert second_root != root_id
    first = client.post("/v1/verify", json=body(anonymous, root_id)).json()
    again = client.post("/v1/verify", json=body(anonymous, second_root)).json()
    assert first["valid"] is True and first["nullifier_seen_before"] is False
    assert again["valid"] is True and again["nullifier_seen_before"] is True, again


def test_the_same_nullifier_under_another_circuit_and_depth_is_seen_before(served, anonymous, deeper):
    """The venue publishes its tree at two depths (for -m4 and -m5 verifiers): the account's nullifier in a scope
    is one value, whichever circuit proves it."""
    client, root_id = served
    assert deeper.nullifier == anonymous.nullifier
    assert client.post("/v1/circuits", json={"circuit_id": MEMBER5, "verification_key": deeper.vk_json},
                       headers=admin_headers()).status_code == 201
    deeper_root = register_root(client, anonymous, anonymous.deeper_root)
    first = client.post("/v1/verify", json=body(anonymous, root_id)).json()
    again = client.post("/v1/verify", json=body(anonymous, deeper_root, circuit_id=MEMBER5,
                                                proof=deeper.proof_json)).json()
    assert first["valid"] is True and first["nullifier_seen_before"] is False
    assert again["valid"] is True and again["nullifier_seen_before"] is True, again


def test_a_nullifier_shown_in_another_scope_does_not_count_and_cannot_be_replayed_there(served, anonymous):
    client, root_id = served
    first = client.post("/v1/verify", json=body(anonymous, root_id)).json()
    assert first["valid"] is True
    # The same nullifier claimed in another scope: the proof binds its scope.
    replayed = client.post("/v1/verify", json=body(anonymous, root_id, scope=str(SCOPE + 1))).json()
    assert replayed["valid"] is False and replayed["nullifier_seen_before"] is None
    other = client.post("/v1/verify", json=body(anonymous, root_id, scope=str(SCOPE + 1),
                                                nullifier=str(anonymous.other_scope_nullifier),
                                                proof=anonymous.other_scope_proof_json)).json()
    assert other["valid"] is True and other["nullifier_seen_before"] is False


def test_a_scope_in_another_text_is_the_same_scope(served, anonymous):
    """"5" and "0x5" name one scope: they must not open a second first showing (or be refused)."""
    client, root_id = served
    assert client.post("/v1/verify", json=body(anonymous, root_id)).json()["nullifier_seen_before"] is False
    response = client.post("/v1/verify", json=body(anonymous, root_id, scope=hex(SCOPE),
                                                   nullifier=hex(anonymous.nullifier)))
    assert response.status_code == 200, response.text
    assert response.json()["valid"] is True and response.json()["nullifier_seen_before"] is True, response.json()


def test_invalid_and_malformed_batch_items_are_no_showings(served, anonymous):
    client, root_id = served
    good = {"scope": str(SCOPE), "nullifier": str(anonymous.nullifier), "context": str(CONTEXT),
            "proof": anonymous.proof_json}
    items = [{**good, "id": "wrong-context", "context": str(CONTEXT + 1)}, {**good, "id": "malformed", "scope": "05"},
             {**good, "id": "first"}, {**good, "id": "again"}]
    response = client.post("/v1/verify/batch", json={"circuit_id": MEMBER, "root_id": root_id, "items": items},
                           headers=new_key(client, "verifier"))
    assert response.status_code == 200, response.text
    wrong, malformed, first, again = response.json()["results"]
    assert wrong["valid"] is False and wrong["nullifier_seen_before"] is None
    assert malformed["receipt_id"] is None and malformed["nullifier_seen_before"] is None
    assert (first["valid"], first["nullifier_seen_before"]) == (True, False)
    assert (again["valid"], again["nullifier_seen_before"]) == (True, True)
    receipt = client.get(f"/v1/receipts/{wrong['receipt_id']}").json()
    assert receipt["valid"] is False and receipt["nullifier_seen_before"] is None


def test_an_anonymous_receipt_records_what_was_verified(served, anonymous):
    client, root_id = served
    result = client.post("/v1/verify", json=body(anonymous, root_id)).json()
    receipt = client.get(f"/v1/receipts/{result['receipt_id']}").json()
    assert (receipt["mode"], receipt["root_id"], receipt["scope"], receipt["nullifier"]) == (
        "anonymous", root_id, str(SCOPE), str(anonymous.nullifier))
    assert receipt["commitment"] is None and receipt["attestation"] is None
    registered = client.get(f"/v1/roots/{root_id}").json()
    assert registered["snapshot_id"] == receipt["snapshot_id"] and registered["depth"] == DEPTH


def test_a_named_proof_cannot_be_recorded_as_anonymous_or_the_reverse(served, anonymous, material):
    client, root_id = served
    # The named circuit's proof with a root: refused before any receipt.
    refused(client.post("/v1/verify", json={"circuit_id": CIRCUIT, "root_id": root_id, "scope": "1", "nullifier": "1",
                                            "context": str(material.context), "proof": material.proof_json}))
    # The membership proof in named mode, with a commitment the venue attested: refused.
    refused(client.post("/v1/verify", json={
        "circuit_id": MEMBER, "snapshot_id": anonymous.snapshot_json["snapshot_id"],
        "commitment": anonymous.signed_root["root"], "context": str(CONTEXT), "proof": anonymous.proof_json,
        "attestation": attestation_json(anonymous.snapshot_json, int(anonymous.signed_root["root"]))}))


def test_an_attested_account_id_with_a_nul_is_kept_verbatim_not_a_5xx(served, material, anonymous):
    """The venue signed that account id, so the proof is accepted; the receipt must keep it exactly (PostgreSQL
    text refuses raw NUL bytes: a 5xx here would lose the receipt)."""
    client, _ = served
    client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                headers=admin_headers())
    attestation = attestation_json(material.snapshot_json, material.commitment, account_id="trader\u00001")
    response = client.post("/v1/verify", json=verify_body(material, attestation=attestation))
    assert response.status_code == 200 and response.json()["valid"] is True, response.text
    receipt = client.get(f"/v1/receipts/{response.json()['receipt_id']}").json()
    assert receipt["attestation"] == attestation and receipt["attestation"]["account_id"] == "trader\u00001"


@pytest.mark.parametrize("field", ["scope", "nullifier"])
@pytest.mark.parametrize("text", ["5\n", " 5", "+5", "05", "0X5", "0x05", "5.0", "\u0665", "５", "5\u0000",
                                  "21888242871839275222246405745257275088548364400416034343698204186575808495622"])
def test_a_scope_or_nullifier_has_one_text(served, anonymous, field, text):
    """Other texts of one number (or of the same number plus r) would open a second first showing."""
    from zkmargin.field import R

    client, root_id = served
    if text.startswith("2188"):  # a number >= r: r + the value, for BLS12-381's r
        value = SCOPE if field == "scope" else anonymous.nullifier
        text = str(R + value)
    refused(client.post("/v1/verify", json=body(anonymous, root_id, **{field: text})))


def test_a_root_id_in_another_case_is_not_the_registered_root(served, anonymous):
    client, root_id = served
    refused(client.post("/v1/verify", json=body(anonymous, root_id.upper())))


def test_a_named_proof_against_another_snapshot_of_the_venue_needs_that_snapshots_attestation(two_snapshots, material):
    """The attestation of the proof's snapshot does not carry over to the venue's next snapshot (another digest)."""
    client, _, second = two_snapshots
    assert client.post("/v1/circuits", json={"circuit_id": CIRCUIT, "verification_key": material.vk_json},
                       headers=admin_headers()).status_code == 201
    refused(client.post("/v1/verify", json=verify_body(material, snapshot_id="demo-second")), code="attestation_refused")
    attested = client.post("/v1/verify", json=verify_body(
        material, snapshot_id="demo-second", attestation=attestation_json(second, material.commitment)))
    assert attested.status_code == 200 and attested.json()["valid"] is False, attested.text
    as_rival = attestation_json(variant(material.snapshot_json, venue="rival"), material.commitment, RIVAL_KEY)
    refused(client.post("/v1/verify", json=verify_body(material, attestation=as_rival)), code="attestation_refused")


@pytest.mark.parametrize("venue", ["rival\u0000", "ri\u0000val", "rival\n", "\u202erival", " rival"])
def test_a_venue_key_for_a_name_with_nul_or_control_characters_is_4xx(any_client, venue):
    """PostgreSQL text refuses NUL bytes: the name must be refused before the database sees it."""
    from zkmargin.venue.attestation import public_key_to_json

    document = {**public_key_to_json(RIVAL_KEY.public_key("rival")), "venue": venue}
    response = any_client.post("/v1/venues", json=document, headers=admin_headers())
    if venue == "\u202erival" and response.status_code == 201:
        assert response.json()["venue"] == venue  # a visible-looking name, stored exactly (no normalisation)
        return
    refused(response)
