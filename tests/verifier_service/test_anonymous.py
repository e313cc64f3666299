"""Anonymous mode (#12 item 5): /v1/verify and /v1/verify/batch take a registered root's id in place of a
commitment and its attestation; receipts record the mode, the root id, the scope and the nullifier, and say
when a valid proof had already shown the nullifier in the same scope. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.verifier_service.conftest import CIRCUIT, attestation_json, new_key, publish
from tests.verifier_service.membership import (  # noqa: F401 - the fixtures anonymous and served, used by name
    CONTEXT,
    MEMBER,
    SCOPE,
    anonymous,
    body,
    register_root,
    served,
)


def test_an_anonymous_proof_verifies_and_its_receipt_records_the_mode_root_and_nullifier(served, anonymous):
    client, root_id = served
    response = client.post("/v1/verify", json=body(anonymous, root_id))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["valid"] is True and result["mode"] == "anonymous" and result["commitment"] is None
    assert (result["root_id"], result["scope"], result["nullifier"]) == (root_id, str(SCOPE), str(anonymous.nullifier))
    assert result["nullifier_seen_before"] is False and result["attestation"] is None
    assert result["snapshot_id"] == anonymous.snapshot_json["snapshot_id"]
    receipt = client.get(f"/v1/receipts/{result['receipt_id']}").json()
    assert {k: receipt[k] for k in result} == result
    # The recipe in docs/service.md recomputes the input digest from the receipt alone.
    digested = {k: receipt[k] for k in ("circuit_id", "snapshot_id", "snapshot_digest", "root_id", "scope",
                                        "nullifier", "context", "valid")}
    text = json.dumps({**digested, "proof": receipt["proof_hex"]}, sort_keys=True, separators=(",", ":"))
    assert hashlib.sha256(text.encode()).hexdigest() == receipt["input_digest"]
    # The same account proving again in the same scope: reported, not hidden (and still valid).
    again = client.post("/v1/verify", json=body(anonymous, root_id)).json()
    assert again["valid"] is True and again["nullifier_seen_before"] is True
    # In another scope its nullifier is another, unlinkable one.
    other = client.post("/v1/verify", json=body(anonymous, root_id, scope=str(SCOPE + 1),
                                                 nullifier=str(anonymous.other_scope_nullifier),
                                                 proof=anonymous.other_scope_proof_json)).json()
    assert other["valid"] is True and other["nullifier_seen_before"] is False
    assert anonymous.other_scope_nullifier != anonymous.nullifier


def test_one_account_in_one_scope_under_a_second_snapshot_is_seen_before(served, anonymous):
    """Issue 22 item 2: alice commits afresh for the next snapshot (new salt, new commitment, new root) and proves
    in the same scope: the nullifier is her identity secret's, so the service reports the second showing."""
    client, root_id = served
    assert publish(client, anonymous.later_snapshot_json, new_key(client, "venue")).status_code == 201
    later_root = register_root(client, anonymous, anonymous.later_signed_root,
                               anonymous.later_snapshot_json["snapshot_id"])
    assert anonymous.later_signed_root["root"] != anonymous.signed_root["root"]
    assert anonymous.later_nullifier == anonymous.nullifier
    first = client.post("/v1/verify", json=body(anonymous, root_id)).json()
    later = client.post("/v1/verify", json=body(anonymous, later_root, proof=anonymous.later_proof_json)).json()
    assert first["valid"] is True and first["nullifier_seen_before"] is False
    assert later["valid"] is True and later["snapshot_id"] == anonymous.later_snapshot_json["snapshot_id"]
    assert later["nullifier_seen_before"] is True


@pytest.mark.parametrize("change", [{"nullifier": "12345"}, {"scope": "6"}, {"context": "9"}])
def test_a_wrong_scope_nullifier_or_context_is_a_negative_verdict_and_no_showing(served, anonymous, change):
    client, root_id = served
    result = client.post("/v1/verify", json=body(anonymous, root_id, **change)).json()
    assert result["valid"] is False and result["nullifier_seen_before"] is None
    assert client.post("/v1/verify", json=body(anonymous, root_id)).json()["nullifier_seen_before"] is False


def test_the_snapshot_is_the_roots(served, anonymous):
    client, root_id = served
    named = client.post("/v1/verify", json=body(anonymous, root_id, snapshot_id=anonymous.snapshot_json["snapshot_id"]))
    assert named.status_code == 200 and named.json()["valid"] is True
    other = client.post("/v1/verify", json=body(anonymous, root_id, snapshot_id="another"))
    assert other.status_code == 422 and "belongs to snapshot" in other.json()["error"]["message"]


@pytest.mark.parametrize("change, status, code", [
    ({"root_id": "0" * 64}, 404, "unknown_root"),
    ({"root_id": "not-hex"}, 422, "invalid_request"),
    ({"scope": None}, 422, "invalid_request"),
    ({"nullifier": None}, 422, "invalid_request"),
    ({"commitment": "1"}, 422, "invalid_request"),
    ({"attestation": {"format": "x", "scheme": "x", "venue": "x", "snapshot_digest": "x", "account_id": "x",
                      "commitment": "1", "signature": "x"}}, 422, "invalid_request"),
    ({"circuit_id": CIRCUIT}, 422, "invalid_input"),
    ({"nullifier": str(2**255)}, 422, "invalid_input"),
])
def test_bad_anonymous_requests_are_4xx(served, anonymous, change, status, code):
    client, root_id = served
    response = client.post("/v1/verify", json=body(anonymous, root_id, **change))
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_a_membership_circuit_takes_no_commitment(served, anonymous, material):
    client, _ = served
    response = client.post("/v1/verify", json={
        "circuit_id": MEMBER, "snapshot_id": anonymous.snapshot_json["snapshot_id"], "commitment": "1",
        "context": "1", "proof": anonymous.proof_json, "attestation": attestation_json(anonymous.snapshot_json, 1)})
    assert response.status_code == 422 and "membership" in response.json()["error"]["message"]


def test_a_root_of_another_depth_than_the_circuits_is_refused(served, anonymous):
    client, _ = served
    deeper = register_root(client, anonymous, anonymous.deeper_root)
    response = client.post("/v1/verify", json=body(anonymous, deeper))
    assert response.status_code == 422 and response.json()["error"]["code"] == "attestation_refused"
    assert "depth" in response.json()["error"]["message"]


def test_anonymous_batch(served, anonymous):
    client, root_id = served
    good = {"scope": str(SCOPE), "nullifier": str(anonymous.nullifier), "context": str(CONTEXT),
            "proof": anonymous.proof_json}
    items = [{**good, "id": "first"}, {**good, "id": "again"}, {**good, "id": "wrong", "nullifier": "7"},
             {**good, "id": "bad", "scope": "01"}, {**good, "id": "named", "commitment": "1"}]
    response = client.post("/v1/verify/batch", json={"circuit_id": MEMBER, "root_id": root_id, "items": items},
                           headers=new_key(client, "verifier"))
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["valid"], result["invalid"], result["malformed"], result["refused"]) == (2, 1, 2, 0)
    first, again, wrong, bad, named = result["results"]
    assert "canonical" in bad["error"] and "commitment" in named["error"]
    receipts = [client.get(f"/v1/receipts/{r['receipt_id']}").json() for r in (first, again, wrong)]
    assert [r["nullifier_seen_before"] for r in receipts] == [False, True, None]
    assert all(r["mode"] == "anonymous" and r["root_id"] == root_id for r in receipts)
    # A batch names a root or a snapshot, not neither.
    neither = client.post("/v1/verify/batch", json={"circuit_id": MEMBER, "items": items})
    assert neither.status_code == 422 and neither.json()["error"]["code"] == "invalid_request"


def test_a_named_batch_item_with_anonymous_fields_is_malformed(served, anonymous, material):
    client, _ = served
    item = {"commitment": str(material.commitment), "context": str(material.context), "proof": material.proof_json,
            "attestation": material.attestation_json}
    response = client.post("/v1/verify/batch", json={
        "circuit_id": CIRCUIT, "snapshot_id": anonymous.snapshot_json["snapshot_id"],
        "items": [item, {**item, "scope": "5", "nullifier": "6"}]})
    assert response.status_code == 200, response.text
    good, mixed = response.json()["results"]
    assert good["valid"] is True and good["nullifier_seen_before"] is None
    assert "anonymous mode" in mixed["error"] and mixed["receipt_id"] is None
    named_circuit_on_a_root = client.post("/v1/verify/batch", json={
        "circuit_id": CIRCUIT, "root_id": served[1], "items": [item]})
    assert named_circuit_on_a_root.status_code == 422
    assert "not a membership circuit" in named_circuit_on_a_root.json()["error"]["message"]


def test_coalesced_anonymous_requests_share_a_batch_check_and_report_showings_in_request_order(
        served, anonymous, material, batch_sizes):
    """One job of anonymous and named requests: each its own verdict; the second showing of a nullifier in the
    job is reported as seen before, as it would be one request after the other."""
    from tests.verifier_service.conftest import verify_body
    from zkmargin.verifier_service import verification
    from zkmargin.verifier_service.schemas import VerifyRequest

    client, root_id = served
    state = client.app.state.service
    requests = [verification.Submission(VerifyRequest(**fields), "verifier-key") for fields in (
        body(anonymous, root_id), body(anonymous, root_id, context="9"),
        verify_body(material, snapshot_id=anonymous.snapshot_json["snapshot_id"]), body(anonymous, root_id))]
    outcomes = verification.verify_many_and_record(state, requests)
    assert batch_sizes == [3]  # the named request is alone in its (circuit, snapshot) group
    assert [o.valid for o in outcomes] == [True, False, True, True]
    assert [o.nullifier_seen_before for o in outcomes] == [False, None, None, True]
    assert [o.mode for o in outcomes] == ["anonymous", "anonymous", "named", "anonymous"]
