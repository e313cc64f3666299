"""JSON text decoding with a single failure mode for every caller (files, proofs, batch lines)."""

from __future__ import annotations

import json
from typing import Any


def decode_json(data: str | bytes) -> Any:
    """Parse JSON text; malformed, undecodable or too deeply nested input raises ValueError."""
    try:
        return json.loads(data)
    except RecursionError:
        # json's C scanner recurses once per nesting level; a hostile file of brackets would
        # otherwise surface as a RecursionError traceback rather than a format error.
        raise ValueError("nested too deeply") from None
