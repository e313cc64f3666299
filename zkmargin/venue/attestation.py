"""Venue attestations: the venue's Ed25519 signature that a commitment is an account's, for one snapshot,
its signature over the Merkle root of all commitments of a snapshot (anonymous membership), and its
signature over the snapshot itself (so a verifier stores only snapshots the venue published).

Scheme: Ed25519 (RFC 8032) through `cryptography`. Measured against BLS signatures over
BLS12-381 (py_arkworks_bls12381: min-pk, hash-to-G2) in bench/attestation.py: a verifier checks
one attestation per proof, and there Ed25519 is two orders of magnitude cheaper than the two
pairings and the hash to G2 of a BLS check. BLS aggregation would shrink 100,000 signatures to
one, but checking an aggregate over distinct messages still costs one pairing per message, and
the one-signature-for-everyone case is already served by the signed Merkle root.

What is signed, byte for byte (str16(s) = 2-byte big-endian length of utf8(s), then utf8(s);
fe(x) = x < r as 32 bytes big-endian; snapshot_digest = 32 raw bytes of SHA-256):
  attestation  b"zkmargin/attestation/v1\\x00" str16(venue) snapshot_digest str16(account_id) fe(commitment)
  signed root  b"zkmargin/merkle-root/v1\\x00" str16(venue) snapshot_digest depth (1 byte)
               leaf_count (8 bytes big-endian) fe(root)
  snapshot     b"zkmargin/snapshot/v1\\x00" str16(venue) str16(snapshot_id) snapshot_digest
Each document kind has its own label (a signature on one never checks as the other) and
every variable-length field is length-prefixed, so each encoding is injective.

snapshot_digest is SHA-256 of the snapshot document's canonical JSON (sorted keys, no spaces,
as snapshot_to_json writes it): the digest the verifier service stores for a published snapshot.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from zkmargin.errors import (
    BadSignatureError,
    FormatError,
    MalformedAttestationError,
    WrongCommitmentError,
    WrongSnapshotError,
    WrongVenueError,
)
from zkmargin.field import R
from zkmargin.gadgets.merkle import MAX_DEPTH
from zkmargin.groth16.serialization import parse_decimal, parse_hex
from zkmargin.margin.models import Snapshot, snapshot_to_json
from zkmargin.margin.models import _identifier as _model_identifier
from zkmargin.venue.tree import MerklePath

SCHEME = "ed25519"
PUBLIC_KEY_FORMAT = "zkmargin-venue-public-key/1"
ATTESTATION_FORMAT = "zkmargin-attestation/1"
SIGNED_ROOT_FORMAT = "zkmargin-signed-root/1"
SNAPSHOT_SIGNATURE_FORMAT = "zkmargin-snapshot-signature/1"
ATTESTATION_LABEL = b"zkmargin/attestation/v1\x00"
ROOT_LABEL = b"zkmargin/merkle-root/v1\x00"
SNAPSHOT_LABEL = b"zkmargin/snapshot/v1\x00"
DIGEST_BYTES = 32
SIGNATURE_BYTES = 64
PUBLIC_KEY_BYTES = 32


@functools.lru_cache(maxsize=8)
def snapshot_digest(snapshot: Snapshot) -> bytes:
    """SHA-256 of the snapshot's canonical JSON (sorted keys, no spaces): what attestations sign."""
    # Cached: a venue attests every account of one (immutable) snapshot in a row.
    text = json.dumps(snapshot_to_json(snapshot), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).digest()


# ----- keys -------------------------------------------------------------------------------
@dataclass(frozen=True)
class VenuePublicKey:
    """A venue's name and its Ed25519 public key (32 bytes): what a verifier registers."""

    venue: str
    key_bytes: bytes

    @property
    def key_id(self) -> str:
        """First 16 hex digits of SHA-256 of the key: a short name for logs and receipts."""
        return hashlib.sha256(self.key_bytes).hexdigest()[:16]

    @functools.cached_property
    def _key(self) -> Ed25519PublicKey:
        # Decoded once per key object: a batch checks many attestations under one venue key.
        try:
            return Ed25519PublicKey.from_public_bytes(self.key_bytes)
        except ValueError:
            raise MalformedAttestationError(f"venue {self.venue!r}: not an Ed25519 public key") from None

    def verify(self, signature: bytes, message: bytes) -> None:
        """Raise BadSignatureError unless signature is this key's over message."""
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            raise BadSignatureError(f"signature does not verify under venue {self.venue!r}'s key {self.key_id}") from None


@dataclass(frozen=True)
class VenueSigningKey:
    """A venue's Ed25519 private key; stored as unencrypted PKCS#8 PEM (readable by openssl)."""

    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> VenueSigningKey:
        """A fresh key from the OS CSPRNG."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, data: bytes) -> VenueSigningKey:
        """Parse a PKCS#8 PEM Ed25519 private key; anything else raises MalformedAttestationError."""
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise MalformedAttestationError("not an unencrypted PKCS#8 PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise MalformedAttestationError(f"venue keys are {SCHEME}; this PEM holds another key type")
        return cls(key)

    def to_pem(self) -> bytes:
        """PKCS#8 PEM, unencrypted: protect it with file permissions."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

    def public_key(self, venue: str) -> VenuePublicKey:
        """The public key under the venue's name."""
        raw = self.private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return VenuePublicKey(check_identifier(venue, "venue"), raw)

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature (64 bytes)."""
        return self.private_key.sign(message)


_ED25519_P = 2**255 - 19
_ED25519_D = -121665 * pow(121666, -1, _ED25519_P) % _ED25519_P


def _ed25519_point(key_bytes: bytes) -> tuple[int, int] | None:
    """The affine point a 32-byte Ed25519 encoding names (RFC 8032 5.1.3), None when it names none canonically."""
    p = _ED25519_P
    y = int.from_bytes(key_bytes, "little") & ((1 << 255) - 1)
    sign = key_bytes[31] >> 7
    if y >= p:
        return None
    u, v = (y * y - 1) % p, (_ED25519_D * y * y + 1) % p
    x = u * pow(v, 3, p) * pow(u * pow(v, 7, p), (p - 5) // 8, p) % p
    if v * x * x % p == (-u) % p:
        x = x * pow(2, (p - 1) // 4, p) % p
    if v * x * x % p != u or (x == 0 and sign):
        return None
    return (p - x if x & 1 != sign else x), y


def _ed25519_double(point: tuple[int, int]) -> tuple[int, int]:
    p, (x, y) = _ED25519_P, point
    t = _ED25519_D * x * x * y * y % p
    return (2 * x * y * pow(1 + t, -1, p) % p, (y * y + x * x) * pow(1 - t, -1, p) % p)


def check_public_key_bytes(key_bytes: bytes) -> bytes:
    """key_bytes if they encode an Ed25519 point of large order; MalformedAttestationError otherwise.

    A small-order key (the identity 01 00..00, say) lets anyone sign: under it the fixed signature
    R = identity, S = 0 verifies for every message, and OpenSSL does not refuse such keys.
    """
    point = _ed25519_point(key_bytes) if len(key_bytes) == PUBLIC_KEY_BYTES else None
    if point is None:
        raise MalformedAttestationError("public_key: not a canonical Ed25519 point")
    for _ in range(3):
        point = _ed25519_double(point)
    if point == (0, 1):
        raise MalformedAttestationError("public_key: a small-order Ed25519 point, under which anyone can sign")
    return key_bytes


def public_key_to_json(key: VenuePublicKey) -> dict:
    """The public key document a venue hands to verifiers."""
    return {"format": PUBLIC_KEY_FORMAT, "scheme": SCHEME, "venue": key.venue, "public_key": key.key_bytes.hex()}


def parse_public_key(obj: Any) -> VenuePublicKey:
    """A venue public key document; raises MalformedAttestationError naming the field."""
    doc = _document(obj, PUBLIC_KEY_FORMAT, ("venue", "public_key"), "public key")
    raw = check_public_key_bytes(_hex(doc["public_key"], PUBLIC_KEY_BYTES, "public_key"))
    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise MalformedAttestationError("public_key: not an Ed25519 public key") from None
    return VenuePublicKey(check_identifier(doc["venue"], "venue"), raw)


# ----- attestations -----------------------------------------------------------------------
@dataclass(frozen=True)
class Attestation:
    """The venue vouches that commitment is account_id's account state under the snapshot with this digest."""

    venue: str
    snapshot_digest: bytes
    account_id: str
    commitment: int
    signature: bytes

    def message(self) -> bytes:
        """The canonical bytes the signature covers (see the module docstring)."""
        return attestation_message(self.venue, self.snapshot_digest, self.account_id, self.commitment)


def attestation_message(venue: str, digest: bytes, account_id: str, commitment: int) -> bytes:
    """b"zkmargin/attestation/v1\\0" str16(venue) digest str16(account_id) fe(commitment)."""
    return ATTESTATION_LABEL + _str16(venue, "venue") + _digest(digest) + _str16(account_id, "account_id") + _fe(
        commitment, "commitment")


def attest(key: VenueSigningKey, snapshot: Snapshot, account_id: str, commitment: int) -> Attestation:
    """Sign (snapshot.venue, snapshot digest, account_id, commitment)."""
    digest = snapshot_digest(snapshot)
    message = attestation_message(snapshot.venue, digest, account_id, commitment)
    return Attestation(snapshot.venue, digest, account_id, commitment, key.sign(message))


def attestation_to_json(attestation: Attestation) -> dict:
    """The attestation document (hex digest and signature, decimal commitment)."""
    return {
        "format": ATTESTATION_FORMAT,
        "scheme": SCHEME,
        "venue": attestation.venue,
        "snapshot_digest": attestation.snapshot_digest.hex(),
        "account_id": attestation.account_id,
        "commitment": str(attestation.commitment),
        "signature": attestation.signature.hex(),
    }


def parse_attestation(obj: Any) -> Attestation:
    """An attestation document; raises MalformedAttestationError naming the field (signature not checked)."""
    doc = _document(obj, ATTESTATION_FORMAT, ("venue", "snapshot_digest", "account_id", "commitment", "signature"),
                    "attestation")
    return Attestation(
        check_identifier(doc["venue"], "venue"),
        _hex(doc["snapshot_digest"], DIGEST_BYTES, "snapshot_digest"),
        check_identifier(doc["account_id"], "account_id"),
        parse_field_decimal(doc["commitment"], "commitment"),
        _hex(doc["signature"], SIGNATURE_BYTES, "signature"),
    )


def check_attestation(
    attestation: Attestation, public_key: VenuePublicKey, digest: bytes, commitment: int,
    account_id: str | None = None,
) -> None:
    """Raise unless the venue holding public_key attested commitment (and account_id, if given) for digest.

    Fields are compared before the signature so that the error says what differs:
    WrongVenueError, WrongSnapshotError, WrongCommitmentError, BadSignatureError.
    """
    _check_subject(attestation.venue, attestation.snapshot_digest, public_key, digest)
    if attestation.commitment != commitment:
        raise WrongCommitmentError(
            f"attestation is for commitment {_short(attestation.commitment)}, not {_short(commitment)}")
    if account_id is not None and attestation.account_id != account_id:
        raise WrongCommitmentError(f"attestation is for account {attestation.account_id!r}, not {account_id!r}")
    public_key.verify(attestation.signature, attestation.message())


# ----- signed Merkle roots ----------------------------------------------------------------
@dataclass(frozen=True)
class SignedRoot:
    """The venue vouches that root is the depth-level Poseidon Merkle root over leaf_count commitments."""

    venue: str
    snapshot_digest: bytes
    depth: int
    leaf_count: int
    root: int
    signature: bytes

    def message(self) -> bytes:
        """The canonical bytes the signature covers (see the module docstring)."""
        return root_message(self.venue, self.snapshot_digest, self.depth, self.leaf_count, self.root)


def root_message(venue: str, digest: bytes, depth: int, leaf_count: int, root: int) -> bytes:
    """b"zkmargin/merkle-root/v1\\0" str16(venue) digest depth leaf_count fe(root)."""
    _check_shape(depth, leaf_count)
    return (ROOT_LABEL + _str16(venue, "venue") + _digest(digest) + bytes([depth]) + leaf_count.to_bytes(8, "big")
            + _fe(root, "root"))


def sign_root(key: VenueSigningKey, snapshot: Snapshot, depth: int, leaf_count: int, root: int) -> SignedRoot:
    """Sign the root of the tree over the snapshot's account commitments."""
    digest = snapshot_digest(snapshot)
    message = root_message(snapshot.venue, digest, depth, leaf_count, root)
    return SignedRoot(snapshot.venue, digest, depth, leaf_count, root, key.sign(message))


def signed_root_to_json(signed: SignedRoot) -> dict:
    """The signed root document."""
    return {
        "format": SIGNED_ROOT_FORMAT,
        "scheme": SCHEME,
        "venue": signed.venue,
        "snapshot_digest": signed.snapshot_digest.hex(),
        "depth": signed.depth,
        "leaf_count": signed.leaf_count,
        "root": str(signed.root),
        "signature": signed.signature.hex(),
    }


def parse_signed_root(obj: Any) -> SignedRoot:
    """A signed root document; raises MalformedAttestationError naming the field (signature not checked)."""
    doc = _document(obj, SIGNED_ROOT_FORMAT,
                    ("venue", "snapshot_digest", "depth", "leaf_count", "root", "signature"), "signed root")
    for name in ("depth", "leaf_count"):
        if not isinstance(doc[name], int) or isinstance(doc[name], bool):
            raise MalformedAttestationError(f"{name}: expected an integer, got {doc[name]!r}")
    _check_shape(doc["depth"], doc["leaf_count"])
    return SignedRoot(
        check_identifier(doc["venue"], "venue"),
        _hex(doc["snapshot_digest"], DIGEST_BYTES, "snapshot_digest"),
        doc["depth"],
        doc["leaf_count"],
        parse_field_decimal(doc["root"], "root"),
        _hex(doc["signature"], SIGNATURE_BYTES, "signature"),
    )


def check_signed_root(signed: SignedRoot, public_key: VenuePublicKey, digest: bytes, root: int | None = None) -> None:
    """Raise unless the venue holding public_key signed this root for digest (and it equals root, if given)."""
    _check_subject(signed.venue, signed.snapshot_digest, public_key, digest)
    if root is not None and signed.root != root:
        raise WrongCommitmentError(f"signed root is {_short(signed.root)}, not {_short(root)}")
    public_key.verify(signed.signature, signed.message())


def check_membership(signed: SignedRoot, path: MerklePath, public_key: VenuePublicKey, digest: bytes) -> None:
    """Raise unless the venue signed this root for digest and path leads from its (nonzero) leaf to it."""
    check_signed_root(signed, public_key, digest)
    if path.root != signed.root or path.depth != signed.depth:
        raise WrongCommitmentError("the path is for another root or depth than the signed root")
    if not path.verify():
        raise WrongCommitmentError(f"the path does not lead from leaf {_short(path.leaf)} to the signed root")


# ----- signed snapshots -------------------------------------------------------------------
@dataclass(frozen=True)
class SnapshotSignature:
    """The venue vouches for the snapshot with this id and digest (the digest covers every value in it)."""

    venue: str
    snapshot_id: str
    snapshot_digest: bytes
    signature: bytes

    def message(self) -> bytes:
        """The canonical bytes the signature covers (see the module docstring)."""
        return snapshot_message(self.venue, self.snapshot_id, self.snapshot_digest)


def snapshot_message(venue: str, snapshot_id: str, digest: bytes) -> bytes:
    """b"zkmargin/snapshot/v1\\0" str16(venue) str16(snapshot_id) digest."""
    return SNAPSHOT_LABEL + _str16(venue, "venue") + _str16(snapshot_id, "snapshot_id") + _digest(digest)


def sign_snapshot(key: VenueSigningKey, snapshot: Snapshot) -> SnapshotSignature:
    """Sign (snapshot.venue, snapshot.snapshot_id, snapshot digest)."""
    digest = snapshot_digest(snapshot)
    message = snapshot_message(snapshot.venue, snapshot.snapshot_id, digest)
    return SnapshotSignature(snapshot.venue, snapshot.snapshot_id, digest, key.sign(message))


def snapshot_signature_to_json(signed: SnapshotSignature) -> dict:
    """The snapshot signature document (hex digest and signature)."""
    return {
        "format": SNAPSHOT_SIGNATURE_FORMAT,
        "scheme": SCHEME,
        "venue": signed.venue,
        "snapshot_id": signed.snapshot_id,
        "snapshot_digest": signed.snapshot_digest.hex(),
        "signature": signed.signature.hex(),
    }


def parse_snapshot_signature(obj: Any) -> SnapshotSignature:
    """A snapshot signature document; raises MalformedAttestationError naming the field (signature not checked)."""
    doc = _document(obj, SNAPSHOT_SIGNATURE_FORMAT, ("venue", "snapshot_id", "snapshot_digest", "signature"),
                    "snapshot signature")
    return SnapshotSignature(
        check_identifier(doc["venue"], "venue"),
        check_identifier(doc["snapshot_id"], "snapshot_id"),
        _hex(doc["snapshot_digest"], DIGEST_BYTES, "snapshot_digest"),
        _hex(doc["signature"], SIGNATURE_BYTES, "signature"),
    )


def check_snapshot_signature(signed: SnapshotSignature, public_key: VenuePublicKey, snapshot: Snapshot) -> None:
    """Raise unless the venue holding public_key signed this very snapshot, and the snapshot names that venue.

    WrongVenueError when the snapshot or the signature names another venue than the key's,
    WrongSnapshotError when it was signed for another snapshot id or digest, BadSignatureError.
    """
    if snapshot.venue != public_key.venue:
        raise WrongVenueError(f"snapshot {snapshot.snapshot_id!r} claims venue {snapshot.venue!r}; "
                              f"the key is venue {public_key.venue!r}'s")
    if signed.snapshot_id != snapshot.snapshot_id:
        raise WrongSnapshotError(f"signed for snapshot {signed.snapshot_id!r}, not {snapshot.snapshot_id!r}")
    _check_subject(signed.venue, signed.snapshot_digest, public_key, snapshot_digest(snapshot))
    public_key.verify(signed.signature, signed.message())


# ----- shared checks and encodings --------------------------------------------------------
def _check_subject(venue: str, signed_digest: bytes, public_key: VenuePublicKey, digest: bytes) -> None:
    if venue != public_key.venue:
        raise WrongVenueError(f"signed for venue {venue!r}; the key held is venue {public_key.venue!r}'s")
    if signed_digest != _digest(digest):
        raise WrongSnapshotError(
            f"signed for snapshot digest {signed_digest.hex()[:16]}..., not {digest.hex()[:16]}...")


def _check_shape(depth: Any, leaf_count: Any) -> None:
    if not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH:
        raise MalformedAttestationError(f"depth: must be in 1..{MAX_DEPTH}, got {depth!r}")
    if not isinstance(leaf_count, int) or not 1 <= leaf_count <= 2**depth:
        raise MalformedAttestationError(f"leaf_count: must be in 1..2^{depth}, got {leaf_count!r}")


def _document(obj: Any, fmt: str, fields: tuple[str, ...], what: str) -> dict:
    if not isinstance(obj, dict):
        raise MalformedAttestationError(f"{what}: expected a JSON object, got {type(obj).__name__}")
    if obj.get("format") != fmt:
        raise MalformedAttestationError(f"{what}: format must be {fmt!r}, got {obj.get('format')!r}")
    if obj.get("scheme") != SCHEME:
        raise MalformedAttestationError(f"{what}: scheme must be {SCHEME!r}, got {obj.get('scheme')!r}")
    expected = {"format", "scheme", *fields}
    for key in fields:
        if key not in obj:
            raise MalformedAttestationError(f"{what}: {key}: missing")
    unknown = sorted(set(obj) - expected)
    if unknown:
        raise MalformedAttestationError(f"{what}: {unknown[0]}: unknown field")
    return obj


def _hex(value: Any, n_bytes: int, field: str) -> bytes:
    return parse_hex(value, n_bytes, field, MalformedAttestationError)


def parse_field_decimal(value: Any, field: str) -> int:
    """A commitment or root: a canonical decimal string below r, else MalformedAttestationError."""
    number = parse_decimal(value, field, MalformedAttestationError)
    if number >= R:
        raise MalformedAttestationError(f"{field}: must lie in [0, r)")
    return number


def check_identifier(value: Any, field: str) -> str:
    """value if it is a venue or account identifier (the snapshot format's rule), else MalformedAttestationError."""
    try:
        return _model_identifier(value, field)
    except FormatError as exc:
        raise MalformedAttestationError(str(exc)) from None


def _str16(value: str, field: str) -> bytes:
    data = check_identifier(value, field).encode()
    return len(data).to_bytes(2, "big") + data


def _digest(value: Any) -> bytes:
    if not isinstance(value, bytes) or len(value) != DIGEST_BYTES:
        raise MalformedAttestationError(f"snapshot digest: expected {DIGEST_BYTES} bytes")
    return value


def _fe(value: Any, field: str) -> bytes:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < R:
        raise MalformedAttestationError(f"{field}: must be an integer in [0, r)")
    return value.to_bytes(32, "big")


def _short(value: int) -> str:
    text = str(value)
    return text if len(text) <= 20 else f"{text[:8]}...{text[-8:]}"
