"""Exact decimal text <-> fixed-point integers (scale 1e8, suffix _e8). Nothing is ever rounded."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from zkmargin.errors import FormatError

SCALE_DECIMALS = 8
SCALE_E8 = 10**SCALE_DECIMALS

_PLAIN_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")


def parse_e8(value: Any, field: str, minimum: int, maximum: int) -> int:
    """A JSON decimal string (or integer) as an exact integer at scale 1e8 within [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise FormatError(f"{field}: expected a decimal string like \"12.5\", got {type(value).__name__} {value!r}")
    text = str(value)
    if not _PLAIN_DECIMAL.fullmatch(text):
        raise FormatError(f"{field}: {text!r} is not a plain decimal number")
    whole, _, fraction = text.lstrip("-").partition(".")
    if len(fraction) > SCALE_DECIMALS:
        raise FormatError(f"{field}: {text!r} has more than {SCALE_DECIMALS} decimal places")
    scaled = int(whole) * SCALE_E8 + int(fraction.ljust(SCALE_DECIMALS, "0") or 0)
    if text.startswith("-"):
        scaled = -scaled
    if scaled < 0 <= minimum:
        raise FormatError(f"{field}: {text!r} must not be negative")
    if not minimum <= scaled <= maximum:
        raise FormatError(
            f"{field}: {text!r} is outside [{format_e8(minimum)}, {format_e8(maximum)}]"
        )
    return scaled


def format_e8(value_e8: int) -> str:
    """Canonical decimal text of a scale-1e8 integer (no trailing zeros, no exponent)."""
    return format_scaled(value_e8, SCALE_DECIMALS)


def format_scaled(value: int, decimals: int) -> str:
    """Canonical decimal text of value / 10^decimals, exactly."""
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), 10**decimals)
    text = f"{whole}.{fraction:0{decimals}d}".rstrip("0").rstrip(".") if decimals else str(whole)
    return sign + text


def to_decimal(value: int, decimals: int) -> Decimal:
    """value / 10^decimals as an exact Decimal."""
    return Decimal(value).scaleb(-decimals)
