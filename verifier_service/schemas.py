"""Request and response models of API v1 (strict: unknown fields are rejected)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from zkmargin.circuits.proving import FIELD_ELEMENT as CANONICAL_FIELD_ELEMENT
from zkmargin.circuits.registry import BOOK_BATCH_IDS, BOOK_TOP, CIRCUIT_ID_PATTERN

IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"
"""Snapshot, receipt and path ids: ASCII letters, digits and . _ : - (no NUL, no spaces)."""
CIRCUIT_ID = CIRCUIT_ID_PATTERN
"""Circuit ids of the registered margin models (circuits/registry.py)."""
BOOK_CIRCUIT_ID = f"^{BOOK_BATCH_IDS}$"
"""Circuit ids of the venue book's batch statements (book-cross-n<N>-k<K>-b<B>[-h], book-cross-n<N>-p<P>-k<K>-b<B>[-h])."""
BOOK_TOP_ID = f"^{BOOK_TOP}$"
"""Circuit ids of the venue book's top statements (book-top-k<K>-b<B>-t<T>[-h])."""
REGISTERED_CIRCUIT_ID = f"^(?:{CIRCUIT_ID[1:-1]}|{BOOK_BATCH_IDS}|{BOOK_TOP})$"
"""What an admin may register: a margin model's circuit, a book batch or a book top circuit."""
NAME = r"^[^\x00-\x20\x7f]([^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?$"
"""Names (venue, asset, instrument, key name): no control characters, no surrounding spaces."""
FIELD_ELEMENT = CANONICAL_FIELD_ELEMENT
"""One canonical text per number (circuits/proving.py, shared with verify-batch); below r, checked on use."""
UNSIGNED_DECIMAL = r"^(0|[1-9][0-9]*)(\.[0-9]+)?$"
SIGNED_DECIMAL = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$"
POSITIVE_DECIMAL = r"^(0\.[0-9]*[1-9][0-9]*|[1-9][0-9]*(\.[0-9]+)?)$"
TIMESTAMP = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3}([0-9]{3})?)?(Z|[+-][0-9]{2}:[0-9]{2})$"
"""RFC 3339 with a zone: 2026-11-24T16:00:00Z, 2026-11-24T16:00:00.250+01:00."""

# Snapshot numbers: a plain unsigned decimal string (at most 8 decimals, checked on use) or a JSON integer.
Decimal = Annotated[str, Field(pattern=UNSIGNED_DECIMAL, max_length=64)] | Annotated[int, Field(ge=0)]
SignedDecimal = Annotated[str, Field(pattern=SIGNED_DECIMAL, max_length=64)] | int
"""Scenario P&L, value changes and risk-array entries: signed (a loss is negative)."""
PositiveDecimal = Annotated[str, Field(pattern=POSITIVE_DECIMAL, max_length=64)] | Annotated[int, Field(ge=1)]
FieldElement = Annotated[str, Field(pattern=FIELD_ELEMENT, max_length=80, examples=["1234"])]
Name = Annotated[str, Field(min_length=1, max_length=128, pattern=NAME)]


def _real_instant(text: str) -> str:
    # The pattern fixes the form; this refuses what it lets through (month 13, 25 o'clock).
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a real date and time") from None
    return text


Timestamp = Annotated[str, Field(pattern=TIMESTAMP, max_length=40, examples=["2026-11-24T16:00:00Z"]),
                      AfterValidator(_real_instant)]


class Strict(BaseModel):
    """Base: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class Status(Strict):
    """Liveness or readiness."""

    status: str


class ErrorDetail(Strict):
    """What went wrong."""

    code: str
    message: str
    details: list[dict] | None = None


class ErrorResponse(Strict):
    """Every 4xx body."""

    error: ErrorDetail


ERROR_DESCRIPTIONS = {
    401: "unauthorized: a missing or unknown API key",
    403: "forbidden: the key's role may not do this",
    404: "unknown_circuit, unknown_snapshot, unknown_root, unknown_receipt, not_found",
    409: "already_registered, already_published, conflict, ambiguous_snapshot (a snapshot id without its venue, "
         "published by several venues)",
    413: "body_too_large, batch_too_large",
    422: "invalid_request (schema, undecodable JSON), invalid_input (field element, point, key, snapshot), wrong_public_input_count, snapshot_does_not_fit, invalid_transcript, snapshot_refused (unsigned, not the venue's registered key, another venue), root_refused, attestation_refused",
    408: "body_timeout: the body did not arrive within ZKMARGIN_BODY_TIMEOUT_S",
    429: "rate_limited: over the per-key budget (Retry-After says when to retry); too_many_failures: too many wrong keys from this address",
    503: "database_unavailable: retry later",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these statuses, each an ErrorResponse body."""
    return {status: {"model": ErrorResponse, "description": ERROR_DESCRIPTIONS[status]} for status in statuses}


G1Json = Annotated[list[Annotated[str, Field(max_length=120)]], Field(min_length=3, max_length=3)]
G2Json = Annotated[list[Annotated[list[Annotated[str, Field(max_length=120)]], Field(min_length=2, max_length=2)]],
                   Field(min_length=3, max_length=3)]


class VerificationKeyJson(BaseModel):
    """snarkjs verification_key.json for bls12381 (other snarkjs fields, such as vk_alphabeta_12, may follow)."""

    model_config = ConfigDict(extra="allow")
    protocol: Literal["groth16"] = "groth16"
    curve: Literal["bls12381"] = "bls12381"
    nPublic: int = Field(ge=1)
    vk_alpha_1: G1Json
    vk_beta_2: G2Json
    vk_gamma_2: G2Json
    vk_delta_2: G2Json
    IC: list[G1Json] = Field(min_length=2, description="nPublic + 1 points")


HexText = Annotated[str, Field(max_length=512, pattern=r"^[0-9a-fA-F]*$")]


class TranscriptContributionJson(Strict):
    """One contribution's public record (snarkjs's mpcParams entry), as transcript_to_json writes it."""

    name: str = Field(default="", max_length=256, description="at most 64 bytes of UTF-8")
    type: Literal["contribution", "beacon"]
    contribution_hash: HexText = Field(description="the 64-byte hash snarkjs prints, hex")
    delta_after: G1Json
    g1_s: G1Json
    g1_sx: G1Json
    g2_spx: G2Json
    transcript: HexText
    beacon_hash: HexText | None = None
    iterations_exp: int | None = None


class TranscriptJson(Strict):
    """A .zkey's phase-2 transcript (zkmargin-zkey-transcript/1, from `zkmargin zkey export transcript`)."""

    format: str = Field(max_length=64, examples=["zkmargin-zkey-transcript/1"])
    circuit_hash: HexText
    contributions: list[TranscriptContributionJson] = Field(min_length=1, max_length=256)


class CircuitRegistration(Strict):
    """Register the verification key of a circuit (snarkjs verification_key.json), with its ceremony's transcript."""

    circuit_id: str = Field(pattern=REGISTERED_CIRCUIT_ID, examples=["cross-n64-k8"])
    verification_key: VerificationKeyJson
    transcript: TranscriptJson | None = Field(default=None, description=(
        "the final .zkey's transcript: checked (proofs of knowledge, delta chain, hashes, beacon) and required to "
        "end in the key's delta_g2; without it the key is shown as single-party"))


class ContributorInfo(Strict):
    """One contribution of a registered key's ceremony (as `zkmargin zkey verify --json` lists it)."""

    index: int
    name: str | None
    hash: str = Field(description="the contribution hash snarkjs prints, hex")
    beacon: bool
    beacon_hash: str | None = None
    iterations_exp: int | None = None


class CircuitInfo(Strict):
    """A registered circuit."""

    circuit_id: str
    num_public: int
    vk_digest: str
    registered_at: str
    setup: Literal["single-party", "ceremony"] = Field(description=(
        "single-party: registered without a transcript (whoever made the key can forge proofs); ceremony: "
        "a checked phase-2 transcript ends in this key's delta"))
    contributions: list[ContributorInfo] = Field(default_factory=list)


class AssetIn(Strict):
    """A collateral asset quote."""

    asset: Name
    price: Decimal
    haircut: Decimal
    scenario_value_change: list[SignedDecimal] | None = Field(default=None, min_length=1, max_length=1000)


class TierIn(Strict):
    """A maintenance bracket (tiered model)."""

    notional_floor: Decimal
    notional_cap: PositiveDecimal = Field(description="above the floor (so never zero)")
    maintenance_rate: Decimal
    maintenance_amount: Decimal


class RiskIn(Strict):
    """Scenario parameters (portfolio model)."""

    kind: Literal["future", "perpetual", "call", "put"]
    underlying_price: Decimal
    price_scan_range: Decimal
    vol_scan_range: Decimal
    extreme_move_multiple: Decimal
    extreme_move_cover: Decimal
    strike: Decimal | None = None
    implied_vol: Decimal | None = None
    years_to_expiry: Decimal | None = None
    rate: Decimal | None = None
    short_option_minimum: Decimal | None = None


class InstrumentIn(Strict):
    """An instrument quote (tiers and risk are optional)."""

    instrument: Name
    mark_price: Decimal
    maintenance_rate: Decimal
    contract_size: Decimal
    tiers: list[TierIn] | None = Field(default=None, min_length=1, max_length=16)
    risk: RiskIn | None = None
    scenario_pnl: list[SignedDecimal] | None = Field(default=None, min_length=1, max_length=1000)
    risk_array: list[SignedDecimal] | None = Field(default=None, min_length=16, max_length=16)


class ScenariosIn(Strict):
    """Historical scenarios (models var and es): count, confidence in (0, 1), add-on."""

    count: int
    confidence: Decimal
    add_on: Decimal | None = None


class SnapshotIn(Strict):
    """A venue snapshot, in the README's format."""

    snapshot_id: str = Field(pattern=IDENTIFIER)
    venue: Name
    timestamp: Timestamp
    assets: list[AssetIn] = Field(max_length=1024)
    instruments: list[InstrumentIn] = Field(max_length=1024)
    scenarios: ScenariosIn | None = None


class SnapshotSignatureJson(Strict):
    """The venue's signature over a snapshot (zkmargin-snapshot-signature/1, from `zkmargin venue sign-snapshot`)."""

    format: str = Field(max_length=64, examples=["zkmargin-snapshot-signature/1"])
    scheme: str = Field(max_length=32, examples=["ed25519"])
    venue: str = Field(max_length=128)
    snapshot_id: str = Field(max_length=128)
    snapshot_digest: str = Field(max_length=64, description="SHA-256 of the snapshot's canonical JSON, hex")
    signature: str = Field(max_length=128)


class SignedSnapshotIn(Strict):
    """A snapshot and its venue's signature: stored only when the signature checks under the key registered
    for the venue the snapshot names."""

    snapshot: SnapshotIn
    signature: SnapshotSignatureJson


class SnapshotInfo(Strict):
    """A stored snapshot."""

    snapshot_id: str
    venue: str = Field(description="the venue whose registered key signed the snapshot")
    digest: str
    published_at: str
    document: dict
    signature: SnapshotSignatureJson | None = Field(default=None, description=(
        "the venue's signature the snapshot was accepted with (null only for snapshots stored before signatures "
        "were required)"))


class SignedRootJson(Strict):
    """A venue's signed Merkle root (zkmargin-signed-root/1, from `zkmargin venue tree`); checked by the library."""

    format: str = Field(max_length=64, examples=["zkmargin-signed-root/1"])
    scheme: str = Field(max_length=32, examples=["ed25519"])
    venue: str = Field(max_length=128)
    snapshot_digest: str = Field(max_length=64)
    depth: int
    leaf_count: int
    root: str = Field(max_length=100)
    signature: str = Field(max_length=128)


class RootIn(Strict):
    """Register the signed root over all account commitments of a stored snapshot."""

    snapshot_id: str = Field(pattern=IDENTIFIER)
    venue: Name | None = Field(default=None, description=(
        "the snapshot's venue (snapshot ids are unique per venue); optional while only one venue published the id"))
    signed_root: SignedRootJson


class RootInfo(Strict):
    """A registered root; root_id names it in anonymous verification."""

    root_id: str = Field(description=(
        "SHA-256 (hex) of the bytes the venue signed: the root's label, venue, snapshot digest, depth, leaf count "
        "and root (README: Venue attestation); anyone holding the signed root recomputes it"))
    snapshot_id: str
    venue: str
    root: str
    depth: int
    leaf_count: int
    registered_at: str
    signed_root: SignedRootJson


class ProofJson(BaseModel):
    """snarkjs proof.json (protocol and curve optional)."""

    model_config = ConfigDict(extra="forbid")
    pi_a: list[str] = Field(min_length=3, max_length=3)
    pi_b: list[list[str]] = Field(min_length=3, max_length=3)
    pi_c: list[str] = Field(min_length=3, max_length=3)
    protocol: str | None = None
    curve: str | None = None


class AttestationJson(Strict):
    """The venue's attestation (zkmargin-attestation/1, from `zkmargin venue attest`); checked by the library."""

    format: str = Field(max_length=64)
    scheme: str = Field(max_length=32)
    venue: str = Field(max_length=128)
    snapshot_digest: str = Field(max_length=64)
    account_id: str = Field(max_length=128)
    commitment: str = Field(max_length=100)
    signature: str = Field(max_length=128)


class VenueKeyDocument(Strict):
    """A venue's public key document (zkmargin-venue-public-key/1, from `zkmargin venue keygen`)."""

    format: str = Field(max_length=64)
    scheme: str = Field(max_length=32)
    venue: Name
    """The rule of a snapshot's venue: a name no snapshot can carry (a NUL, say) is never registered."""
    public_key: str = Field(max_length=64)


class VenueKeyInfo(Strict):
    """A registered venue key."""

    venue: str
    key_id: str
    registered_at: str
    document: VenueKeyDocument


class OneProof(Strict):
    """Exactly one of proof and proof_b64."""

    proof: ProofJson | None = None
    proof_b64: str | None = Field(default=None, max_length=400, pattern=r"^[A-Za-z0-9+/]*={0,2}$",
                                  description="base64 of the 192-byte proof")

    @model_validator(mode="after")
    def _exactly_one_proof(self) -> OneProof:
        if (self.proof is None) == (self.proof_b64 is None):
            raise ValueError("give exactly one of proof and proof_b64")
        return self


RootId = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="a registered root's root_id (POST /v1/roots)")]
SnapshotIdText = Annotated[str, Field(pattern=IDENTIFIER)]
VENUE_FIELD = ("the snapshot's venue: snapshot ids are unique per venue only. Without it the id must name one "
               "venue's snapshot (409 ambiguous_snapshot once several venues published it); anonymous mode: "
               "optional, and then it must be the root's venue")


def check_mode(root_id: object, snapshot_id: object, commitment: object, attestation: object, scope: object,
               nullifier: object) -> None:
    """Raise ValueError unless the fields are those of exactly one mode (named or anonymous)."""
    if root_id is None:
        if snapshot_id is None or commitment is None:
            raise ValueError("named mode needs snapshot_id and commitment; anonymous mode needs root_id, scope and "
                             "nullifier")
        if scope is not None or nullifier is not None:
            raise ValueError("scope and nullifier belong to anonymous mode (with root_id)")
    else:
        if commitment is not None or attestation is not None:
            raise ValueError("anonymous mode (root_id) takes no commitment or attestation: the signed root vouches")
        if scope is None or nullifier is None:
            raise ValueError("anonymous mode (root_id) needs scope and nullifier")


class VerifyRequest(OneProof):
    """Check a proof against the service's own copy of a snapshot; give proof or proof_b64.

    Named mode: snapshot_id, commitment and the venue's attestation of it. Anonymous mode (a membership
    circuit, id ending in -m<depth>): root_id, scope and nullifier in place of the commitment and its
    attestation; the snapshot is the root's.
    """

    circuit_id: str = Field(pattern=CIRCUIT_ID)
    snapshot_id: SnapshotIdText | None = Field(default=None, description=(
        "named mode: the stored snapshot; anonymous mode: optional, and then it must be the root's snapshot"))
    venue: Name | None = Field(default=None, description=VENUE_FIELD)
    commitment: FieldElement | None = Field(default=None, description=(
        "named mode: the account commitment, canonical decimal (or 0x-hex)"))
    context: FieldElement = Field(description="the verifier's challenge or epoch: canonical decimal (or 0x-hex)")
    attestation: AttestationJson | None = Field(default=None, description=(
        "named mode: the venue's attestation of the commitment for this snapshot (required when the snapshot's "
        "venue has a registered key, which every signed snapshot's venue has)"))
    root_id: RootId | None = Field(default=None, description="anonymous mode: the registered root the account is under")
    scope: FieldElement | None = Field(default=None, description="anonymous mode: the verifier's scope")
    nullifier: FieldElement | None = Field(default=None, description=(
        "anonymous mode: the proof's nullifier (the same account shows the same one within a scope)"))

    @model_validator(mode="after")
    def _one_mode(self) -> VerifyRequest:
        check_mode(self.root_id, self.snapshot_id, self.commitment, self.attestation, self.scope, self.nullifier)
        return self


class VerifyResult(Strict):
    """The verdict and its durable receipt."""

    valid: bool
    reason: str
    receipt_id: str
    checked_at: str
    circuit_id: str
    snapshot_id: str
    venue: str = Field(description="the venue whose snapshot was checked (snapshot ids are unique per venue only)")
    snapshot_digest: str = Field(description="SHA-256 of the stored snapshot's canonical JSON")
    mode: Literal["named", "anonymous"] = Field(default="named", description=(
        "named: a commitment (attested by the venue); anonymous: membership under a registered signed root"))
    commitment: str | None = Field(description="named mode's commitment (decimal); null in anonymous mode")
    context: str
    input_digest: str = Field(description=(
        "SHA-256 of the canonical JSON (sorted keys, no spaces) of {circuit_id, snapshot_id, snapshot_digest,"
        " commitment, context, proof: proof_hex, valid}; in anonymous mode {circuit_id, snapshot_id,"
        " snapshot_digest, root_id, scope, nullifier, context, proof: proof_hex, valid}"))
    attestation: AttestationJson | None = Field(default=None, description="the attestation the proof was accepted with")
    root_id: str | None = Field(default=None, description="anonymous mode: the registered root the proof is under")
    scope: str | None = Field(default=None, description="anonymous mode: the verifier's scope (decimal)")
    nullifier: str | None = Field(default=None, description="anonymous mode: the proof's nullifier (decimal)")
    nullifier_seen_before: bool | None = Field(default=None, description=(
        "anonymous mode, valid proofs verified with an API key: true when a valid proof verified with the same key "
        "had already shown this nullifier in the same scope (under any root or circuit), i.e. the same account "
        "proved twice in this scope to this verifier; other keys' showings never count; null otherwise"))
    seen_before: bool | None = Field(default=None, description=(
        "valid proofs verified with an API key: true when the same key had already verified the same inputs and "
        "proof valid (circuit, venue and snapshot, commitment or root/scope/nullifier, context, proof: the same "
        "input_digest), i.e. a replay; null otherwise. A re-randomised proof of the same statement is another "
        "proof: to refuse replays, give each prover a fresh context"))


class Receipt(VerifyResult):
    """What was checked, the result and a digest of the inputs."""

    proof_hex: str = Field(description="the 192-byte compressed proof, hex")


class BatchItemIn(Strict):
    """One proof of a batch (a malformed proof or number, or a field of the other mode, is reported per item,
    not for the whole batch). Named mode: commitment and attestation; anonymous mode: scope and nullifier."""

    id: str | None = Field(default=None, max_length=128, pattern=NAME)
    commitment: str | None = Field(default=None, max_length=100)
    context: str = Field(max_length=100)
    proof: ProofJson | None = None
    proof_b64: str | None = Field(default=None, max_length=400)
    attestation: AttestationJson | None = None
    scope: str | None = Field(default=None, max_length=100)
    nullifier: str | None = Field(default=None, max_length=100)


class VerifyBatchRequest(Strict):
    """Many proofs against one circuit and snapshot (named mode) or one registered root (anonymous mode)."""

    circuit_id: str = Field(pattern=CIRCUIT_ID)
    snapshot_id: SnapshotIdText | None = Field(default=None, description=(
        "named mode: the stored snapshot; anonymous mode: optional, and then it must be the root's snapshot"))
    venue: Name | None = Field(default=None, description=VENUE_FIELD)
    root_id: RootId | None = Field(default=None, description="anonymous mode: the registered root of every item")
    items: list[BatchItemIn] = Field(min_length=1, max_length=100_000)

    @model_validator(mode="after")
    def _a_snapshot_or_a_root(self) -> VerifyBatchRequest:
        if self.snapshot_id is None and self.root_id is None:
            raise ValueError("give snapshot_id (named mode) or root_id (anonymous mode)")
        return self


class BatchItemResult(Strict):
    """One item's verdict (error set for malformed items; receipt only for well-formed ones)."""

    index: int
    id: str | None
    valid: bool
    error: str | None
    receipt_id: str | None
    refused: str | None = Field(default=None, description="why the attestation policy refused the item")
    nullifier_seen_before: bool | None = Field(default=None, description=(
        "anonymous mode, valid items: as in the receipt (an earlier item of the same batch counts)"))
    seen_before: bool | None = Field(default=None, description=(
        "valid items: as in the receipt (an earlier item of the same batch counts)"))


class VerifyBatchResult(Strict):
    """Verdicts in request order."""

    valid: int
    invalid: int
    malformed: int
    refused: int = Field(default=0, description=(
        "items without a fitting attestation (named mode) or whose root the policy refuses (anonymous mode)"))
    venue: str = Field(description="the venue whose snapshot every item was checked against")
    snapshot_id: str
    results: list[BatchItemResult]


class KeyRequest(Strict):
    """Create an API key."""

    role: Literal["venue", "verifier"]
    name: Name


class KeyInfo(Strict):
    """An API key without its secret."""

    key_id: str
    role: str
    name: str
    created_at: str
    revoked_at: str | None


class KeyCreated(Strict):
    """The new key; the token is shown only once."""

    key_id: str
    role: str
    name: str
    token: str


BookSumsJson = Annotated[dict[Annotated[str, Field(max_length=32)], Annotated[str, Field(max_length=80)]],
                         Field(max_length=80)]  # K + 5 + 2J figures: up to K = 65 assets
"""A node's sums by name (accounts, deposits_e8[k], pnl_owed_e32, ...) as decimal strings; checked by the library."""


class BookNodeJson(Strict):
    """A node of the book tree: its Poseidon hash and the sums under it."""

    hash: str = Field(max_length=80)
    sums: BookSumsJson


class BookBatchJson(Strict):
    """One batch of a published book: its place, its root and sums, and its Groth16 proof."""

    index: int = Field(ge=0, lt=1 << 24)
    root: BookNodeJson
    attested_root: str = Field(max_length=80, description="the venue tree's node over the batch's slots")
    proof: ProofJson


class BookTopJson(Strict):
    """A book's top proof: the root over the batch roots, with the totals or reserves >= liabilities."""

    circuit_id: str = Field(pattern=BOOK_TOP_ID, max_length=128)
    proof: ProofJson


class BookHeadJson(Strict):
    """What a book names in either mode: format, venue, signature, circuit, snapshot and depths."""

    format: str = Field(max_length=64, examples=["zkmargin-book/1"])
    venue: str = Field(max_length=128)
    signature: str = Field(pattern=r"^([0-9a-f]{128})?$", description="Ed25519, 128 lower-case hex digits")
    circuit_id: str = Field(pattern=BOOK_CIRCUIT_ID, max_length=128)
    snapshot_id: str = Field(pattern=IDENTIFIER)
    snapshot_digest: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256, 64 lower-case hex digits")
    depth: int = Field(ge=0, le=64)
    batch_depth: int = Field(ge=0, le=64)
    signed_root: SignedRootJson = Field(description="the venue run's signed root; the batches' attested roots must "
                                                    "fold to it")


class BookJson(BookHeadJson):
    """A venue's signed book (zkmargin-book/1, from `zkmargin venue book prove`); checked by the library."""

    root: BookNodeJson
    batches: list[BookBatchJson] = Field(max_length=4096)
    top: BookTopJson | None = Field(default=None, exclude_if=lambda top: top is None,
                                    description="the top proof (optional; absent, not null, when the book has none)")


class ReservesJson(Strict):
    """The venue's signed reserves per asset (zkmargin-book-reserves/1, from `zkmargin venue book reserves`)."""

    format: str = Field(max_length=64, examples=["zkmargin-book-reserves/1"])
    venue: str = Field(max_length=128)
    snapshot_id: str = Field(pattern=IDENTIFIER)
    snapshot_digest: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256, 64 lower-case hex digits")
    reserves_e8: dict[Annotated[str, Field(max_length=128)], Annotated[str, Field(max_length=80)]] = Field(
        max_length=64)
    signature: str = Field(pattern=r"^[0-9a-f]{128}$", description="Ed25519, 128 lower-case hex digits")


class HiddenBatchJson(Strict):
    """One batch of a hidden book: its place, its root's hash (no sum), its attested root and its Groth16 proof."""

    index: int = Field(ge=0, lt=1 << 24)
    root_hash: str = Field(max_length=80)
    attested_root: str = Field(max_length=80, description="the venue tree's node over the batch's slots")
    proof: ProofJson


class HiddenBookJson(BookHeadJson):
    """A venue's signed book with its totals hidden (zkmargin-book-hidden/1): no sum, its top proof shows the
    reserves it carries cover every liability per asset."""

    root_hash: str = Field(max_length=80)
    batches: list[HiddenBatchJson] = Field(max_length=4096)
    top: BookTopJson
    reserves: ReservesJson


def _book_mode(value: Any) -> str:
    """The union member a book document is read as: its format says which (anything else is read as BookJson)."""
    fmt = value.get("format") if isinstance(value, dict) else getattr(value, "format", None)
    return "HiddenBookJson" if fmt == "zkmargin-book-hidden/1" else "BookJson"


AnyBookJson = Annotated[Annotated[BookJson, Tag("BookJson")] | Annotated[HiddenBookJson, Tag("HiddenBookJson")],
                        Discriminator(_book_mode)]
"""A book in either mode, read as the one its format names: errors then name that mode's fields only."""


class BookIn(Strict):
    """Publish a venue's book for one of its published snapshots, optionally with its signed reserves (a hidden
    book carries its own)."""

    book: AnyBookJson
    reserves: ReservesJson | None = None


class AssetCoverageJson(Strict):
    """One asset: what the venue owes and what its signed reserves say it holds (scale 1e8)."""

    asset: str
    liabilities_e8: str | None = Field(description="null in a hidden book: the top proof shows they are covered")
    reserves_e8: str
    covered: bool
    ratio: str | None = Field(description="reserves / liabilities rounded down to 4 places; null when nothing is owed "
                                          "or the book is hidden")


class CensusBucketJson(Strict):
    """One size bucket of the proved census: accounts below maintenance and their shortfall (docs/book.md)."""

    bucket: int
    size: str = Field(description="maintenance requirement in the price unit, low bound in, high bound out",
                      examples=["[1000, 10000)"])
    below_maintenance: str
    shortfall_e32: str


class BookInfo(Strict):
    """A published book, the service's verdict on it, and its reserves against liabilities when given."""

    venue: str
    snapshot_id: str
    circuit_id: str
    root: str
    mode: str = Field(description="auditor (totals public) or hidden (only reserves cover liabilities)")
    totals: dict[str, str] | None = Field(description="null in a hidden book")
    census: list[CensusBucketJson] | None = Field(description="the proved totals below maintenance by account size; "
                                                              "null in a hidden book")
    batches: int
    valid: bool = Field(description="every batch proof and the top verified when the book was accepted (always true: "
                                    "a book that does not verify is refused)")
    published_at: str
    book: BookJson | HiddenBookJson
    reserves: ReservesJson | None = None
    coverage: list[AssetCoverageJson] | None = None


class BookPathJson(Strict):
    """A trader's inclusion path (zkmargin-book-path/1, from the venue's paths/<account>.json)."""

    format: str = Field(max_length=64, examples=["zkmargin-book-path/1"])
    account_id: str = Field(max_length=256)
    index: int = Field(ge=0, lt=1 << 24)
    leaf: BookNodeJson
    siblings: list[BookNodeJson] = Field(max_length=64)
    root: BookNodeJson


class BookCheck(Strict):
    """Whether a path leads from its leaf to the published root and totals, and the figures the leaf counts."""

    included: bool
    account_id: str
    index: int
    leaf: BookNodeJson
    root: str
    reason: str = ""
