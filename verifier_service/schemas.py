"""Request and response models of API v1 (strict: unknown fields are rejected)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from circuits.registry import CIRCUIT_ID_PATTERN

Decimal = str | int
FieldElement = str
IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"


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
    404: "unknown_circuit, unknown_snapshot, unknown_receipt, not_found",
    409: "already_registered, already_published, conflict",
    413: "body_too_large, batch_too_large",
    422: "invalid_request (schema, undecodable JSON), invalid_input (field element, point, key, snapshot), wrong_public_input_count, snapshot_does_not_fit",
    429: "rate_limited: over the per-key budget",
    503: "database_unavailable: retry later",
}


# The two headers deps._token reads a key from, as OpenAPI security schemes.
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "bearerKey": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <token>"},
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
KEY_REQUIRED: dict[str, Any] = {"security": [{"bearerKey": []}, {"apiKeyHeader": []}]}
# An empty requirement makes the key optional; a key that is sent must still be valid.
KEY_OPTIONAL: dict[str, Any] = {"security": [{}, {"bearerKey": []}, {"apiKeyHeader": []}]}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these statuses, each an ErrorResponse body."""
    return {status: {"model": ErrorResponse, "description": ERROR_DESCRIPTIONS[status]} for status in statuses}


class CircuitRegistration(Strict):
    """Register the verification key of a circuit (snarkjs verification_key.json)."""

    circuit_id: str = Field(pattern=CIRCUIT_ID_PATTERN, examples=["cross-n64-k8"])
    verification_key: dict


class CircuitInfo(Strict):
    """A registered circuit."""

    circuit_id: str
    num_public: int
    vk_digest: str
    registered_at: str


class AssetIn(Strict):
    """A collateral asset quote."""

    asset: str = Field(min_length=1, max_length=128)
    price: Decimal
    haircut: Decimal
    scenario_value_change: list[Decimal] | None = Field(default=None, min_length=1, max_length=1000)


class TierIn(Strict):
    """A maintenance bracket (tiered model)."""

    notional_floor: Decimal
    notional_cap: Decimal
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

    instrument: str = Field(min_length=1, max_length=128)
    mark_price: Decimal
    maintenance_rate: Decimal
    contract_size: Decimal
    tiers: list[TierIn] | None = Field(default=None, min_length=1, max_length=16)
    risk: RiskIn | None = None
    scenario_pnl: list[Decimal] | None = Field(default=None, min_length=1, max_length=1000)
    risk_array: list[Decimal] | None = Field(default=None, min_length=16, max_length=16)


class ScenariosIn(Strict):
    """Historical scenarios (models var and es): count, confidence in (0, 1), add-on."""

    count: int
    confidence: Decimal
    add_on: Decimal | None = None


class SnapshotIn(Strict):
    """A venue snapshot, in the README's format."""

    snapshot_id: str = Field(pattern=IDENTIFIER)
    venue: str = Field(min_length=1, max_length=128)
    timestamp: str = Field(max_length=64)
    assets: list[AssetIn] = Field(max_length=1024)
    instruments: list[InstrumentIn] = Field(max_length=1024)
    scenarios: ScenariosIn | None = None


class SnapshotInfo(Strict):
    """A stored snapshot."""

    snapshot_id: str
    venue: str
    digest: str
    published_at: str
    document: dict


class ProofJson(BaseModel):
    """snarkjs proof.json (protocol and curve optional)."""

    model_config = ConfigDict(extra="forbid")
    pi_a: list[str] = Field(min_length=3, max_length=3)
    pi_b: list[list[str]] = Field(min_length=3, max_length=3)
    pi_c: list[str] = Field(min_length=3, max_length=3)
    protocol: str | None = None
    curve: str | None = None


class VerifyRequest(Strict):
    """Check a proof against the service's own copy of a snapshot; give proof or proof_b64."""

    circuit_id: str = Field(max_length=64)
    snapshot_id: str = Field(max_length=128)
    commitment: FieldElement = Field(max_length=100, description="decimal or 0x-hex field element")
    context: FieldElement = Field(max_length=100, description="the verifier's challenge or epoch")
    proof: ProofJson | None = None
    proof_b64: str | None = Field(default=None, max_length=400, description="base64 of the 192-byte proof")


class VerifyResult(Strict):
    """The verdict and its durable receipt."""

    valid: bool
    reason: str
    receipt_id: str
    checked_at: str
    circuit_id: str
    snapshot_id: str
    snapshot_digest: str = Field(description="SHA-256 of the stored snapshot's canonical JSON")
    commitment: str
    context: str
    input_digest: str = Field(description=(
        "SHA-256 of the canonical JSON (sorted keys, no spaces) of {circuit_id, snapshot_id, snapshot_digest,"
        " commitment, context, proof: proof_hex, valid}"))


class Receipt(VerifyResult):
    """What was checked, the result and a digest of the inputs."""

    proof_hex: str = Field(description="the 192-byte compressed proof, hex")


class BatchItemIn(Strict):
    """One proof of a batch."""

    id: str | None = Field(default=None, max_length=128)
    commitment: FieldElement = Field(max_length=100)
    context: FieldElement = Field(max_length=100)
    proof: ProofJson | None = None
    proof_b64: str | None = Field(default=None, max_length=400)


class VerifyBatchRequest(Strict):
    """Many proofs against one circuit and snapshot."""

    circuit_id: str = Field(max_length=64)
    snapshot_id: str = Field(max_length=128)
    items: list[BatchItemIn] = Field(max_length=100_000)


class BatchItemResult(Strict):
    """One item's verdict (error set for malformed items; receipt only for well-formed ones)."""

    index: int
    id: str | None
    valid: bool
    error: str | None
    receipt_id: str | None


class VerifyBatchResult(Strict):
    """Verdicts in request order."""

    valid: int
    invalid: int
    malformed: int
    results: list[BatchItemResult]


class KeyRequest(Strict):
    """Create an API key."""

    role: Literal["venue", "verifier"]
    name: str = Field(min_length=1, max_length=128)


class KeyCreated(Strict):
    """The new key; the token is shown only once."""

    key_id: str
    role: str
    name: str
    token: str
