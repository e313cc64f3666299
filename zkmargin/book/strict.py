"""Strict reading of the book's JSON documents (book.json, the reserves statement): one spelling per document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zkmargin.errors import EncodingError

DIGEST_BYTES = 32
"""A snapshot digest (SHA-256)."""
SIGNATURE_BYTES = 64
"""An Ed25519 signature."""


def strict_object(obj: Any, fmt: str | None, keys: Sequence[str], what: str, optional: Sequence[str] = ()) -> dict:
    """obj if it is a JSON object of format fmt (None: no format field) with exactly these keys (optional ones
    may be absent); EncodingError naming the first missing or unknown field."""
    if not isinstance(obj, dict):
        raise EncodingError(f"{what}: expected a JSON object")
    if fmt is not None and obj.get("format") != fmt:
        raise EncodingError(f"{what}: not a {fmt} document")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise EncodingError(f"{what}: missing {', '.join(missing)}")
    unknown = sorted(set(obj) - {*keys, *optional, *(("format",) if fmt is not None else ())})
    if unknown:
        raise EncodingError(f"{what}: unknown field {unknown[0]}")  # strict: nothing unverified rides along
    return obj
