"""POST /v1/verify and /v1/verify/batch, GET /v1/receipts/{id}."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from verifier_service.deps import authenticate, rate_limit, state_of
from verifier_service.errors import ApiError
from verifier_service.schemas import (
    ErrorResponse,
    Receipt,
    VerifyBatchRequest,
    VerifyBatchResult,
    VerifyRequest,
    VerifyResult,
)
from verifier_service.verification import verify_and_record, verify_batch_and_record

router = APIRouter(prefix="/v1", tags=["verification"])
ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": ErrorResponse}, 404: {"model": ErrorResponse}, 413: {"model": ErrorResponse},
          422: {"model": ErrorResponse}, 429: {"model": ErrorResponse}}


def _authorize(request: Request) -> None:
    caller = authenticate(request)
    if caller is None and state_of(request).settings.verify_requires_key:
        raise ApiError(401, "unauthorized", "this service requires an API key to verify")
    rate_limit(request, caller)


async def _in_pool(request: Request, function, body):  # noqa: ANN001, ANN202
    """Run CPU-bound work on the worker pool so the event loop (and /healthz) stays responsive."""
    state = state_of(request)
    return await asyncio.get_running_loop().run_in_executor(state.pool, function, state, body)


@router.post("/verify", response_model=VerifyResult, responses=ERRORS)
async def verify_proof(body: VerifyRequest, request: Request) -> VerifyResult:
    """Verify a proof against the stored snapshot: the client never supplies prices or rates."""
    _authorize(request)
    return VerifyResult(**await _in_pool(request, verify_and_record, body))


@router.post("/verify/batch", response_model=VerifyBatchResult, responses=ERRORS)
async def verify_proofs(body: VerifyBatchRequest, request: Request) -> VerifyBatchResult:
    """Verify many proofs in one batch check (limit: settings.max_batch_items, default 1000)."""
    _authorize(request)
    return VerifyBatchResult(**await _in_pool(request, verify_batch_and_record, body))


@router.get("/receipts/{receipt_id}", response_model=Receipt, responses={404: {"model": ErrorResponse}})
def get_receipt(receipt_id: str, request: Request) -> Receipt:
    """What was checked, the result and the digest of its inputs."""
    row = state_of(request).storage.fetch_one(
        "SELECT receipt_id, circuit_id, snapshot_id, commitment, context, proof, valid, reason, input_digest, checked_at"
        " FROM receipts WHERE receipt_id = ?", (receipt_id,))
    if row is None:
        raise ApiError(404, "unknown_receipt", f"receipt {receipt_id!r} does not exist")
    return Receipt(receipt_id=row[0], circuit_id=row[1], snapshot_id=row[2], commitment=row[3], context=row[4],
                   proof_hex=row[5], valid=bool(row[6]), reason=row[7], input_digest=row[8], checked_at=row[9])
