"""The tiny account and snapshot the ceremony tests prove with, and their beacon."""

from __future__ import annotations

CIRCUIT = "cross-n1-k1"  # the smallest cross-margin statement: 736 constraints, a 2^10 domain
BEACON = "5ae1b7c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f901"
SNAPSHOT = {
    "snapshot_id": "tiny-1", "venue": "example-exchange", "timestamp": "2026-11-24T16:00:00Z",
    "assets": [{"asset": "USD", "price": "1", "haircut": "0"}],
    "instruments": [{"instrument": "BTC-PERP", "mark_price": "64010", "maintenance_rate": "0.005",
                     "contract_size": "1"}],
}
ACCOUNT = {
    "account_id": "tiny-trader",
    "collateral": [{"asset": "USD", "amount": "10000"}],
    "positions": [{"instrument": "BTC-PERP", "quantity": "0.1", "entry_price": "63000"}],
}
