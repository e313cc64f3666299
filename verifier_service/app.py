"""App factory: settings -> repository, pool, caches, limiters, middleware, routers."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from zkmargin.verifier_service import verification
from zkmargin.verifier_service.coalesce import Coalescer
from zkmargin.verifier_service.deps import FailureBudget, RateLimiter, ServiceState
from zkmargin.verifier_service.errors import install_error_handlers
from zkmargin.verifier_service.metrics import Metrics
from zkmargin.verifier_service.middleware import BodyLimitAndMetrics, HeadAsGet
from zkmargin.verifier_service.repository import Repository
from zkmargin.verifier_service.routes import books, circuits, health, keys, roots, snapshots, venues, verify
from zkmargin.verifier_service.schemas import error_responses
from zkmargin.verifier_service.settings import Settings
from zkmargin.verifier_service.storage import Storage
from zkmargin.verifier_service.verification import Catalog

log = logging.getLogger("zkmargin.verifier_service")


def create_app(settings: Settings | None = None) -> FastAPI:
    """A configured application (one per worker process)."""
    settings = settings or Settings()
    from zkmargin.backends import get_backend

    backend = get_backend(settings.backend)  # a misconfigured backend stops the start, not every request later
    if not settings.admin_key:
        log.warning("ZKMARGIN_ADMIN_KEY is not set: admin requests (creating keys, registering circuits) "
                    "will be refused with 401 until the service is restarted with it")
    repository = Repository(Storage(settings.database_url))
    state = ServiceState(
        settings=settings,
        repository=repository,
        metrics=Metrics(),
        pool=ThreadPoolExecutor(max_workers=settings.worker_threads, thread_name_prefix="verify"),
        limiter=RateLimiter(settings.rate_limit_per_minute),
        auth_failures=FailureBudget(settings.auth_failures_per_minute),
        catalog=Catalog(repository, backend),
        # One job slot per pool thread. The lambdas read `state` (and the function) when called: the
        # lifespan may renew the pool, and a test may substitute the function.
        verifications=Coalescer(lambda requests: verification.verify_many_and_record(state, requests),
                                lambda: state.pool, settings.worker_threads),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # A server may start the same app again after a shutdown (tests do): renew the pool.
        if getattr(state.pool, "_shutdown", False):
            state.pool = ThreadPoolExecutor(max_workers=settings.worker_threads, thread_name_prefix="verify")
        # What is alive once the app starts (modules, the app) lives as long as the server: frozen, the
        # collector's full passes no longer walk it. Measured under load: full passes paused every
        # request for 50-75 ms a few times a minute before, 3-9 ms after. Unfrozen again at shutdown,
        # so a process that runs apps one after another (the tests) can still collect them.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            state.pool.shutdown(wait=False, cancel_futures=True)

    # The body limit applies to every request, so every operation documents its 408 and 413.
    # FastAPIOffline serves /docs and /redoc from assets packaged with it: no CDN, so they work offline.
    app = FastAPIOffline(title="zkmargin verifier", version="1.0.0", lifespan=lifespan,
                         responses=error_responses(408, 413),
                         description="Verify zero-knowledge margin-solvency proofs against venue snapshots.")
    app.state.service = state
    install_error_handlers(app)
    for router in (health.router, keys.router, circuits.router, snapshots.router, roots.router, venues.router,
                   snapshots.venue_router, books.router, verify.build_router(settings.verify_requires_key)):
        app.include_router(router)
    app.add_middleware(HeadAsGet)  # innermost: the metrics and the security headers see the HEAD as sent
    app.add_middleware(BodyLimitAndMetrics, state=state)
    if settings.trusted_proxies.strip():
        # Outermost: the client address every limit and log line sees is the one the named proxies
        # forwarded; from any other peer, X-Forwarded-For is ignored (anyone can write it).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app
