"""POST /v1/books on the verification pool, under its own body limit; stored books parsed once (issue 27 debts)."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest
from cachetools import LRUCache

import zkmargin.verifier_service.routes.books as books_route
from tests.book.proved import SNAPSHOT, published
from tests.verifier_service.books import book_circuit_registration, book_json, path_json, reserves_json
from tests.verifier_service.conftest import VENUE_KEY, admin_headers, make_client, new_key, publish
from zkmargin.book.batches import top_node
from zkmargin.book.document import PublishedBatch, book_to_json, sign_book
from zkmargin.circuits.book_proving import BookVerdict, verify_batch
from zkmargin.groth16.serialization import proof_from_json
from zkmargin.margin.models import snapshot_to_json

JSON = {"Content-Type": "application/json"}
BIG_BATCHES = 300
"""More batches than 256 KiB holds (about 1.4 KB each with one asset)."""


def _client(tmp_path, **settings):
    client = make_client(tmp_path, **settings)
    venue = new_key(client, "venue")
    assert client.post("/v1/circuits", json=book_circuit_registration(), headers=admin_headers()).status_code == 201
    assert publish(client, snapshot_to_json(SNAPSHOT), venue).status_code == 201
    return client, venue


def _refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text


def big_book_json() -> dict:
    """A signed book of BIG_BATCHES batches (each the proved book's batch 0 again, at its own place) over an
    honest top: well-formed and signed, but only its first batch proof verifies."""
    book = published()
    batches = tuple(PublishedBatch(i, book.batches[0].root, book.batches[0].proof, book.batches[0].attested_root)
                    for i in range(BIG_BATCHES))
    depth = 10  # 2^9 slots hold 256 batches of 2
    root = top_node([b.root for b in batches], 1, depth, 1)
    return book_to_json(sign_book(VENUE_KEY, replace(book, depth=depth, root=root, batches=batches, signature=b"")))


def test_a_book_over_256_kib_publishes_and_other_routes_keep_256_kib(tmp_path, monkeypatch):
    """The books route takes ZKMARGIN_MAX_BOOK_BODY_BYTES from a venue's key. Proving 300 real batch proofs takes
    minutes, so the verdict on them is the library's own for the first batch and taken as given for the rest:
    what is under test is that the body is read, checked for its signature and stored whole."""
    client, venue = _client(tmp_path)
    body = json.dumps({"book": big_book_json()}).encode()
    assert 256 * 1024 < len(body) < client.app.state.service.settings.max_book_body_bytes
    checked = []

    def first_batch_only(circuit, vk, snapshot, book, venue_key, backend=None, top=None):
        checked.append(len(book.batches))
        first = book.batches[0]
        assert verify_batch(circuit, vk, snapshot, 0, first.root, first.attested_root, proof_from_json(first.proof),
                            backend)
        return BookVerdict(True)

    monkeypatch.setattr(books_route, "verify_book", first_batch_only)
    posted = client.post("/v1/books", content=body, headers={**venue, **JSON})
    assert posted.status_code == 201, posted.text
    assert checked == [BIG_BATCHES] and posted.json()["batches"] == BIG_BATCHES
    fetched = client.get(f"/v1/books/{SNAPSHOT.venue}/{SNAPSHOT.snapshot_id}")
    assert fetched.status_code == 200 and len(fetched.json()["book"]["batches"]) == BIG_BATCHES
    # The plain limit everywhere else, and on the books route for a key that may not publish.
    verifier = new_key(client, "verifier")
    _refused(client.post("/v1/books", content=body, headers={**verifier, **JSON}), 413, "body_too_large")
    _refused(client.post("/v1/books", content=body, headers=JSON), 413, "body_too_large")
    _refused(client.post("/v1/verify/batch", content=body, headers={**venue, **JSON}), 413, "body_too_large")
    _refused(client.post("/v1/snapshots", content=body, headers={**venue, **JSON}), 413, "body_too_large")


def test_a_book_over_the_books_limit_is_413_json_declared_or_chunked(tmp_path):
    client, venue = _client(tmp_path, max_book_body_bytes=300 * 1024)
    body = json.dumps({"book": big_book_json()}).encode()
    assert len(body) > 300 * 1024
    _refused(client.post("/v1/books", content=body, headers={**venue, **JSON}), 413, "body_too_large")
    chunked = client.post("/v1/books", content=iter([body[:200 * 1024], body[200 * 1024:]]), headers={**venue, **JSON})
    _refused(chunked, 413, "body_too_large")
    assert "307200 bytes" in chunked.json()["error"]["message"]


def test_the_books_limit_is_never_below_the_plain_one(tmp_path):
    client, venue = _client(tmp_path, max_book_body_bytes=1024)
    posted = client.post("/v1/books", json={"book": book_json()}, headers=venue)  # about 5 KB
    assert posted.status_code == 201, posted.text


def test_book_verification_runs_on_the_service_pool(tmp_path, monkeypatch):
    """Not on Starlette's thread pool: the verification threads (ZKMARGIN_WORKER_THREADS) bound it."""
    client, venue = _client(tmp_path)
    threads = []
    real = books_route.verify_book

    def spy(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(books_route, "verify_book", spy)
    assert client.post("/v1/books", json={"book": book_json()}, headers=venue).status_code == 201
    assert len(threads) == 1 and threads[0].startswith("verify"), threads
    # Its errors are the same 4xx JSON from the pool: a book that does not verify, and a malformed one.
    _refused(client.post("/v1/books", json={"book": {**book_json(), "signature": "ab" * 64}}, headers=venue),
             422, "book_refused")
    bad_depth = {**book_json(), "depth": 99}
    assert client.post("/v1/books", json={"book": bad_depth}, headers=venue).status_code == 422


def test_a_stored_book_is_parsed_once_per_process(tmp_path, monkeypatch):
    client, venue = _client(tmp_path)
    real = books_route.parse_book
    parsed = []

    def spy(obj):
        parsed.append(1)
        return real(obj)

    monkeypatch.setattr(books_route, "parse_book", spy)
    url = f"/v1/books/{SNAPSHOT.venue}/{SNAPSHOT.snapshot_id}"
    posted = client.post("/v1/books", json={"book": book_json(), "reserves": reserves_json(10**12)}, headers=venue)
    assert posted.status_code == 201, posted.text
    for _ in range(3):
        assert client.get(url).json() == posted.json()
        assert client.post(f"{url}/check", json=path_json(0)).json()["included"] is True
    assert client.post("/v1/books", json={"book": book_json(), "reserves": reserves_json(10**12)},
                       headers=venue).status_code == 200
    assert len(parsed) == 2  # the two posted bodies; never the stored book again


def test_the_book_cache_is_bounded(tmp_path, monkeypatch):
    client, venue = _client(tmp_path)
    catalog = client.app.state.service.catalog
    catalog.books = LRUCache(1, getsizeof=lambda stored: stored.size)  # smaller than the book's 2 batches
    assert client.post("/v1/books", json={"book": book_json()}, headers=venue).status_code == 201
    assert len(catalog.books) == 0
    real = books_route.parse_book
    parsed = []
    monkeypatch.setattr(books_route, "parse_book", lambda obj: parsed.append(1) or real(obj))
    url = f"/v1/books/{SNAPSHOT.venue}/{SNAPSHOT.snapshot_id}"
    assert client.get(url).status_code == 200 and client.get(url).status_code == 200
    assert len(parsed) == 2 and len(catalog.books) == 0  # answered each time, never kept


@pytest.mark.parametrize(("where", "field"), [("book", "signature"), ("book", "snapshot_digest"),
                                              ("reserves", "signature"), ("reserves", "snapshot_digest")])
def test_upper_case_hex_is_422_json_naming_the_field(tmp_path, where, field):
    client, venue = _client(tmp_path)
    body = {"book": book_json(), "reserves": reserves_json(10**12)}
    body[where] = {**body[where], field: body[where][field].upper()}
    response = client.post("/v1/books", json=body, headers=venue)
    _refused(response, 422, "invalid_request")
    assert f"body.{where}.{field}" in response.json()["error"]["message"]


def test_reserves_with_an_unknown_field_are_422_json(tmp_path):
    client, venue = _client(tmp_path)
    response = client.post("/v1/books", json={"book": book_json(), "reserves": {**reserves_json(1), "note": "x"}},
                           headers=venue)
    _refused(response, 422, "invalid_request")
    assert "body.reserves.note" in response.json()["error"]["message"]


def test_a_book_costing_more_than_the_rate_budget_is_413_not_an_endless_429(tmp_path):
    client, venue = _client(tmp_path, rate_limit_per_minute=BIG_BATCHES - 1)
    response = client.post("/v1/books", json={"book": big_book_json()}, headers=venue)
    _refused(response, 413, "book_too_large")
    assert "ZKMARGIN_RATE_LIMIT_PER_MINUTE" in response.json()["error"]["message"]
    assert client.post("/v1/books", json={"book": book_json()}, headers=venue).status_code == 201
