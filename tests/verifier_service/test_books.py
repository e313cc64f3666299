"""POST /v1/books, GET /v1/books/{venue}/{snapshot_id} and the path check: a venue's book through the service."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from tests.book.proved import ACCOUNTS, HIDDEN_ID, HIDDEN_TOP_ID, SNAPSHOT, TOP_ID, published, signed_root
from tests.verifier_service.books import (
    OTHER_KEY,
    book_circuit_registration,
    book_json,
    hidden_book_json,
    path_json,
    registration,
    reserves_json,
    top_book_json,
)
from tests.verifier_service.conftest import (
    VENUE_KEY,
    admin_headers,
    fresh_postgres_database,
    make_client,
    new_key,
    publish,
)
from zkmargin.book.document import book_to_json, census_json, sign_book
from zkmargin.margin.models import snapshot_to_json


@pytest.fixture
def books(tmp_path, request):
    """(client, venue headers) with the book circuit registered and the book's snapshot published (signed)."""
    on_postgres = getattr(request, "param", None) == "postgresql"
    url = fresh_postgres_database(request.getfixturevalue("postgres")) if on_postgres else f"sqlite:///{tmp_path}/s.db"
    client = make_client(tmp_path, database_url=url)
    venue = new_key(client, "venue")
    assert client.post("/v1/circuits", json=book_circuit_registration(), headers=admin_headers()).status_code == 201
    assert publish(client, snapshot_to_json(SNAPSHOT), venue).status_code == 201
    return client, venue


def refused(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert set(response.json()["error"]) >= {"code", "message"}
    if code is not None:
        assert response.json()["error"]["code"] == code, response.text


def test_publish_fetch_and_check(books):
    client, venue = books
    posted = client.post("/v1/books", json={"book": book_json(), "reserves": reserves_json(10**12)}, headers=venue)
    assert posted.status_code == 201, posted.text
    fetched = client.get(f"/v1/books/{SNAPSHOT.venue}/{SNAPSHOT.snapshot_id}")
    assert fetched.status_code == 200 and fetched.json() == posted.json()
    info = fetched.json()
    assert info["valid"] is True and info["root"] == book_json()["root"]["hash"]
    assert info["totals"] == book_json()["root"]["sums"] and info["book"] == book_json()
    assert [c["asset"] for c in info["coverage"]] == ["A0"] and info["coverage"][0]["covered"] is True
    assert info["census"] == census_json(published().root.sums)  # the proved census by size
    assert sum(int(c["below_maintenance"]) for c in info["census"]) == int(info["totals"]["below_maintenance"]) == 1
    for index in range(len(ACCOUNTS)):
        check = client.post(f"/v1/books/{SNAPSHOT.venue}/{SNAPSHOT.snapshot_id}/check", json=path_json(index))
        assert check.status_code == 200 and check.json()["included"] is True, check.text
        assert check.json()["leaf"] == path_json(index)["leaf"]


def test_a_path_with_a_changed_balance_or_to_another_root_is_not_included(books):
    client, venue = books
    assert client.post("/v1/books", json={"book": book_json()}, headers=venue).status_code == 201
    url = f"/v1/books/{SNAPSHOT.venue}/{SNAPSHOT.snapshot_id}/check"
    richer = copy.deepcopy(path_json(1))
    richer["leaf"]["sums"]["deposits_e8[0]"] = str(int(richer["leaf"]["sums"]["deposits_e8[0]"]) + 1)
    assert client.post(url, json=richer).json()["included"] is False
    other_root = copy.deepcopy(path_json(1))
    other_root["root"]["hash"] = str(int(other_root["root"]["hash"]) ^ 1)
    answer = client.post(url, json=other_root).json()
    assert answer["included"] is False and "another root" in answer["reason"]
    refused(client.post(f"/v1/books/{SNAPSHOT.venue}/other/check", json=path_json(0)), 404, "unknown_book")


def test_the_same_book_again_is_idempotent_and_another_is_refused(books):
    client, venue = books
    first = client.post("/v1/books", json={"book": book_json()}, headers=venue)
    again = client.post("/v1/books", json={"book": book_json()}, headers=venue)
    assert (first.status_code, again.status_code) == (201, 200) and again.json() == first.json()
    # Another book for the same snapshot (here: the same proofs with reserves attached) never overwrites.
    refused(client.post("/v1/books", json={"book": book_json(), "reserves": reserves_json(1)}, headers=venue),
            409, "already_published")
    assert client.get(f"/v1/books/{SNAPSHOT.venue}/{SNAPSHOT.snapshot_id}").json()["reserves"] is None


def test_a_book_that_does_not_verify_or_is_not_the_venues_is_refused(books):
    client, venue = books
    other_venue = book_to_json(sign_book(OTHER_KEY, replace(published(), signature=b"")))
    tampered_proof = copy.deepcopy(book_json())
    tampered_proof["batches"][1]["proof"]["pi_a"], tampered_proof["batches"][1]["proof"]["pi_c"] = (
        tampered_proof["batches"][1]["proof"]["pi_c"], tampered_proof["batches"][1]["proof"]["pi_a"])
    # A total the venue signed but the batches do not sum to: re-signed so only the top check can catch it.
    lower = replace(published().root, sums=replace(published().root.sums, accounts=published().root.sums.accounts - 1))
    tampered_total = book_to_json(sign_book(VENUE_KEY, replace(published(), root=lower)))
    unsigned_total = copy.deepcopy(book_json())
    unsigned_total["root"]["sums"]["accounts"] = "2"
    cases = {"another venue's key": (other_venue, 422, "book_refused"),
             "tampered proof": (tampered_proof, 422, "book_refused"),
             "tampered total": (tampered_total, 422, "book_refused"),
             "total not signed": (unsigned_total, 422, "book_refused")}
    for name, (document, status, code) in cases.items():
        response = client.post("/v1/books", json={"book": document}, headers=venue)
        refused(response, status, code)
        assert name and client.get(f"/v1/books/{SNAPSHOT.venue}/{SNAPSHOT.snapshot_id}").status_code == 404
    verdict = client.post("/v1/books", json={"book": tampered_proof}, headers=venue).json()["error"]["message"]
    assert "batch 1" in verdict
    assert "top" in client.post("/v1/books", json={"book": tampered_total}, headers=venue).json()["error"]["message"]
    # Reserves signed by another key, and a book of a snapshot the venue never published.
    refused(client.post("/v1/books", json={"book": book_json(), "reserves": reserves_json(1, OTHER_KEY)},
                        headers=venue), 422, "book_refused")
    elsewhere = copy.deepcopy(book_json())
    elsewhere["snapshot_id"] = "not-published"
    refused(client.post("/v1/books", json={"book": elsewhere}, headers=venue), 422)
    relabelled = book_to_json(sign_book(VENUE_KEY, replace(published(), snapshot_id="not-published",
                                                           signature=b"")))
    refused(client.post("/v1/books", json={"book": relabelled}, headers=venue), 404, "unknown_snapshot")


def test_a_book_for_another_venues_snapshot_is_refused(books):
    client, venue = books
    # Venue "second" registers its own key and publishes a snapshot under the same id with other prices.
    second = replace(SNAPSHOT, venue="second", assets=(replace(SNAPSHOT.assets[0], price_e8=2 * 10**8),))
    assert publish(client, snapshot_to_json(second), venue, OTHER_KEY).status_code == 201
    # The first venue's book relabelled as the second's: signed by the second venue's key, but of another snapshot.
    claimed = book_to_json(sign_book(OTHER_KEY, replace(published(), venue="second", signature=b"")))
    refused(client.post("/v1/books", json={"book": claimed}, headers=venue), 422, "book_refused")
    # Named as the second venue's but signed by the first venue's key.
    forged = book_to_json(sign_book(VENUE_KEY, replace(published(), venue="second", signature=b"")))
    refused(client.post("/v1/books", json={"book": forged}, headers=venue), 422, "book_refused")


def test_bad_requests_are_4xx_json(books):
    client, venue = books
    unknown_top = {"book": book_json(), "extra": 1}
    unknown_inner = {"book": {**book_json(), "extra": 1}}
    unknown_batch = copy.deepcopy(book_json())
    unknown_batch["batches"][0]["extra"] = 1
    for body in (unknown_top, unknown_inner, {"book": unknown_batch}, {}, {"book": None}, {"book": {"format": 1}}):
        refused(client.post("/v1/books", json=body, headers=venue), 422)
    refused(client.post("/v1/books", content=b'{"book": ', headers={**venue, "Content-Type": "application/json"}),
            422)
    refused(client.post("/v1/books", json={"book": book_json()}), 401)
    refused(client.post("/v1/books", json={"book": book_json()}, headers=new_key(client, "verifier")), 403)
    oversize = b'{"book": "' + b"x" * (300 * 1024) + b'"}'
    # Over the 256 KiB of other routes: within a venue's books limit (then refused for what it is), not another key's.
    refused(client.post("/v1/books", content=oversize, headers={**venue, "Content-Type": "application/json"}), 422)
    refused(client.post("/v1/books", content=oversize, headers={**new_key(client, "verifier"),
                                                                 "Content-Type": "application/json"}), 413)
    assert client.post("/v1/books", json={"book": book_json()}, headers=venue).status_code == 201
    url = f"/v1/books/{SNAPSHOT.venue}/{SNAPSHOT.snapshot_id}/check"
    bad_sums = copy.deepcopy(path_json(0))
    bad_sums["leaf"]["sums"]["accounts"] = "-1"
    for body in ({**path_json(0), "salt": "1"}, {"format": "x"}, bad_sums, [], {**path_json(0), "index": -1}):
        refused(client.post(url, json=body), 422)
    refused(client.get(f"/v1/books/{SNAPSHOT.venue}/nothing"), 404, "unknown_book")


@pytest.mark.parametrize("books", ["postgresql"], indirect=True)
def test_books_on_postgres(books):
    client, venue = books
    assert client.post("/v1/books", json={"book": book_json()}, headers=venue).status_code == 201
    assert client.post("/v1/books", json={"book": book_json()}, headers=venue).status_code == 200
    refused(client.post("/v1/books", json={"book": book_json(), "reserves": reserves_json(1)}, headers=venue), 409)
    check = client.post(f"/v1/books/{SNAPSHOT.venue}/{SNAPSHOT.snapshot_id}/check", json=path_json(2))
    assert check.json()["included"] is True


def test_each_batch_proof_spends_the_venues_rate_budget(tmp_path):
    client = make_client(tmp_path, rate_limit_per_minute=4)
    venue = new_key(client, "venue")
    assert client.post("/v1/circuits", json=book_circuit_registration(), headers=admin_headers()).status_code == 201
    assert publish(client, snapshot_to_json(SNAPSHOT), venue).status_code == 201  # 1 of 4
    # The request (1) and its two batch proofs (2): 4 of 4; the same book again finds the budget spent.
    assert client.post("/v1/books", json={"book": book_json()}, headers=venue).status_code == 201
    refused(client.post("/v1/books", json={"book": book_json()}, headers=venue), 429, "rate_limited")


def test_a_book_refused_while_its_answer_is_computed_is_not_stored(books, monkeypatch):
    """Reserves that cannot be set against the liabilities (here: P&L owed in a settlement asset not priced at 1,
    which liabilities_e8 refuses) are refused before the book is stored: stored first, the book would answer every
    later GET with the same error and could never be replaced."""
    from zkmargin.errors import EncodingError
    from zkmargin.verifier_service.routes import books as books_route

    def unpriced(*_args: object) -> list:
        raise EncodingError("the settlement asset 'A0' must be priced at exactly 1 (the price unit)")

    client, venue = books
    monkeypatch.setattr(books_route, "coverage", unpriced)
    refused(client.post("/v1/books", json={"book": book_json(), "reserves": reserves_json(10**12)}, headers=venue),
            422, "book_refused")
    refused(client.get(f"/v1/books/{SNAPSHOT.venue}/{SNAPSHOT.snapshot_id}"), 404, "unknown_book")
    monkeypatch.undo()
    assert client.post("/v1/books", json={"book": book_json()}, headers=venue).status_code == 201


def test_a_book_whose_leaves_are_not_the_venues_attested_accounts_is_refused(books):
    """The book carries a root the venue signed over its accounts in another order (or signed by a key the
    service does not hold for the venue, or none): the batches' attested roots do not fold to it."""
    client, venue = books
    reordered = signed_root(VENUE_KEY, order=(1, 0, 2))
    document = book_to_json(sign_book(VENUE_KEY, replace(published(), signature=b"", signed_root=reordered)))
    answer = client.post("/v1/books", json={"book": document}, headers=venue)
    refused(answer, 422, "book_refused")
    assert "attested roots do not fold" in answer.json()["error"]["message"]
    foreign = book_to_json(sign_book(VENUE_KEY, replace(published(), signature=b"", signed_root=signed_root(OTHER_KEY))))
    answer = client.post("/v1/books", json={"book": foreign}, headers=venue)
    refused(answer, 422, "book_refused")
    assert "signed root is not the venue's" in answer.json()["error"]["message"]
    bare = {k: v for k, v in book_json().items() if k != "signed_root"}
    refused(client.post("/v1/books", json={"book": bare}, headers=venue), 422)
    assert client.get(f"/v1/books/{SNAPSHOT.venue}/{SNAPSHOT.snapshot_id}").status_code == 404


@pytest.fixture
def hidden_books(books):
    """books with the hidden batch circuit and both top circuits registered."""
    client, venue = books
    for circuit_id in (HIDDEN_ID, HIDDEN_TOP_ID, TOP_ID):
        assert client.post("/v1/circuits", json=registration(circuit_id), headers=admin_headers()).status_code == 201
    return client, venue


def test_a_hidden_book_is_published_with_reserves_covering_liabilities_and_no_total(hidden_books):
    client, venue = hidden_books
    posted = client.post("/v1/books", json={"book": hidden_book_json()}, headers=venue)
    assert posted.status_code == 201, posted.text
    info = client.get(f"/v1/books/{SNAPSHOT.venue}/{SNAPSHOT.snapshot_id}").json()
    assert info == posted.json()
    assert (info["mode"], info["totals"], info["root"]) == ("hidden", None, hidden_book_json()["root_hash"])
    assert info["coverage"] == [{"asset": "A0", "liabilities_e8": None, "reserves_e8": hidden_book_json()["reserves"]
                                 ["reserves_e8"]["A0"], "covered": True, "ratio": None}]
    assert "sums" not in str(info["book"])
    # A trader's path (it shows that trader its siblings' sums) leads to the hidden book's root.
    check = client.post(f"/v1/books/{SNAPSHOT.venue}/{SNAPSHOT.snapshot_id}/check", json=path_json(1))
    assert check.status_code == 200 and check.json()["included"] is True, check.text


def test_a_hidden_book_with_short_or_unsigned_reserves_or_a_forged_top_is_refused(hidden_books):
    client, venue = hidden_books
    short = copy.deepcopy(hidden_book_json())
    short["reserves"] = reserves_json(int(short["reserves"]["reserves_e8"]["A0"]) - 1)  # signed, 1e-8 short
    unsigned = copy.deepcopy(hidden_book_json())
    unsigned["reserves"]["reserves_e8"]["A0"] = str(10**12)  # more than signed
    auditor_top = copy.deepcopy(hidden_book_json())
    auditor_top["top"]["proof"] = top_book_json()["top"]["proof"]  # another statement's proof under the signed id
    for document, words in ((short, "top"), (unsigned, "signature"), (auditor_top, "top")):
        response = client.post("/v1/books", json={"book": document}, headers=venue)
        refused(response, 422, "book_refused")
        assert words in response.json()["error"]["message"], response.text
    beside = client.post("/v1/books", json={"book": hidden_book_json(), "reserves": reserves_json(1)}, headers=venue)
    refused(beside, 422, "book_refused")
    refused(client.get(f"/v1/books/{SNAPSHOT.venue}/{SNAPSHOT.snapshot_id}"), 404, "unknown_book")


def test_an_auditor_book_with_its_top_proof_is_checked_and_its_top_must_be_registered(books):
    client, venue = books
    refused(client.post("/v1/books", json={"book": top_book_json()}, headers=venue), 404, "unknown_circuit")
    assert client.post("/v1/circuits", json=registration(TOP_ID), headers=admin_headers()).status_code == 201
    forged = copy.deepcopy(top_book_json())
    forged["top"]["proof"]["pi_a"], forged["top"]["proof"]["pi_c"] = forged["top"]["proof"]["pi_c"], \
        forged["top"]["proof"]["pi_a"]
    refused(client.post("/v1/books", json={"book": forged}, headers=venue), 422, "book_refused")
    posted = client.post("/v1/books", json={"book": top_book_json()}, headers=venue)
    assert posted.status_code == 201, posted.text
    assert posted.json()["mode"] == "auditor" and posted.json()["book"]["top"]["circuit_id"] == TOP_ID
