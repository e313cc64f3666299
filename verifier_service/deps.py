"""Shared state, API-key authentication and per-key rate limiting."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from fastapi import Request

from verifier_service.errors import ApiError
from verifier_service.metrics import Metrics
from verifier_service.settings import Settings
from verifier_service.storage import Storage

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


class LruCache:
    """A thread-safe mapping that forgets its least recently used entries beyond max_entries."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max(1, max_entries)
        self._entries: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        """The value, or None."""
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def get_or_compute(self, key: Any, compute: Callable[[], Any]) -> Any:
        """The cached value, or compute() stored under key (computed outside the lock; a race computes twice)."""
        value = self.get(key)
        if value is None:
            value = compute()
            self[key] = value
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class RateLimiter:
    """Token bucket per caller; in-process, so with several workers the limit applies per worker."""

    def __init__(self, per_minute: int, max_callers: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(max(1, per_minute))
        self.max_callers = max_callers
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def allow(self, caller: str) -> bool:
        """Take one token for caller if there is one."""
        now = time.monotonic()
        with self.lock:
            if caller not in self.buckets and len(self.buckets) >= self.max_callers:
                self._forget_idle(now)
            tokens, last = self.buckets.get(caller, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1:
                self.buckets[caller] = (tokens, now)
                return False
            self.buckets[caller] = (tokens - 1, now)
            return True

    def _forget_idle(self, now: float) -> None:
        # A bucket that has refilled is the same as no bucket: dropping it changes no answer,
        # and keeps one entry per client address from growing without bound.
        refill_s = self.capacity / self.rate if self.rate > 0 else float("inf")
        for caller in [c for c, (_, last) in self.buckets.items() if now - last >= refill_s]:
            del self.buckets[caller]


@dataclass
class ServiceState:
    """Everything a request handler needs, built once by the app factory."""

    settings: Settings
    storage: Storage
    metrics: Metrics
    pool: ThreadPoolExecutor
    limiter: RateLimiter
    vk_cache: LruCache = field(default_factory=lambda: LruCache(256))
    snapshot_cache: LruCache = field(default_factory=lambda: LruCache(1024))
    """Parsed snapshots and their per-circuit public inputs (immutable, so never stale)."""

    @property
    def backend(self):  # noqa: ANN201
        """The curve backend."""
        from zkmargin.backends import get_backend

        return get_backend(self.settings.backend)


@dataclass(frozen=True)
class Caller:
    """An authenticated API key."""

    key_id: str
    role: str
    name: str


def state_of(request: Request) -> ServiceState:
    """The app's ServiceState."""
    return request.app.state.service


def has_token(request: Request) -> bool:
    """Whether the request carries an API key at all (no database needed to tell)."""
    return _token(request) is not None


def _token(request: Request) -> str | None:
    return token_from_headers(request.headers)


def token_from_headers(headers: Mapping[str, str]) -> str | None:
    """The API key of a request: `Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    header = headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return headers.get("x-api-key")


def is_admin_token(token: str | None, admin_key: str) -> bool:
    """Whether token is the bootstrap admin key (constant time; never true when no admin key is set)."""
    return bool(token and admin_key) and hmac.compare_digest(hash_secret(token or ""), hash_secret(admin_key))


def authenticate(request: Request) -> Caller | None:
    """The caller behind the request's key, None without one; a wrong key is a 401."""
    token = _token(request)
    if token is None:
        return None
    state = state_of(request)
    if is_admin_token(token, state.settings.admin_key):
        return Caller("admin", "admin", "bootstrap admin")
    parts = token.split("_", 2)
    if len(parts) == 3 and parts[0] == TOKEN_PREFIX:
        row = state.storage.fetch_one("SELECT key_hash, role, name FROM api_keys WHERE key_id = ?", (parts[1],))
        if row is not None and hmac.compare_digest(hash_secret(parts[2]), row[0]):
            return Caller(parts[1], row[1], row[2])
    raise ApiError(401, "unauthorized", "invalid API key")


def rate_limit(request: Request, caller: Caller | None) -> None:
    """429 when the caller (key, else client address) is over its budget."""
    identity = caller.key_id if caller else f"addr:{request.client.host if request.client else 'unknown'}"
    if not state_of(request).limiter.allow(identity):
        raise ApiError(429, "rate_limited", "too many requests for this API key; slow down")


def require(request: Request, *roles: str) -> Caller:
    """Authenticate, rate-limit and check the caller's role (admin may do everything)."""
    caller = authenticate(request)
    if caller is None:
        raise ApiError(401, "unauthorized", "this endpoint needs an API key (Authorization: Bearer <key>)")
    rate_limit(request, caller)
    if caller.role != "admin" and caller.role not in roles:
        raise ApiError(403, "forbidden", f"a {caller.role} key cannot do this; needs {' or '.join(roles)}")
    return caller
