"""Service settings from the environment (prefix ZKMARGIN_) or explicit arguments."""

from __future__ import annotations

import ipaddress
import logging
import os

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger("zkmargin.verifier_service")


def trusts_every_peer(trusted_proxies: str) -> bool:
    """Whether a ZKMARGIN_TRUSTED_PROXIES value believes X-Forwarded-For from any address ("*" or a /0 network)."""
    if trusted_proxies.strip() == "*":
        return True
    for entry in (part.strip() for part in trusted_proxies.split(",")):
        try:
            if "/" in entry and ipaddress.ip_network(entry, strict=False).prefixlen == 0:
                return True
        except ValueError:
            continue  # not a network: uvicorn compares it as a literal (a Unix socket path)
    return False


class Settings(BaseSettings):
    """Runtime configuration of one service process."""

    model_config = SettingsConfigDict(env_prefix="ZKMARGIN_", extra="ignore")

    database_url: str = "sqlite:///zkmargin-verifier.db"
    """sqlite:///path (WAL, created on first start) or postgresql://user:pass@host/db (shared by workers)."""
    admin_key: str = ""
    """Bootstrap admin API key; empty disables admin endpoints."""
    verify_requires_key: bool = False
    """Whether POST /v1/verify needs an API key (any role)."""
    max_body_bytes: int = 256 * 1024
    """Largest request body on every route but key registration and book publication."""
    max_key_body_bytes: int = 32 * 1024 * 1024
    """Largest POST /v1/circuits body carrying the admin key: the snarkjs verification key of
    tiered-n1023-k1-t16 (67,522 public inputs, the most a snapshot the service accepts can need) is 16.5 MB."""
    max_book_body_bytes: int = 16 * 1024 * 1024
    """Largest POST /v1/books body from a venue (or admin) key: a book of 4,096 batches (the most one request
    takes) with up to 16 assets is about 14 MiB (each batch: its proof, about 1 KB, and its root with K + 5
    sums); every other request, and a books request without such a key, keeps max_body_bytes."""
    body_timeout_s: float = 30.0
    """A request body must arrive in full within this many seconds of the request's start (else 408)."""
    rate_limit_per_minute: int = 600
    """Budget per API key (or per client address without a key), per worker process: each proof
    costs one (a batch costs its item count), every other /v1 request one."""
    auth_failures_per_minute: int = 10
    """Requests with a wrong API key per client address and minute; past it, keyed requests get 429."""
    max_anonymous_batch_items: int = 16
    """Largest POST /v1/verify/batch without an API key."""
    worker_threads: int = max(1, os.cpu_count() or 1)
    """Threads for CPU-bound verification (the curve library releases the GIL)."""
    backend: str | None = None
    """Curve backend name; None means $ZKMARGIN_BACKEND or arkworks."""
    max_batch_items: int = 1000
    """Largest POST /v1/verify/batch request."""
    ceremony_ptau: str = ""
    """Path of the prepared phase-1 .ptau this service trusts: a key registered with a ceremony transcript
    must come from it and the service's own R1CS of the circuit; empty: transcripts are refused."""
    trusted_proxies: str = ""
    """Comma-separated addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For and
    X-Forwarded-Proto are believed; empty (the default): none, the peer address is the client.
    "*" (or a /0 network) is a hazard: every peer is believed, so any client that reaches the port can
    claim any address and escape the per-address limits (docs/service-migration.md); a warning is logged."""
    metrics_key: str = ""
    """A key for GET /metrics (Prometheus' bearer token) besides the admin key."""
    metrics_public: bool = False
    """Serve GET /metrics without a key (only where the port is reachable by the scraper alone)."""
    max_header_bytes: int = 32 * 1024
    """Largest request head (request line and headers); past it, 431 and the connection is closed."""
    max_headers: int = 100
    """Most header lines in one request (else 431)."""
    max_url_bytes: int = 8 * 1024
    """Longest request target (else 414)."""
    header_timeout_s: float = 10.0
    """A request head must arrive in full within this many seconds of its first byte, and a new
    connection must send one within as long (else it is closed, with 408 when part of it came)."""
    keep_alive_timeout_s: float = 5.0
    """An idle keep-alive connection is closed after this many seconds."""
    max_connections: int = 1000
    """Open connections per worker process (at most the process's descriptor limit less a reserve):
    past it, the oldest connection still waiting for its request head is closed to make room."""

    @field_validator("trusted_proxies")
    @classmethod
    def _warn_when_every_peer_is_trusted(cls, value: str) -> str:
        """Strip the value (uvicorn trusts every peer for exactly "*") and log the hazard when it trusts all."""
        value = value.strip()
        if trusts_every_peer(value):
            log.warning("ZKMARGIN_TRUSTED_PROXIES=%r believes X-Forwarded-For from every peer: any client that "
                        "reaches this port can claim any address and escape the per-address limits; name the "
                        "proxies' addresses unless only the proxy can reach the port", value)
        return value
