"""The venue's signed reserves statement and the per-asset check reserves >= liabilities against a book's totals.

What the signature means: the venue (its Ed25519 key, the one its attestations use) states that,
at the snapshot with this digest, it holds at least reserves_e8[asset] of each asset for its users.
How the holdings themselves are proven (on-chain addresses, custodian letters) is out of scope:
the signature makes the venue accountable for the figure, nothing more.

Signed message: b"zkmargin/book-reserves/v1\\0" || SHA-256 snapshot digest || canonical JSON
(sorted keys, no spaces) of {"venue", "snapshot_id", "reserves_e8": {asset: decimal string}}.

Liabilities of asset k are the book's deposits_e8[k]; P&L owed (price unit, scale 1e32) is a
liability in the settlement asset, the snapshot's first asset, whose price must be exactly 1 (the
price unit itself): it adds ceil(pnl_owed_e32 / 1e24) there (rounded up, towards the liability).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from zkmargin.book.reference import BookSums
from zkmargin.book.strict import DIGEST_BYTES, SIGNATURE_BYTES, strict_object
from zkmargin.errors import EncodingError, WrongSnapshotError, WrongVenueError
from zkmargin.groth16.serialization import parse_decimal, parse_hex
from zkmargin.margin.fixed_point import SCALE_E8
from zkmargin.margin.models import Snapshot
from zkmargin.venue.attestation import VenuePublicKey, VenueSigningKey, snapshot_digest

RESERVES_FORMAT = "zkmargin-book-reserves/1"
RESERVES_LABEL = b"zkmargin/book-reserves/v1\x00"
E24 = 10**24
MAX_RESERVE_E8 = 2**64 - 1
"""A reserve is one amount at scale 1e8 (as a deposit): the hidden top range-checks it below 2^64."""


@dataclass(frozen=True)
class SignedReserves:
    """The venue's reserves per asset (scale 1e8) at one snapshot, and its Ed25519 signature."""

    venue: str
    snapshot_id: str
    snapshot_digest: bytes
    reserves_e8: Mapping[str, int]
    signature: bytes

    def message(self) -> bytes:
        """The bytes the signature covers (module docstring)."""
        return reserves_message(self.venue, self.snapshot_id, self.snapshot_digest, self.reserves_e8)


def reserves_message(venue: str, snapshot_id: str, digest: bytes, reserves_e8: Mapping[str, int]) -> bytes:
    """The canonical signed bytes of a reserves statement."""
    body = {"venue": venue, "snapshot_id": snapshot_id, "reserves_e8": {k: str(v) for k, v in reserves_e8.items()}}
    return RESERVES_LABEL + digest + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def sign_reserves(key: VenueSigningKey, snapshot: Snapshot, reserves_e8: Mapping[str, int]) -> SignedReserves:
    """Sign reserves for every asset of the snapshot (each a non-negative amount at scale 1e8)."""
    names = {a.asset for a in snapshot.assets}
    if set(reserves_e8) != names or any(not isinstance(v, int) or v < 0 for v in reserves_e8.values()):
        raise EncodingError(f"reserves: one non-negative amount for each asset of the snapshot ({', '.join(sorted(names))})")
    digest = snapshot_digest(snapshot)
    reserves = dict(reserves_e8)
    return SignedReserves(snapshot.venue, snapshot.snapshot_id, digest, reserves,
                          key.sign(reserves_message(snapshot.venue, snapshot.snapshot_id, digest, reserves)))


def reserves_to_json(signed: SignedReserves) -> dict:
    """The signed reserves document."""
    return {"format": RESERVES_FORMAT, "venue": signed.venue, "snapshot_id": signed.snapshot_id,
            "snapshot_digest": signed.snapshot_digest.hex(),
            "reserves_e8": {k: str(v) for k, v in signed.reserves_e8.items()}, "signature": signed.signature.hex()}


def parse_reserves(obj: Any) -> SignedReserves:
    """A signed reserves document (signature not checked); EncodingError names the field.

    Strict as book.json: lower-case hex only, every field present, no unknown field, so a statement re-sent
    written differently is the same statement.
    """
    obj = strict_object(obj, RESERVES_FORMAT, ("venue", "snapshot_id", "snapshot_digest", "reserves_e8", "signature"),
                        "reserves")
    venue, snapshot_id, reserves = obj["venue"], obj["snapshot_id"], obj["reserves_e8"]
    if not isinstance(venue, str) or not isinstance(snapshot_id, str):
        raise EncodingError("reserves: venue and snapshot_id are strings")
    digest = parse_hex(obj["snapshot_digest"], DIGEST_BYTES, "reserves.snapshot_digest")
    signature = parse_hex(obj["signature"], SIGNATURE_BYTES, "reserves.signature")
    if not isinstance(reserves, dict):
        raise EncodingError("reserves.reserves_e8: expected a JSON object of asset: decimal string")
    return SignedReserves(venue, snapshot_id, digest,
                          {k: parse_decimal(v, f"reserves.reserves_e8.{k}") for k, v in reserves.items()}, signature)


def check_reserves(signed: SignedReserves, public_key: VenuePublicKey, snapshot: Snapshot) -> None:
    """Raise unless the venue holding public_key signed these reserves for this very snapshot."""
    if signed.venue != public_key.venue:
        raise WrongVenueError(f"reserves signed for venue {signed.venue!r}; the key is {public_key.venue!r}'s")
    if signed.snapshot_digest != snapshot_digest(snapshot):
        raise WrongSnapshotError("the reserves were signed for another snapshot")
    assets = {a.asset for a in snapshot.assets}
    unknown = sorted(set(signed.reserves_e8) - assets)
    if unknown:
        raise EncodingError(f"reserves.reserves_e8.{unknown[0]}: not an asset of snapshot {snapshot.snapshot_id!r}")
    public_key.verify(signed.signature, signed.message())


@dataclass(frozen=True)
class AssetCoverage:
    """One asset: what the venue owes (scale 1e8), what it says it holds, and whether that covers it."""

    asset: str
    liabilities_e8: int
    reserves_e8: int

    @property
    def covered(self) -> bool:
        """reserves >= liabilities."""
        return self.reserves_e8 >= self.liabilities_e8

    @property
    def ratio(self) -> Decimal | None:
        """reserves / liabilities, rounded down to 4 places (None when nothing is owed)."""
        if self.liabilities_e8 == 0:
            return None
        return Decimal(self.reserves_e8 * 10**4 // self.liabilities_e8).scaleb(-4)


def liabilities_e8(sums: BookSums, snapshot: Snapshot) -> dict[str, int]:
    """Per asset what the venue owes (scale 1e8): deposits, plus P&L owed in the settlement (first) asset."""
    if not snapshot.assets:
        raise EncodingError("the snapshot has no asset")
    settlement = snapshot.assets[0]
    if sums.pnl_owed_e32 and settlement.price_e8 != SCALE_E8:
        raise EncodingError(f"the settlement asset {settlement.asset!r} must be priced at exactly 1 (the price unit)")
    out = {a.asset: sums.deposits_e8[k] for k, a in enumerate(snapshot.assets)}
    out[settlement.asset] += -(-sums.pnl_owed_e32 // E24)
    return out


def reserves_by_slot(snapshot: Snapshot, signed: SignedReserves, n_slots: int) -> tuple[int, ...]:
    """The signed reserves in the snapshot's asset order, 0 for a slot no asset fills: the hidden top's public inputs.

    EncodingError when the settlement (first) asset is not priced at exactly 1 (the hidden top counts P&L owed
    there, and cannot see whether any is owed) or a reserve exceeds MAX_RESERVE_E8."""
    if not snapshot.assets or snapshot.assets[0].price_e8 != SCALE_E8:
        raise EncodingError("hidden totals need a settlement (first) asset priced at exactly 1 (the price unit)")
    if len(snapshot.assets) > n_slots:
        raise EncodingError(f"the snapshot has {len(snapshot.assets)} assets; the book has {n_slots} slots")
    values = [signed.reserves_e8.get(a.asset, 0) for a in snapshot.assets]
    if any(not 0 <= v <= MAX_RESERVE_E8 for v in values):
        raise EncodingError(f"a reserve must lie in 0 .. {MAX_RESERVE_E8} (scale 1e8)")
    return (*values, *(0,) * (n_slots - len(values)))


def coverage(sums: BookSums, snapshot: Snapshot, signed: SignedReserves) -> list[AssetCoverage]:
    """reserves against liabilities for every asset of the snapshot (an asset the statement omits holds 0)."""
    owed = liabilities_e8(sums, snapshot)
    return [AssetCoverage(asset, owed[asset], signed.reserves_e8.get(asset, 0)) for asset in owed]
