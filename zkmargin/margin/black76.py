"""Black-76 prices of European options on futures (off-circuit; risk arrays are public inputs).

call = e^(-rT) * (F N(d1) - K N(d2)),  put = e^(-rT) * (K N(-d2) - F N(-d1)),
d1 = (ln(F/K) + sigma^2 T / 2) / (sigma sqrt(T)),  d2 = d1 - sigma sqrt(T).
Floating point is fine here: prices feed the risk-array generator, whose output
is rounded once to the fixed-point scale and then published as exact integers.
At expiry (T = 0) or zero volatility the price is the discounted intrinsic value.
"""

from __future__ import annotations

import math
from typing import Literal

from zkmargin.errors import EncodingError

OptionKind = Literal["call", "put"]


def normal_cdf(x: float) -> float:
    """Standard normal cumulative distribution."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def black76_price(
    kind: OptionKind, futures_price: float, strike: float, years_to_expiry: float, rate: float, volatility: float
) -> float:
    """Black-76 premium of one European call or put on a futures contract (same units as the prices)."""
    if kind not in ("call", "put"):
        raise EncodingError(f"option kind must be 'call' or 'put', got {kind!r}")
    if futures_price <= 0 or strike <= 0:
        raise EncodingError("futures price and strike must be positive")
    if years_to_expiry < 0 or volatility < 0:
        raise EncodingError("time to expiry and volatility must be non-negative")
    discount = math.exp(-rate * years_to_expiry)
    spread = volatility * math.sqrt(years_to_expiry)
    if spread == 0.0:
        intrinsic = futures_price - strike if kind == "call" else strike - futures_price
        return discount * max(intrinsic, 0.0)
    d1 = (math.log(futures_price / strike) + 0.5 * spread * spread) / spread
    d2 = d1 - spread
    if kind == "call":
        return discount * (futures_price * normal_cdf(d1) - strike * normal_cdf(d2))
    return discount * (strike * normal_cdf(-d2) - futures_price * normal_cdf(-d1))
