"""Shared state and the request dependencies: API-key authentication, roles and rate limits.

Routes take these as Annotated parameters (Admin, Venue, Reader, ...), so the OpenAPI security
of every operation comes from the dependencies it declares. HTTP errors are raised here and in
the routes, nowhere else. Every dependency is `async def`: FastAPI runs a plain `def` dependency
on a worker thread, a hop per dependency per request, and none of these blocks (the one database
read, the key lookup, goes to a thread explicitly).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated, TypeVar

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool

from zkmargin.verifier_service.coalesce import Coalescer
from zkmargin.verifier_service.errors import ApiError
from zkmargin.verifier_service.metrics import Metrics
from zkmargin.verifier_service.repository import Repository
from zkmargin.verifier_service.settings import Settings
from zkmargin.verifier_service.storage import Storage

if TYPE_CHECKING:
    from zkmargin.backends import CurveBackend
    from zkmargin.verifier_service.verification import Catalog

ROLES = ("admin", "venue", "verifier")
TOKEN_PREFIX = "zkm"


def now_iso() -> str:
    """Current UTC time, ISO 8601 with microseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy token (no salt or stretching needed for random 256-bit secrets)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> tuple[str, str, str]:
    """(token, key_id, secret hash): the token is shown once, only the hash is stored."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return f"{TOKEN_PREFIX}_{key_id}_{secret}", key_id, hash_secret(secret)


def token_from_headers(headers: Mapping[str, str]) -> str | None:
    """The API key of a request: `Authorization: Bearer <key>`, else `X-API-Key: <key>`."""
    header = headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return headers.get("x-api-key")


def is_admin_token(token: str | None, admin_key: str) -> bool:
    """Whether token is the bootstrap admin key (constant time; never true when no admin key is set)."""
    return bool(token and admin_key) and hmac.compare_digest(hash_secret(token or ""), hash_secret(admin_key))


class RateLimiter:
    """A per-minute budget per identity, on the `limits` package's moving window (in-process memory,
    so with several workers the budget applies per worker). A request may cost more than one."""

    def __init__(self, per_minute: int) -> None:
        self.item = RateLimitItemPerMinute(max(1, per_minute))
        self.strategy = MovingWindowRateLimiter(MemoryStorage())

    @property
    def per_minute(self) -> int:
        """The budget."""
        return self.item.amount

    def hit(self, identity: str, cost: int = 1) -> int | None:
        """Spend cost from identity's budget: None when allowed, else the seconds until a retry may pass."""
        if self.strategy.hit(self.item, identity, cost=cost):
            return None
        return self.retry_after(identity)

    def exhausted(self, identity: str) -> int | None:
        """None while identity has budget left, else the seconds until it has (nothing is spent)."""
        return None if self.strategy.test(self.item, identity) else self.retry_after(identity)

    def retry_after(self, identity: str) -> int:
        """Whole seconds until the oldest spending in the window expires (at least 1)."""
        reset_at = self.strategy.get_window_stats(self.item, identity).reset_time
        return max(1, math.ceil(reset_at - time.time()))


class FailureBudget:
    """Wrong API keys per client address in a moving minute, spent before the key is checked: of
    many concurrent wrong keys from one address, at most the budget are answered 401 (a slot is
    taken when the check starts, so keys still being looked up count), the others 429. A key that
    turns out valid gives its slot back: a valid key never spends or meets this budget."""

    WINDOW_S = 60.0
    SWEEP_AT = 4096
    """Addresses tracked before the expired ones are dropped (a scan of many addresses cannot grow it for long)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = max(1, per_minute)
        self.failures: dict[str, deque[float]] = {}
        self.pending: dict[str, int] = {}
        self.lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self.failures.get(address) or deque()
        while times and times[0] <= now - self.WINDOW_S:
            times.popleft()
        return times

    def reserve(self, address: str) -> bool:
        """Take a slot for one more wrong key from address; False when the budget is spent."""
        with self.lock:
            if len(self.failures) > self.SWEEP_AT:
                now = time.monotonic()
                self.failures = {a: t for a, t in self.failures.items() if self._recent(a, now)}
            if len(self._recent(address, time.monotonic())) + self.pending.get(address, 0) >= self.per_minute:
                return False
            self.pending[address] = self.pending.get(address, 0) + 1
            return True

    def settle(self, address: str, reserved: bool, failed: bool) -> None:
        """After the check: give the slot back, and record a wrong key that had a slot."""
        with self.lock:
            if not reserved:
                return
            left = self.pending.get(address, 1) - 1
            if left:
                self.pending[address] = left
            else:
                self.pending.pop(address, None)
            if failed:
                self.failures.setdefault(address, deque()).append(time.monotonic())

    def retry_after(self, address: str) -> int:
        """Whole seconds until address's oldest wrong key leaves the window (at least 1)."""
        with self.lock:
            now = time.monotonic()
            times = self._recent(address, now)
            return max(1, math.ceil(times[0] + self.WINDOW_S - now)) if times else 1


@dataclass
class ServiceState:
    """Everything a request handler needs, built once by the app factory."""

    settings: Settings
    repository: Repository
    metrics: Metrics
    pool: ThreadPoolExecutor
    limiter: RateLimiter
    auth_failures: FailureBudget
    catalog: Catalog
    verifications: Coalescer
    """POST /v1/verify requests, run together on the pool when they queue (see coalesce.py)."""

    @property
    def storage(self) -> Storage:
        """The database connections under the repository."""
        return self.repository.storage

    @property
    def backend(self) -> CurveBackend:
        """The curve backend."""
        from zkmargin.backends import get_backend

        return get_backend(self.settings.backend)


@dataclass(frozen=True)
class Caller:
    """An authenticated API key."""

    key_id: str
    role: str
    name: str


async def state_of(request: Request) -> ServiceState:
    """The app's ServiceState."""
    return request.app.state.service


State = Annotated[ServiceState, Depends(state_of)]

# The two headers a key may come in, as OpenAPI security schemes: every operation that depends on
# them lists them. auto_error=False: a missing key is decided below (optional or 401), not by FastAPI.
bearer_scheme = HTTPBearer(auto_error=False, scheme_name="bearerKey", description="Authorization: Bearer <token>")
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKeyHeader")
KEY_OPTIONAL_OPENAPI = {"security": [{}]}
"""openapi_extra of an operation whose key is optional: the empty requirement is OpenAPI's "or none"."""


async def presented_token(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    header: Annotated[str | None, Security(api_key_scheme)],
) -> str | None:
    """The key the request carries, if any (Bearer first, then X-API-Key)."""
    if bearer is not None:
        return bearer.credentials.strip()
    return header


def client_address(request: Request) -> str:
    """The client as its budgets know it (the identity of anonymous callers): the peer address, an
    IPv6 one by its /64 (a host or network is given a whole /64 and could spend a fresh budget from
    each of its addresses), an IPv4-mapped one as IPv4."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address.packed, 64), strict=False))
    return str(address)


def lookup_caller(state: ServiceState, token: str) -> Caller | None:
    """The caller behind a token, None for an unknown, wrong or revoked key (reads the database)."""
    if is_admin_token(token, state.settings.admin_key):
        return Caller("admin", "admin", "bootstrap admin")
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1].isalnum() or not parts[1].isascii():
        return None
    key = state.repository.api_key(parts[1])
    if key is None or key.revoked_at is not None or not hmac.compare_digest(hash_secret(parts[2]), key.key_hash):
        return None
    return Caller(key.key_id, key.role, key.name)


async def optional_caller(request: Request, state: State,
                          token: Annotated[str | None, Depends(presented_token)]) -> Caller | None:
    """The caller, None without a key; a wrong key is a 401, or a 429 once the client's address has
    spent its wrong-key budget. A valid key is always accepted: behind one NAT address, someone
    else's wrong keys must not lock out every keyed caller (admins included). API keys are 256-bit
    random tokens, so guessing one is hopeless; the budget turns a flood of wrong keys into 429s."""
    if token is None:
        return None
    address = client_address(request)
    budget = state.auth_failures
    reserved = budget.reserve(address)
    caller, checked = None, False
    try:
        # A key is looked up in the database: off the event loop (a PostgreSQL round trip would
        # stall every connection), but on Starlette's I/O threads, not the CPU pool.
        caller = await run_in_threadpool(lookup_caller, state, token)
        checked = True
    finally:
        # A database that does not answer (503) says nothing about the key: not a wrong key.
        budget.settle(address, reserved, failed=checked and caller is None)
    if caller is not None:
        return caller
    if not reserved:
        retry = budget.retry_after(address)
        raise ApiError(429, "too_many_failures", "too many requests with a wrong API key from this address",
                       {"Retry-After": str(retry)})
    raise ApiError(401, "unauthorized", "invalid API key")


OptionalCaller = Annotated[Caller | None, Depends(optional_caller)]


async def required_caller(caller: OptionalCaller) -> Caller:
    """The caller; a request without a key is a 401."""
    if caller is None:
        raise ApiError(401, "unauthorized", "this endpoint needs an API key (Authorization: Bearer <key>)")
    return caller


RequiredCaller = Annotated[Caller, Depends(required_caller)]


Body = TypeVar("Body")
Result = TypeVar("Result")


async def in_pool(state: ServiceState, function: Callable[[ServiceState, Body], Result], body: Body) -> Result:
    """Run CPU-bound work on the service's verification pool (worker_threads), not Starlette's thread pool, so
    the event loop (and /healthz) stays responsive and verification never exceeds the configured threads."""
    return await asyncio.get_running_loop().run_in_executor(state.pool, function, state, body)


def charge(request: Request, state: ServiceState, caller: Caller | None, cost: int = 1) -> None:
    """Spend cost from the caller's budget (its key, else its address); 429 with Retry-After when spent."""
    identity = caller.key_id if caller else f"addr:{client_address(request)}"
    retry = state.limiter.hit(identity, cost)
    if retry is not None:
        raise ApiError(429, "rate_limited", f"over the budget of {state.limiter.per_minute} per minute; "
                       f"retry in {retry} s", {"Retry-After": str(retry)})


async def charged_optional_caller(request: Request, state: State, caller: OptionalCaller) -> Caller | None:
    """An optional key, one unit of budget spent."""
    charge(request, state, caller)
    return caller


async def charged_caller(request: Request, state: State, caller: RequiredCaller) -> Caller:
    """A required key, one unit of budget spent."""
    charge(request, state, caller)
    return caller


Reader = Annotated[Caller | None, Depends(charged_optional_caller)]
"""Reads of /v1: anyone, budgeted per key or address."""


def role(*roles: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency: a charged caller whose role is one of roles (admin may do everything)."""

    async def check(caller: Annotated[Caller, Depends(charged_caller)]) -> Caller:
        if caller.role != "admin" and caller.role not in roles:
            raise ApiError(403, "forbidden", f"a {caller.role} key cannot do this; needs {' or '.join(roles)}")
        return caller

    return check


async def metrics_reader(request: Request, state: State,
                         token: Annotated[str | None, Depends(presented_token)]) -> None:
    """GET /metrics: open when ZKMARGIN_METRICS_PUBLIC is set, else the admin key or ZKMARGIN_METRICS_KEY;
    a wrong key spends the address's wrong-key budget as on every other route (429 once it is spent)."""
    settings = state.settings
    if settings.metrics_public:
        return
    if token:
        address = client_address(request)
        reserved = state.auth_failures.reserve(address)
        valid = is_admin_token(token, settings.admin_key) or is_admin_token(token, settings.metrics_key)
        state.auth_failures.settle(address, reserved, failed=not valid)
        if valid:
            return
        if not reserved:
            raise ApiError(429, "too_many_failures", "too many requests with a wrong API key from this address",
                           {"Retry-After": str(state.auth_failures.retry_after(address))})
    raise ApiError(401, "unauthorized", "/metrics needs the admin key or ZKMARGIN_METRICS_KEY "
                   "(Authorization: Bearer <key>), unless ZKMARGIN_METRICS_PUBLIC is set")


MetricsReader = Annotated[None, Depends(metrics_reader)]

Admin = Annotated[Caller, Depends(role("admin"))]
Venue = Annotated[Caller, Depends(role("venue"))]
