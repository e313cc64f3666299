"""The published book and a trader's inclusion path as JSON, with strict decoders (EncodingError on anything off).

book.json ("zkmargin-book/1"): venue, circuit_id, snapshot_id, snapshot_digest (hex), depth, batch_depth,
root {hash, sums}, batches [{index, root {hash, sums}, attested_root, proof (snarkjs JSON)}], signature (128
lower-case hex digits; "" before signing), signed_root (the venue run's root.json: the venue's signed Merkle root
over its attested accounts, which the batches' attested roots must fold to). Every number is a canonical decimal
string; sums are named as in sum_names; hex is lower case only and unknown fields are refused (one spelling per book).
The signature is the venue's Ed25519 signature (its attestation key) over
b"zkmargin/book/v1\0" || snapshot digest || canonical JSON (sorted keys, no spaces) of {venue,
circuit_id, snapshot_id, depth, batch_depth, root, signed_root (its root.json, or null)}: the venue stands by
this root and these totals for this snapshot, tied to this signed root (the batches need no signature: the proofs
and the top check tie them to the root; the signed root is covered because a trader's `book check` compares it
with its own membership root without verifying the batch proofs that fix it).
An auditor-mode book may also carry "top" {circuit_id, proof}: the top statement's proof
(circuits.book_top) of the root over the batch roots and the totals; the signature does not cover
it (the proof ties it to the signed root).
hidden-book.json ("zkmargin-book-hidden/1", totals hidden): venue, circuit_id (a -h batch circuit),
snapshot_id, snapshot_digest, depth, batch_depth, root_hash, batches [{index, root_hash,
attested_root, proof}], top {circuit_id, proof} (a -h top: reserves >= liabilities), reserves (the
venue's signed reserves statement, zkmargin.book.reserves), signed_root (as in book.json: the
batches' attested roots fold to it), signature: the venue's Ed25519 signature over
b"zkmargin/book-hidden/v1\0" || snapshot digest || canonical JSON of {venue, circuit_id,
top_circuit_id, snapshot_id, depth, batch_depth, root_hash, signed_root (or null)}, for the same reason
as book.json's. No sum appears anywhere in it.
path.json ("zkmargin-book-path/1"): account_id, index, leaf, siblings (bottom up), root; each a
{hash, sums} node (in hidden mode too: a path shows its trader the sums of its siblings, and so the totals).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from zkmargin.book.reference import BookSums, census_by_size, sum_names, sums_from_fields
from zkmargin.book.reserves import SignedReserves, parse_reserves, reserves_to_json
from zkmargin.book.strict import DIGEST_BYTES, SIGNATURE_BYTES, strict_object
from zkmargin.book.tree import BookNode, BookPath, check_depth
from zkmargin.errors import BadSignatureError, EncodingError, WrongVenueError
from zkmargin.field import R
from zkmargin.groth16.serialization import parse_decimal, parse_hex
from zkmargin.venue.attestation import (
    SignedRoot,
    VenuePublicKey,
    VenueSigningKey,
    parse_signed_root,
    signed_root_to_json,
)

BOOK_FORMAT = "zkmargin-book/1"
BOOK_LABEL = b"zkmargin/book/v1\x00"
HIDDEN_FORMAT = "zkmargin-book-hidden/1"
HIDDEN_LABEL = b"zkmargin/book-hidden/v1\x00"
PATH_FORMAT = "zkmargin-book-path/1"


@dataclass(frozen=True)
class PublishedBatch:
    """One batch as published: its place, its root (hash and sums), its proof (snarkjs JSON, decoded on use) and
    its attested root (the venue tree's node over its slots, zkmargin.book.batches.attested_batch_root)."""

    index: int
    root: BookNode
    proof: Any
    attested_root: int


@dataclass(frozen=True)
class PublishedTop:
    """A top proof as published: its circuit (book-top-...) and its proof (snarkjs JSON, decoded on use)."""

    circuit_id: str
    proof: Any


@dataclass(frozen=True)
class BookHead:
    """What a published book names in either mode: the venue, the batch circuit, the snapshot and the depths."""

    venue: str
    circuit_id: str
    snapshot_id: str
    snapshot_digest: bytes
    depth: int
    batch_depth: int


@dataclass(frozen=True)
class PublishedBook(BookHead):
    """What a venue publishes for one snapshot: the root and totals, and every batch with its proof."""

    root: BookNode
    batches: tuple[PublishedBatch, ...]
    signature: bytes = b""
    """The venue's Ed25519 signature over book_message (empty until signed)."""
    signed_root: SignedRoot | None = None
    """The venue's signed root over its attested accounts (the venue run's root.json); verify_book refuses None."""
    top: PublishedTop | None = None
    """The top proof (auditor mode, optional: without it the verifier folds the top itself)."""

    def message(self) -> bytes:
        """The bytes the venue signs (module docstring)."""
        # The signed root is covered: a trader's `book check` compares it with its own membership root without
        # verifying the batch proofs, so it must be the one the venue stands by, not one put there on the way.
        body = {"venue": self.venue, "circuit_id": self.circuit_id, "snapshot_id": self.snapshot_id,
                "depth": self.depth, "batch_depth": self.batch_depth, "root": node_to_json(self.root),
                "signed_root": None if self.signed_root is None else signed_root_to_json(self.signed_root)}
        return BOOK_LABEL + self.snapshot_digest + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class HiddenBatch:
    """One batch of a hidden book: its place, its root's hash (its sums stay private), its proof and its attested
    root (as PublishedBatch's)."""

    index: int
    root_hash: int
    proof: Any
    attested_root: int


@dataclass(frozen=True)
class HiddenBook(BookHead):
    """What a venue publishes with its totals hidden: the root hash, every batch and the top (reserves >=
    liabilities per asset), and its signed reserves."""

    root_hash: int
    batches: tuple[HiddenBatch, ...]
    top: PublishedTop
    reserves: SignedReserves
    signature: bytes = b""
    signed_root: SignedRoot | None = None
    """As PublishedBook's: the venue's signed root the batches' attested roots fold to; verification refuses None."""

    def message(self) -> bytes:
        """The bytes the venue signs (module docstring)."""
        # The signed root is covered for the same reason as a book.json's (PublishedBook.message).
        body = {"venue": self.venue, "circuit_id": self.circuit_id, "top_circuit_id": self.top.circuit_id,
                "snapshot_id": self.snapshot_id, "depth": self.depth, "batch_depth": self.batch_depth,
                "root_hash": str(self.root_hash),
                "signed_root": None if self.signed_root is None else signed_root_to_json(self.signed_root)}
        return HIDDEN_LABEL + self.snapshot_digest + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


AnyBook = PublishedBook | HiddenBook
"""A published book in either disclosure mode."""
BookT = TypeVar("BookT", PublishedBook, HiddenBook)


def sign_book(key: VenueSigningKey, book: BookT) -> BookT:
    """The book with the venue's signature over its root (and totals, in auditor mode)."""
    return replace(book, signature=key.sign(book.message()))


def check_book_signature(book: AnyBook, public_key: VenuePublicKey) -> None:
    """Raise unless the venue holding public_key signed this book's root and totals (BadSignatureError, or
    WrongVenueError when the book names another venue)."""
    if book.venue != public_key.venue:
        raise WrongVenueError(f"the book is venue {book.venue!r}'s; the key is {public_key.venue!r}'s")
    if len(book.signature) != 64:
        raise BadSignatureError("the book is not signed")
    public_key.verify(book.signature, book.message())


def sums_to_json(sums: BookSums) -> dict[str, str]:
    """The sums by name, as decimal strings."""
    return {name: str(value) for name, value in zip(sum_names(sums.n_assets), sums.as_fields())}


def census_json(sums: BookSums) -> list[dict]:
    """The census by size as rows: bucket, size range (price unit), below maintenance, shortfall_e32 (decimal)."""
    return [{"bucket": b.bucket, "size": b.size_range, "below_maintenance": str(b.below_maintenance),
             "shortfall_e32": str(b.shortfall_e32)} for b in census_by_size(sums)]


def node_to_json(node: BookNode) -> dict:
    """{hash, sums} of a node."""
    return {"hash": str(node.hash), "sums": sums_to_json(node.sums)}


def book_to_json(book: AnyBook) -> dict:
    """book.json's document (zkmargin-book/1, or zkmargin-book-hidden/1 for a hidden book)."""
    head = {"venue": book.venue, "signature": book.signature.hex(), "circuit_id": book.circuit_id,
            "snapshot_id": book.snapshot_id, "snapshot_digest": book.snapshot_digest.hex(), "depth": book.depth,
            "batch_depth": book.batch_depth,
            "signed_root": None if book.signed_root is None else signed_root_to_json(book.signed_root)}
    if isinstance(book, HiddenBook):
        return {"format": HIDDEN_FORMAT, **head, "root_hash": str(book.root_hash),
                "batches": [{"index": b.index, "root_hash": str(b.root_hash), "attested_root": str(b.attested_root),
                             "proof": b.proof} for b in book.batches],
                "top": _top_to_json(book.top), "reserves": reserves_to_json(book.reserves)}
    return {"format": BOOK_FORMAT, **head, "root": node_to_json(book.root),
            "batches": [{"index": b.index, "root": node_to_json(b.root), "attested_root": str(b.attested_root),
                         "proof": b.proof} for b in book.batches],
            **({} if book.top is None else {"top": _top_to_json(book.top)})}


def _top_to_json(top: PublishedTop) -> dict:
    return {"circuit_id": top.circuit_id, "proof": top.proof}


def path_to_json(account_id: str, path: BookPath) -> dict:
    """path.json's document."""
    return {"format": PATH_FORMAT, "account_id": account_id, "index": path.index, "leaf": node_to_json(path.leaf),
            "siblings": [node_to_json(s) for s in path.siblings], "root": node_to_json(path.root)}


def _int(value: Any, what: str, low: int = 0, high: int = R - 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise EncodingError(f"{what}: expected an integer in [{low}, {high}]")
    return value


def _element(value: Any, what: str) -> int:
    value = parse_decimal(value, what)
    if value >= R:
        raise EncodingError(f"{what}: must lie below r")
    return value


def parse_node(obj: Any, n_assets: int | None, what: str) -> BookNode:
    """A {hash, sums} node; n_assets None takes the count from the sums."""
    obj = strict_object(obj, None, ("hash", "sums"), what)
    sums = obj["sums"]
    if not isinstance(sums, dict):
        raise EncodingError(f"{what}.sums: expected a JSON object")
    n = sum(1 for k in sums if k.startswith("deposits_e8[")) if n_assets is None else n_assets
    names = sum_names(n)
    if n < 1 or set(sums) != set(names):
        raise EncodingError(f"{what}.sums: expected exactly {', '.join(names) if n else 'deposits_e8[0], ...'}")
    values = [parse_decimal(sums[name], f"{what}.sums.{name}") for name in names]
    if any(v >= R for v in values):
        raise EncodingError(f"{what}.sums: every sum lies below r")
    return BookNode(_element(obj["hash"], f"{what}.hash"), sums_from_fields(values, n))


def parse_book(obj: Any) -> AnyBook:
    """A book.json document, either mode (its format says which); EncodingError names the first thing wrong."""
    hidden = isinstance(obj, dict) and obj.get("format") == HIDDEN_FORMAT
    keys = ("venue", "circuit_id", "snapshot_id", "snapshot_digest", "depth", "batch_depth", "batches", "signature",
            "signed_root")
    if hidden:
        obj = strict_object(obj, HIDDEN_FORMAT, (*keys, "root_hash", "top", "reserves"), "book")
    else:
        obj = strict_object(obj, BOOK_FORMAT, (*keys, "root"), "book", optional=("top",))
    if not all(isinstance(obj[k], str) for k in ("venue", "circuit_id", "snapshot_id", "signature")):
        raise EncodingError("book: venue, circuit_id, snapshot_id and signature are strings")
    # One spelling per book: a book re-sent written differently (upper case) must be the same book, not a 409.
    signature = b"" if obj["signature"] == "" else parse_hex(obj["signature"], SIGNATURE_BYTES, "book.signature")
    digest = parse_hex(obj["snapshot_digest"], DIGEST_BYTES, "book.snapshot_digest")
    depth = check_depth(obj["depth"])
    batch_depth = _int(obj["batch_depth"], "book.batch_depth", 1, depth)
    if not isinstance(obj["batches"], list):
        raise EncodingError("book.batches: expected a list")
    places = 1 << (depth - batch_depth)  # batch roots the top over them holds
    if len(obj["batches"]) > places:
        raise EncodingError(f"book.batches: a book of depth {depth} holds at most {places} batches of "
                            f"2^{batch_depth} accounts")
    head = (obj["venue"], obj["circuit_id"], obj["snapshot_id"], digest, depth, batch_depth)
    if hidden:
        batches_hidden = []
        for i, item in enumerate(obj["batches"]):
            item = strict_object(item, None, ("index", "root_hash", "attested_root", "proof"), f"book.batches[{i}]")
            batches_hidden.append(HiddenBatch(_int(item["index"], f"book.batches[{i}].index", 0, places - 1),
                                              _element(item["root_hash"], f"book.batches[{i}].root_hash"),
                                              item["proof"],
                                              _element(item["attested_root"], f"book.batches[{i}].attested_root")))
        return HiddenBook(*head, _element(obj["root_hash"], "book.root_hash"), tuple(batches_hidden),
                          _parse_top(obj["top"]), parse_reserves(obj["reserves"]), signature,
                          _parse_signed_root(obj["signed_root"]))
    root = parse_node(obj["root"], None, "book.root")
    batches = []
    for i, item in enumerate(obj["batches"]):
        item = strict_object(item, None, ("index", "root", "attested_root", "proof"), f"book.batches[{i}]")
        batches.append(PublishedBatch(_int(item["index"], f"book.batches[{i}].index", 0, places - 1),
                                      parse_node(item["root"], root.sums.n_assets, f"book.batches[{i}].root"),
                                      item["proof"], _element(item["attested_root"], f"book.batches[{i}].attested_root")))
    top = None if "top" not in obj else _parse_top(obj["top"])
    return PublishedBook(*head, root, tuple(batches), signature, _parse_signed_root(obj["signed_root"]), top)


def _parse_signed_root(obj: Any) -> SignedRoot | None:
    try:
        # Parsed, not checked: the verifier checks its signature, venue and snapshot against its own.
        return parse_signed_root(obj)
    except EncodingError as exc:
        raise EncodingError(f"book.signed_root: {exc}") from None


def _parse_top(obj: Any) -> PublishedTop:
    obj = strict_object(obj, None, ("circuit_id", "proof"), "book.top")
    if not isinstance(obj["circuit_id"], str):
        raise EncodingError("book.top.circuit_id: expected a string")
    return PublishedTop(obj["circuit_id"], obj["proof"])


def parse_path(obj: Any) -> tuple[str, BookPath]:
    """(account id, path) from a path.json document; EncodingError names the first thing wrong."""
    obj = strict_object(obj, PATH_FORMAT, ("account_id", "index", "leaf", "siblings", "root"), "path")
    if not isinstance(obj["account_id"], str) or not isinstance(obj["siblings"], list):
        raise EncodingError("path: account_id is a string and siblings a list")
    depth = check_depth(len(obj["siblings"]))
    root = parse_node(obj["root"], None, "path.root")
    n = root.sums.n_assets
    siblings = tuple(parse_node(s, n, f"path.siblings[{h}]") for h, s in enumerate(obj["siblings"]))
    index = _int(obj["index"], "path.index", 0, (1 << depth) - 1)
    return obj["account_id"], BookPath(index, parse_node(obj["leaf"], n, "path.leaf"), siblings, root)
