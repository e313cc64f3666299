"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from verifier_service.deps import state_of
from verifier_service.schemas import Status

router = APIRouter(tags=["operations"])

# /metrics answers text, but its errors (a 413 from the body limit) are JSON like everywhere else.
_METRICS_RESPONSES = {
    200: {"description": "Prometheus text exposition format 0.0.4",
          "content": {"text/plain": {"schema": {"type": "string"}}}},
    413: {"description": "body_too_large",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}},
}


@router.get("/healthz", response_model=Status)
async def healthz() -> Status:
    """The process is up (answers from the event loop, never blocked by verification)."""
    return Status(status="ok")


@router.get("/readyz", response_model=Status, responses={503: {"model": Status, "description": "the database does not answer"}})
def readyz(request: Request) -> JSONResponse:
    """The database answers."""
    ready = state_of(request).storage.ping()
    return JSONResponse({"status": "ready" if ready else "not ready"}, status_code=200 if ready else 503)


@router.get("/metrics", response_class=PlainTextResponse, responses=_METRICS_RESPONSES)  # type: ignore[arg-type]
def metrics(request: Request) -> PlainTextResponse:
    """Prometheus text format."""
    return PlainTextResponse(state_of(request).metrics.render(), media_type="text/plain; version=0.0.4")
