"""The security headers of every response: the app's (middleware, error handlers) and the server's own."""

from __future__ import annotations

from starlette.types import Scope

# What a scanner expects on every response. The API answers JSON and text only: no content of its
# own may load anything or be framed. Responses are never stored by caches (one carries a new API
# key's token once); the docs pages get a policy that lets their own scripts and styles run.
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),
)
DOCS_CSP = (b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            b"img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'")
HSTS = (b"strict-transport-security", b"max-age=31536000")
"""Only on requests that came over HTTPS (as a trusted proxy says): browsers ignore it over plain HTTP."""


def with_security_headers(headers: list[tuple[bytes, bytes]], scope: Scope) -> list[tuple[bytes, bytes]]:
    """headers plus the security headers the response does not set itself (HTML gets the docs' CSP)."""
    present = {name.lower() for name, _ in headers}
    html = any(name.lower() == b"content-type" and value.startswith(b"text/html") for name, value in headers)
    wanted = (*SECURITY_HEADERS, HSTS) if scope.get("scheme") == "https" else SECURITY_HEADERS
    added = [(name, DOCS_CSP if html and name == b"content-security-policy" else value)
             for name, value in wanted if name not in present]
    return [*headers, *added]
