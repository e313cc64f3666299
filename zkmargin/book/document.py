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
path.json ("zkmargin-book-path/1"): account_id, index, leaf, siblings (bottom up), root; each a
{hash, sums} node.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from zkmargin.book.reference import BookSums, census_by_size, sum_names, sums_from_fields
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
DIGEST_BYTES = 32
"""A snapshot digest (SHA-256)."""
SIGNATURE_BYTES = 64
"""An Ed25519 signature."""
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
class PublishedBook:
    """What a venue publishes for one snapshot: the root and totals, and every batch with its proof."""

    venue: str
    circuit_id: str
    snapshot_id: str
    snapshot_digest: bytes
    depth: int
    batch_depth: int
    root: BookNode
    batches: tuple[PublishedBatch, ...]
    signature: bytes = b""
    """The venue's Ed25519 signature over book_message (empty until signed)."""
    signed_root: SignedRoot | None = None
    """The venue's signed root over its attested accounts (the venue run's root.json); verify_book refuses None."""

    def message(self) -> bytes:
        """The bytes the venue signs (module docstring)."""
        # The signed root is covered: a trader's `book check` compares it with its own membership root without
        # verifying the batch proofs, so it must be the one the venue stands by, not one put there on the way.
        body = {"venue": self.venue, "circuit_id": self.circuit_id, "snapshot_id": self.snapshot_id,
                "depth": self.depth, "batch_depth": self.batch_depth, "root": node_to_json(self.root),
                "signed_root": None if self.signed_root is None else signed_root_to_json(self.signed_root)}
        return BOOK_LABEL + self.snapshot_digest + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def sign_book(key: VenueSigningKey, book: PublishedBook) -> PublishedBook:
    """The book with the venue's signature over its root and totals."""
    return replace(book, signature=key.sign(book.message()))


def check_book_signature(book: PublishedBook, public_key: VenuePublicKey) -> None:
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


def book_to_json(book: PublishedBook) -> dict:
    """book.json's document."""
    return {"format": BOOK_FORMAT, "venue": book.venue, "signature": book.signature.hex(),
            "circuit_id": book.circuit_id, "snapshot_id": book.snapshot_id,
            "snapshot_digest": book.snapshot_digest.hex(), "depth": book.depth, "batch_depth": book.batch_depth,
            "root": node_to_json(book.root),
            "batches": [{"index": b.index, "root": node_to_json(b.root), "attested_root": str(b.attested_root),
                         "proof": b.proof} for b in book.batches],
            "signed_root": None if book.signed_root is None else signed_root_to_json(book.signed_root)}


def path_to_json(account_id: str, path: BookPath) -> dict:
    """path.json's document."""
    return {"format": PATH_FORMAT, "account_id": account_id, "index": path.index, "leaf": node_to_json(path.leaf),
            "siblings": [node_to_json(s) for s in path.siblings], "root": node_to_json(path.root)}


def strict_object(obj: Any, fmt: str | None, keys: Sequence[str], what: str) -> dict:
    """obj if it is a JSON object of format fmt (None: no format field) with exactly these keys; EncodingError
    naming the first missing or unknown field."""
    if not isinstance(obj, dict):
        raise EncodingError(f"{what}: expected a JSON object")
    if fmt is not None and obj.get("format") != fmt:
        raise EncodingError(f"{what}: not a {fmt} document")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise EncodingError(f"{what}: missing {', '.join(missing)}")
    unknown = sorted(set(obj) - {*keys, *(("format",) if fmt is not None else ())})
    if unknown:
        raise EncodingError(f"{what}: unknown field {unknown[0]}")  # strict: nothing unverified rides along
    return obj


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


def parse_book(obj: Any) -> PublishedBook:
    """A book.json document; EncodingError names the first thing wrong."""
    obj = strict_object(obj, BOOK_FORMAT, ("venue", "circuit_id", "snapshot_id", "snapshot_digest", "depth", "batch_depth",
                                     "root", "batches", "signature", "signed_root"), "book")
    if not all(isinstance(obj[k], str) for k in ("venue", "circuit_id", "snapshot_id", "signature")):
        raise EncodingError("book: venue, circuit_id, snapshot_id and signature are strings")
    # One spelling per book: a book re-sent written differently (upper case) must be the same book, not a 409.
    signature = b"" if obj["signature"] == "" else parse_hex(obj["signature"], SIGNATURE_BYTES, "book.signature")
    digest = parse_hex(obj["snapshot_digest"], DIGEST_BYTES, "book.snapshot_digest")
    depth = check_depth(obj["depth"])
    batch_depth = _int(obj["batch_depth"], "book.batch_depth", 1, depth)
    root = parse_node(obj["root"], None, "book.root")
    if not isinstance(obj["batches"], list):
        raise EncodingError("book.batches: expected a list")
    places = 1 << (depth - batch_depth)  # batch roots the top over them holds
    if len(obj["batches"]) > places:
        raise EncodingError(f"book.batches: a book of depth {depth} holds at most {places} batches of "
                            f"2^{batch_depth} accounts")
    batches = []
    for i, item in enumerate(obj["batches"]):
        item = strict_object(item, None, ("index", "root", "attested_root", "proof"), f"book.batches[{i}]")
        batches.append(PublishedBatch(_int(item["index"], f"book.batches[{i}].index", 0, places - 1),
                                      parse_node(item["root"], root.sums.n_assets, f"book.batches[{i}].root"),
                                      item["proof"], _element(item["attested_root"], f"book.batches[{i}].attested_root")))
    try:
        # Parsed, not checked: verify_book checks its signature, venue and snapshot against the verifier's own.
        signed_root = parse_signed_root(obj["signed_root"])
    except EncodingError as exc:
        raise EncodingError(f"book.signed_root: {exc}") from None
    return PublishedBook(obj["venue"], obj["circuit_id"], obj["snapshot_id"], digest, depth, batch_depth, root,
                         tuple(batches), signature, signed_root)


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
