"""App factory: settings -> storage, pool, caches, middleware, routers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI
from verifier_service.deps import RateLimiter, ServiceState
from verifier_service.errors import install_error_handlers
from verifier_service.metrics import Metrics
from verifier_service.middleware import BodyLimitAndMetrics
from verifier_service.routes import circuits, health, keys, snapshots, verify
from verifier_service.schemas import KEY_OPTIONAL, KEY_REQUIRED, SECURITY_SCHEMES, error_responses
from verifier_service.settings import Settings
from verifier_service.storage import Storage

ROUTERS = (health.router, keys.router, circuits.router, snapshots.router, verify.router)


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
