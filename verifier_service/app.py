"""App factory: settings -> storage, pool, caches, middleware, routers."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verifier_service.deps import RateLimiter, ServiceState
from verifier_service.errors import error_body, install_error_handlers
from verifier_service.metrics import Metrics
from verifier_service.routes import circuits, health, keys, snapshots, verify
from verifier_service.schemas import KEY_OPTIONAL, KEY_REQUIRED, SECURITY_SCHEMES, error_responses
from verifier_service.settings import Settings
from verifier_service.storage import Storage

ROUTERS = (health.router, keys.router, circuits.router, snapshots.router, verify.router)


class BodyLimitAndMetrics:
    """ASGI middleware: refuse bodies over the limit (413, even when chunked) and time every request."""

    def __init__(self, app: ASGIApp, state: ServiceState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.state.settings.max_body_bytes
        started = time.perf_counter()
        status_holder = {"status": 500}
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _send_json(send, 413, error_body("body_too_large", f"request bodies are limited to {limit} bytes"))
            self._observe(scope, 413, started)
            return
        # Buffer the body (it is small by construction) so that a chunked body over
        # the limit is refused here with a 413 instead of surfacing as a parse error.
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            more = message.get("more_body", False)
            if seen > limit:
                await _send_json(send, 413, error_body("body_too_large", f"request bodies are limited to {limit} bytes"))
                self._observe(scope, 413, started)
                return
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        await self.app(scope, replay, recording_send)
        self._observe(scope, status_holder["status"], started)

    def _observe(self, scope: Scope, status: int, started: float) -> None:
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        self.state.metrics.observe_request(scope.get("method", ""), path, status, time.perf_counter() - started)


async def _send_json(send: Send, status: int, body: dict) -> None:
    import json

    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


def _document_api_keys(app: FastAPI, verify_requires_key: bool) -> None:
    """Declare the key schemes in OpenAPI; whether /v1/verify needs one is configuration, so it is set here."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()  # FastAPI caches this dict as app.openapi_schema
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        for path in ("/v1/verify", "/v1/verify/batch"):
            schema["paths"][path]["post"].update(KEY_REQUIRED if verify_requires_key else KEY_OPTIONAL)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    """A configured application (one per worker process)."""
    settings = settings or Settings()
    from zkmargin.backends import get_backend

    get_backend(settings.backend)  # a misconfigured backend stops the start, not every request later
    state = ServiceState(
        settings=settings,
        storage=Storage(settings.database_url),
        metrics=Metrics(),
        pool=ThreadPoolExecutor(max_workers=settings.worker_threads, thread_name_prefix="verify"),
        limiter=RateLimiter(settings.rate_limit_per_minute),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI):  # noqa: ANN202
        # A server may start the same app again after a shutdown (tests do): renew the pool.
        if getattr(state.pool, "_shutdown", False):
            state.pool = ThreadPoolExecutor(max_workers=settings.worker_threads, thread_name_prefix="verify")
        yield
        state.pool.shutdown(wait=False, cancel_futures=True)

    # The body limit applies to every request, so every operation documents its 413.
    app = FastAPI(title="zkmargin verifier", version="1.0.0", lifespan=lifespan, responses=error_responses(413),
                  description="Verify zero-knowledge margin-solvency proofs against venue snapshots.")
    app.state.service = state
    _document_api_keys(app, settings.verify_requires_key)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BodyLimitAndMetrics, state=state)
    return app
