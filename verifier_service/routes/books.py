"""POST /v1/books, GET /v1/books/{venue}/{snapshot_id}, POST .../check: a venue's proof of liabilities.

A venue publishes the book of one of its published snapshots (docs/book.md): the service checks the
venue's signature with the venue's registered key, then every batch proof, the top and the book's
leaves against the venue's signed root it carries (checked with the same key) with the library's
verify_book (on the verification pool, as the verify routes), and stores the book only when it verifies.
A stored book is parsed once per process (the catalog's bounded book cache). A book is never replaced: the
same book again is answered with the stored one, another book for the same snapshot is a 409.

The check route takes a trader's inclusion path and says whether it leads to the published root and
totals, returning the figures its leaf counts. It cannot say that the leaf is the trader's own
account: that needs the account and the salt of its commitment, secrets that stay with the trader
(`zkmargin book check` compares them offline).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from fastapi import APIRouter, Request, Response

from zkmargin.book.document import (
    AnyBook,
    HiddenBook,
    book_to_json,
    census_json,
    check_book_signature,
    node_to_json,
    parse_book,
    parse_path,
)
from zkmargin.book.reserves import check_reserves, coverage, parse_reserves, reserves_to_json
from zkmargin.circuits.book_proving import book_statement, verify_book, verify_hidden_book
from zkmargin.errors import ZkMarginError
from zkmargin.verifier_service.deps import (
    KEY_OPTIONAL_OPENAPI,
    Caller,
    Reader,
    ServiceState,
    State,
    Venue,
    charge,
    in_pool,
    now_iso,
)
from zkmargin.verifier_service.errors import ApiError, refuse_unless
from zkmargin.verifier_service.repository import BookRecord
from zkmargin.verifier_service.routes.snapshots import SnapshotId
from zkmargin.verifier_service.routes.venues import VenueName
from zkmargin.verifier_service.schemas import (
    AssetCoverageJson,
    BookCheck,
    BookIn,
    BookInfo,
    BookJson,
    BookNodeJson,
    BookPathJson,
    CensusBucketJson,
    HiddenBookJson,
    ReservesJson,
    error_responses,
)
from zkmargin.verifier_service.strict_json import StrictJsonRoute
from zkmargin.verifier_service.verification import StoredBook

router = APIRouter(prefix="/v1/books", tags=["books"], route_class=StrictJsonRoute)


def _canonical(document: dict) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def _info(record: BookRecord, book: AnyBook, state: ServiceState) -> BookInfo:
    if isinstance(book, HiddenBook):  # its top proof showed every asset covered; no total is known
        snapshot, _ = state.catalog.snapshot(record.venue, record.snapshot_id)
        held = book.reserves.reserves_e8
        covered_hidden = [AssetCoverageJson(asset=a.asset, liabilities_e8=None, reserves_e8=str(held.get(a.asset, 0)),
                                            covered=True, ratio=None) for a in snapshot.assets]
        return BookInfo(venue=record.venue, snapshot_id=record.snapshot_id, circuit_id=record.circuit_id,
                        root=record.root, mode="hidden", totals=None, census=None, batches=len(book.batches),
                        valid=True, published_at=record.published_at, book=HiddenBookJson(**json.loads(record.document)),
                        reserves=ReservesJson(**reserves_to_json(book.reserves)), coverage=covered_hidden)
    covered = None
    reserves = None if record.reserves is None else json.loads(record.reserves)
    if reserves is not None:
        snapshot, _ = state.catalog.snapshot(record.venue, record.snapshot_id)
        covered = [AssetCoverageJson(asset=c.asset, liabilities_e8=str(c.liabilities_e8),
                                     reserves_e8=str(c.reserves_e8), covered=c.covered,
                                     ratio=None if c.ratio is None else str(c.ratio))
                   for c in coverage(book.root.sums, snapshot, parse_reserves(reserves))]
    return BookInfo(venue=record.venue, snapshot_id=record.snapshot_id, circuit_id=record.circuit_id,
                    root=record.root, mode="auditor", totals=node_to_json(book.root)["sums"],
                    census=[CensusBucketJson(**row) for row in census_json(book.root.sums)],
                    batches=len(book.batches), valid=True,
                    published_at=record.published_at, book=BookJson(**json.loads(record.document)),
                    reserves=None if reserves is None else ReservesJson(**reserves), coverage=covered)


def _load(state: ServiceState) -> Callable[[BookRecord], StoredBook]:
    def load(record: BookRecord) -> StoredBook:
        book = parse_book(json.loads(record.document))
        return StoredBook(record, book, _info(record, book, state))
    return load


def _refuse(reason: str) -> ApiError:
    return ApiError(422, "book_refused", reason)


@router.post("", status_code=201, response_model=BookInfo,
             responses=error_responses(401, 403, 404, 409, 413, 422, 429, 503))
async def publish_book(body: BookIn, request: Request, response: Response, state: State, caller: Venue) -> BookInfo:
    """Publish the book of a venue's published snapshot (venue API key), with its signed reserves if given.

    Accepted only when the venue's registered key signed it (and the reserves), for the snapshot the venue
    published under its id, and every batch proof and the top verify against the registered circuit's key
    (else 422 `book_refused`). Each batch proof costs one more unit of the key's rate budget, as on
    POST /v1/verify/batch, and is checked on the service's verification threads (ZKMARGIN_WORKER_THREADS).
    The body may be up to ZKMARGIN_MAX_BOOK_BODY_BYTES (16 MiB) with a venue's key. The same book again is
    answered 200 with the stored one; another book for a snapshot that has one is 409 `already_published`:
    books are never replaced.
    """
    cost = max(1, len(body.book.batches)) + (body.book.top is not None)  # every batch and the top: a proof each
    if cost > state.limiter.per_minute:
        # A book costing more than the whole per-minute budget could never pass: 413, not an endless 429.
        raise ApiError(413, "book_too_large", f"a book of {cost} batches costs more than the rate budget of "
                       f"{state.limiter.per_minute} per minute (ZKMARGIN_RATE_LIMIT_PER_MINUTE)")
    charge(request, state, caller, cost)
    stored, created = await in_pool(state, functools.partial(_publish, caller=caller), body)
    if not created:
        response.status_code = 200
    return stored.answer


def _publish(state: ServiceState, body: BookIn, caller: Caller) -> tuple[StoredBook, bool]:
    """(the stored book, whether this request stored it); on the verification pool: parsing, signatures and
    every batch proof are CPU-bound."""
    book = parse_book(body.book.model_dump(exclude_none=True))
    key = state.catalog.venue_key(book.venue)
    if key is None:
        raise _refuse(f"venue {book.venue!r} has no registered key to check the book with")
    refuse_unless(check_book_signature, book, key, code="book_refused")
    snapshot, digest = state.catalog.snapshot(book.venue, book.snapshot_id)
    if book.snapshot_digest.hex() != digest:
        raise _refuse(f"the book is of another snapshot than venue {book.venue!r}'s {book.snapshot_id!r}")
    reserves = None
    if isinstance(book, HiddenBook) and body.reserves is not None:
        raise _refuse("a hidden book carries its reserves: send none beside it")
    if body.reserves is not None or isinstance(book, HiddenBook):
        reserves = book.reserves if isinstance(book, HiddenBook) else parse_reserves(body.reserves.model_dump())
        refuse_unless(check_reserves, reserves, key, snapshot, code="book_refused")
        if reserves.snapshot_id != book.snapshot_id:
            raise _refuse("the reserves name another snapshot id than the book")
    circuit, vk = state.catalog.circuit(book.circuit_id)
    top = None if book.top is None else state.catalog.circuit(book.top.circuit_id)
    try:
        book_statement(circuit)
    except ZkMarginError as exc:
        raise _refuse(str(exc)) from None
    if isinstance(book, HiddenBook):
        verdict = verify_hidden_book(circuit, vk, snapshot, book, key, top, state.backend)
        reserves = None  # stored inside the book's document
    else:
        verdict = verify_book(circuit, vk, snapshot, book, key, state.backend, top)
    if not verdict.valid:
        where = "the top" if verdict.failing_batch is None else f"batch {verdict.failing_batch}"
        raise _refuse(f"the book does not verify at {where}: {verdict.reason}")
    root_hash = book.root_hash if isinstance(book, HiddenBook) else book.root.hash
    record = BookRecord(book.venue, book.snapshot_id, book.circuit_id, str(root_hash),
                        _canonical(book_to_json(book)),
                        None if reserves is None else _canonical(reserves_to_json(reserves)), caller.key_id, now_iso())
    # The answer (reserves against liabilities) is computed before the book is stored: a book stored and then
    # refused would answer every later GET with the same error, and books are never replaced.
    try:
        info = _info(record, book, state)
    except ZkMarginError as exc:
        raise _refuse(f"the book cannot be published: {exc}") from None
    existing = state.repository.insert_book(record)
    if existing is None:
        stored = StoredBook(record, book, info)
        state.catalog.keep_book(stored)  # the next GET or check reads it parsed
        return stored, True
    if (existing.document, existing.reserves) != (record.document, record.reserves):
        raise ApiError(409, "already_published", f"venue {book.venue!r} already published a book for snapshot "
                       f"{book.snapshot_id!r}; books are never replaced")
    return _stored(state, book.venue, book.snapshot_id), False


def _stored(state: ServiceState, venue: str, snapshot_id: str) -> StoredBook:
    stored = state.catalog.stored_book(venue, snapshot_id, _load(state))
    if stored is None:
        raise ApiError(404, "unknown_book", f"venue {venue!r} has published no book for snapshot {snapshot_id!r}")
    return stored


@router.get("/{venue}/{snapshot_id}", response_model=BookInfo, responses=error_responses(401, 404, 422, 429, 503),
            openapi_extra=KEY_OPTIONAL_OPENAPI)
def get_book(venue: VenueName, snapshot_id: SnapshotId, state: State, _: Reader) -> BookInfo:
    """A venue's published book with its verdict, and its reserves against liabilities per asset when given."""
    return _stored(state, venue, snapshot_id).answer


@router.post("/{venue}/{snapshot_id}/check", response_model=BookCheck,
             responses=error_responses(401, 404, 422, 429, 503), openapi_extra=KEY_OPTIONAL_OPENAPI)
def check_path(venue: VenueName, snapshot_id: SnapshotId, body: BookPathJson, state: State, _: Reader) -> BookCheck:
    """Whether a trader's inclusion path leads from its leaf to the published root and totals, with the figures
    its leaf counts. The trader compares those with its own account offline (`zkmargin book check`): the account
    and its commitment's salt never leave it."""
    stored = _stored(state, venue, snapshot_id)
    book = stored.book
    account_id, path = parse_path(body.model_dump())
    reason = ""
    if isinstance(book, HiddenBook) and path.root.hash != book.root_hash:
        reason = "the path leads to another root than the published book's"
    elif not isinstance(book, HiddenBook) and path.root != book.root:
        reason = "the path leads to another root or other totals than the published book's"
    elif not path.verify():
        reason = "the path does not lead from its leaf to the published root and totals"
    return BookCheck(included=not reason, account_id=account_id, index=path.index,
                     leaf=BookNodeJson(**node_to_json(path.leaf)), root=stored.record.root, reason=reason)
