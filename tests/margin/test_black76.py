"""Black-76 against published values and put-call parity."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkmargin.errors import EncodingError
from zkmargin.margin.black76 import black76_price


@pytest.mark.parametrize(
    "kind,f,k,t,r,sigma,expected,places",
    [
        # Hull, Options, Futures and Other Derivatives: F = K = 20, r = 9%, 4 months, vol 25% -> put 1.12
        ("put", 20.0, 20.0, 4 / 12, 0.09, 0.25, 1.12, 2),
        # Haug, The Complete Guide to Option Pricing Formulas: F = X = 19, T = 0.75, r = 10%, vol 28% -> 1.7011
        ("call", 19.0, 19.0, 0.75, 0.10, 0.28, 1.7011, 4),
        ("put", 19.0, 19.0, 0.75, 0.10, 0.28, 1.7011, 4),
    ],
)
def test_published_values(kind, f, k, t, r, sigma, expected, places):
    assert round(black76_price(kind, f, k, t, r, sigma), places) == expected


@given(
    f=st.floats(1.0, 1e5), k=st.floats(1.0, 1e5), t=st.floats(0.0, 3.0),
    r=st.floats(-0.01, 0.2), sigma=st.floats(0.0, 2.0),
)
def test_put_call_parity(f, k, t, r, sigma):
    call = black76_price("call", f, k, t, r, sigma)
    put = black76_price("put", f, k, t, r, sigma)
    assert call - put == pytest.approx(math.exp(-r * t) * (f - k), rel=1e-9, abs=1e-9 * max(f, k))
    assert call >= -1e-9 and put >= -1e-9


def test_expiry_is_intrinsic_value():
    assert black76_price("call", 110, 100, 0, 0.05, 0.3) == 10
    assert black76_price("put", 110, 100, 0, 0.05, 0.3) == 0


@pytest.mark.parametrize("args", [("straddle", 1, 1, 1, 0, 0.2), ("call", 0, 1, 1, 0, 0.2), ("call", 1, 1, -1, 0, 0.2)])
def test_bad_parameters(args):
    with pytest.raises(EncodingError):
        black76_price(*args)
