"""Liveness, readiness and metrics (not rate limited: load balancers and Prometheus poll them)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from zkmargin.verifier_service.deps import MetricsReader, State
from zkmargin.verifier_service.schemas import Status

router = APIRouter(tags=["operations"])

# /metrics answers text, but its errors (a 413 from the body limit) are JSON like everywhere else.
_METRICS_RESPONSES = {
    200: {"description": "Prometheus text exposition format (prometheus_client)",
          "content": {"text/plain": {"schema": {"type": "string"}}}},
    401: {"description": "unauthorized: no metrics or admin key",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}},
    429: {"description": "too_many_failures: too many wrong keys from this address (Retry-After)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}},
    413: {"description": "body_too_large",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}},
}


@router.get("/healthz", response_model=Status)
async def healthz() -> Status:
    """The process is up (answers from the event loop, never blocked by verification)."""
    return Status(status="ok")


@router.get("/readyz", response_model=Status, responses={503: {"model": Status, "description": "the database does not answer"}})
def readyz(state: State) -> JSONResponse:
    """The database answers."""
    ready = state.repository.ping()
    return JSONResponse({"status": "ready" if ready else "not ready"}, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response, responses=_METRICS_RESPONSES)  # type: ignore[arg-type]
def metrics(state: State, _: MetricsReader) -> Response:
    """Prometheus text format: every worker's series when the service runs several (needs the admin key
    or ZKMARGIN_METRICS_KEY unless ZKMARGIN_METRICS_PUBLIC is set)."""
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
