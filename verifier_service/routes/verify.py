"""POST /v1/verify and /v1/verify/batch, GET /v1/receipts/{id}."""

# No `from __future__ import annotations` here: build_router chooses the dependencies per app, and
# FastAPI must see those local Annotated types as objects, not as names to look up in this module.

import functools
import json
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from zkmargin.verifier_service.deps import (
    KEY_OPTIONAL_OPENAPI,
    Caller,
    OptionalCaller,
    Reader,
    RequiredCaller,
    State,
    charge,
    charged_caller,
    charged_optional_caller,
    in_pool,
)
from zkmargin.verifier_service.errors import ApiError
from zkmargin.verifier_service.repository import ReceiptRecord
from zkmargin.verifier_service.schemas import (
    IDENTIFIER,
    Receipt,
    VerifyBatchRequest,
    VerifyBatchResult,
    VerifyRequest,
    VerifyResult,
    error_responses,
)
from zkmargin.verifier_service.strict_json import StrictJsonRoute
from zkmargin.verifier_service.verification import Submission, verify_batch_and_record

ERRORS = error_responses(401, 404, 409, 413, 422, 429, 503)
ReceiptId = Annotated[str, Path(pattern=IDENTIFIER)]


def _receipt_fields(receipt: ReceiptRecord) -> dict:
    """A receipt record's fields as the response models take them (the attestation as its JSON object)."""
    fields = asdict(receipt)
    fields.pop("verifier")  # whose history it counts in stays private: receipts are public
    fields["attestation"] = json.loads(receipt.attestation) if receipt.attestation is not None else None
    return fields


def build_router(verify_requires_key: bool) -> APIRouter:
    """The verification routes; whether verifying needs a key is configuration, so the router is built
    per app and its dependencies (hence its OpenAPI security) follow the setting."""
    router = APIRouter(prefix="/v1", tags=["verification"], route_class=StrictJsonRoute)
    extra = None if verify_requires_key else KEY_OPTIONAL_OPENAPI
    if verify_requires_key:
        Verifier = Annotated[Caller | None, Depends(charged_caller)]  # noqa: N806
        BatchCaller = RequiredCaller  # noqa: N806
    else:
        Verifier = Annotated[Caller | None, Depends(charged_optional_caller)]  # noqa: N806
        BatchCaller = OptionalCaller  # noqa: N806

    @router.post("/verify", response_model=VerifyResult, responses=ERRORS, openapi_extra=extra)
    async def verify_proof(body: VerifyRequest, state: State, caller: Verifier) -> VerifyResult:
        """Verify a proof against the stored snapshot: the client never supplies prices or rates.

        With an API key, the receipt says whether that key had verified the same inputs and proof (seen_before)
        or, in anonymous mode, the same nullifier in the scope (nullifier_seen_before) before; both are null
        without a key.
        """
        # Coalesced with the requests queued beside it: one batch check and one commit for all of them.
        submission = Submission(body, None if caller is None else caller.key_id)
        fields = _receipt_fields(await state.verifications.submit(submission))
        fields.pop("proof_hex")
        return VerifyResult(**fields)

    @router.post("/verify/batch", response_model=VerifyBatchResult, responses=ERRORS, openapi_extra=extra)
    async def verify_proofs(body: VerifyBatchRequest, request: Request, state: State,
                            caller: BatchCaller) -> VerifyBatchResult:
        """Verify many proofs in one batch check; each proof costs one unit of the caller's rate budget.

        At most ZKMARGIN_MAX_BATCH_ITEMS (1000) items, ZKMARGIN_MAX_ANONYMOUS_BATCH_ITEMS (16) without a key.
        """
        items, settings = len(body.items), state.settings
        if caller is None and items > settings.max_anonymous_batch_items:
            raise ApiError(413, "batch_too_large", f"at most {settings.max_anonymous_batch_items} items per batch "
                           "without an API key")
        # A batch larger than the per-minute budget it is charged against could never pass: 413, not 429.
        most = min(settings.max_batch_items, state.limiter.per_minute)
        if items > most:
            raise ApiError(413, "batch_too_large", f"at most {most} items per batch (ZKMARGIN_MAX_BATCH_ITEMS, "
                           "ZKMARGIN_RATE_LIMIT_PER_MINUTE)")
        charge(request, state, caller, cost=items)
        record = functools.partial(verify_batch_and_record, key_id=None if caller is None else caller.key_id)
        return VerifyBatchResult(**await in_pool(state, record, body))

    @router.get("/receipts/{receipt_id}", response_model=Receipt, responses=error_responses(401, 404, 422, 429, 503),
                openapi_extra=KEY_OPTIONAL_OPENAPI)
    def get_receipt(receipt_id: ReceiptId, state: State, _: Reader) -> Receipt:
        """What was checked, the result and the digest of its inputs."""
        receipt = state.repository.receipt(receipt_id)
        if receipt is None:
            raise ApiError(404, "unknown_receipt", f"receipt {receipt_id!r} does not exist")
        return Receipt(**_receipt_fields(receipt))

    return router
