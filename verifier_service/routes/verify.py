"""POST /v1/verify and /v1/verify/batch, GET /v1/receipts/{id}."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from verifier_service.deps import authenticate, has_token, rate_limit, state_of
from verifier_service.errors import ApiError
from verifier_service.schemas import (
    Receipt,
    VerifyBatchRequest,
    VerifyBatchResult,
    VerifyRequest,
    VerifyResult,
    error_responses,
)
from verifier_service.verification import verify_and_record, verify_batch_and_record

router = APIRouter(prefix="/v1", tags=["verification"])
ERRORS = error_responses(401, 404, 413, 422, 429, 503)


async def _authorize(request: Request) -> None:
    # A key is looked up in the database: off the event loop (a PostgreSQL round trip would
    # stall every connection), but on Starlette's I/O threads, not the CPU pool.
    caller = await run_in_threadpool(authenticate, request) if has_token(request) else None
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
    await _authorize(request)
    return VerifyResult(**await _in_pool(request, verify_and_record, body))


@router.post("/verify/batch", response_model=VerifyBatchResult, responses=ERRORS)
async def verify_proofs(body: VerifyBatchRequest, request: Request) -> VerifyBatchResult:
    """Verify many proofs in one batch check (limit: settings.max_batch_items, default 1000)."""
    await _authorize(request)
    return VerifyBatchResult(**await _in_pool(request, verify_batch_and_record, body))


@router.get("/receipts/{receipt_id}", response_model=Receipt, responses=error_responses(404, 422, 503))
def get_receipt(receipt_id: str, request: Request) -> Receipt:
    """What was checked, the result and the digest of its inputs."""
    # Snapshots are immutable and never deleted, so the join always finds the one that was checked.
    row = state_of(request).storage.fetch_one(
        "SELECT r.receipt_id, r.circuit_id, r.snapshot_id, r.commitment, r.context, r.proof, r.valid, r.reason,"
        " r.input_digest, r.checked_at, s.digest FROM receipts r JOIN snapshots s ON s.snapshot_id = r.snapshot_id"
        " WHERE r.receipt_id = ?", (receipt_id,))
    if row is None:
        raise ApiError(404, "unknown_receipt", f"receipt {receipt_id!r} does not exist")
    return Receipt(receipt_id=row[0], circuit_id=row[1], snapshot_id=row[2], commitment=row[3], context=row[4],
                   proof_hex=row[5], valid=bool(row[6]), reason=row[7], input_digest=row[8], checked_at=row[9],
                   snapshot_digest=row[10])
