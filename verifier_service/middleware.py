"""ASGI middleware around every request: the body limit and read deadline, the request metrics and
the security headers of every response (headers.py)."""

from __future__ import annotations

import asyncio
import json
import time

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zkmargin.verifier_service.deps import ServiceState, is_admin_token, lookup_caller, token_from_headers
from zkmargin.verifier_service.errors import error_body
from zkmargin.verifier_service.headers import with_security_headers

# Only the admin may register keys, and only a key carries a body this large: the larger limit
# is granted on the admin token alone, so an anonymous client cannot make the server buffer 32 MiB.
KEY_ROUTE = ("POST", "/v1/circuits")
# Only a venue publishes a book (up to 4,096 batches): its limit is granted on a venue's (or the admin's) valid
# key, looked up before the body is read, so a client without one cannot make the server buffer a book's size.
BOOK_ROUTE = ("POST", "/v1/books")


class BodyLimitAndMetrics:
    """Refuse bodies over the route's limit (413, even when chunked) or slower than the deadline (408);
    count and time every response, a 500 from an unhandled exception included (uvicorn's access log
    writes one line per request)."""

    def __init__(self, app: ASGIApp, state: ServiceState) -> None:
        self.app, self.state = app, state

    async def body_limit(self, scope: Scope, headers: Headers) -> int:
        """The body limit for this request: larger on key registration with the admin token, and on book
        publication with a venue's or the admin's key."""
        settings = self.state.settings
        route = (scope.get("method"), scope.get("path"))
        token = token_from_headers(headers)
        if route == KEY_ROUTE and is_admin_token(token, settings.admin_key):
            return max(settings.max_body_bytes, settings.max_key_body_bytes)
        if route == BOOK_ROUTE and token and await self._may_publish(token):
            return max(settings.max_body_bytes, settings.max_book_body_bytes)
        return settings.max_body_bytes

    async def _may_publish(self, token: str) -> bool:
        try:
            # Off the event loop, as the key dependency looks keys up; that dependency still decides the request.
            caller = await run_in_threadpool(lookup_caller, self.state, token)
        except Exception:  # noqa: BLE001 - a database that does not answer: the route gives the 503
            return False
        return caller is not None and caller.role in ("venue", "admin")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500}
        headers = Headers(scope=scope)
        limit = await self.body_limit(scope, headers)
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            # Connection: close after a refused body: the server stops reading it (uvicorn would read
            # and drop whatever the client goes on sending, for as long as it sends).
            await _send_json(send, scope, 413, error_body("body_too_large", f"request bodies here are limited to {limit} bytes"),
                             close=True)
            self._observe(scope, 413, started)
            return
        # Buffer the body (bounded by the limit) so that a chunked body over the limit is refused
        # here with a 413 instead of surfacing as a parse error, under one deadline for the whole
        # body: a client that declares a body and never sends it must not hold a connection open.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.state.settings.body_timeout_s
        chunks, seen, more = [], 0, True
        while more:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                await _send_json(send, scope, 408, error_body(
                    "body_timeout", f"the request body did not arrive within {self.state.settings.body_timeout_s:g} s"),
                    close=True)
                self._observe(scope, 408, started)
                return
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            more = message.get("more_body", False)
            if seen > limit:
                await _send_json(send, scope, 413, error_body("body_too_large", f"request bodies here are limited to {limit} bytes"),
                                 close=True)
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
                message = {**message, "headers": with_security_headers(list(message.get("headers", [])), scope)}
            await send(message)

        try:
            await self.app(scope, replay, recording_send)
        finally:
            # An unhandled exception passes through here on its way to the 500 handler: count it as a 500.
            self._observe(scope, status_holder["status"], started)

    def _observe(self, scope: Scope, status: int, started: float) -> None:
        path = getattr(scope.get("route"), "path", None) or _plain_route_path(scope) or "unmatched"
        self.state.metrics.observe_request(scope.get("method", ""), path, status, time.perf_counter() - started)


def _plain_route_path(scope: Scope) -> str | None:
    """The path of a matched plain Starlette route (/openapi.json, /docs): only FastAPI's own routes set scope["route"]."""
    endpoint = scope.get("endpoint")
    if endpoint is None:
        return None
    for route in getattr(getattr(scope.get("app"), "router", None), "routes", ()):
        if getattr(route, "endpoint", None) is endpoint:
            return getattr(route, "path", None)
    return None


async def _send_json(send: Send, scope: Scope, status: int, body: dict, close: bool = False) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": with_security_headers(headers, scope)})
    await send({"type": "http.response.body", "body": payload})


class HeadAsGet:
    """HEAD answers as GET does, without the body (RFC 9110 9.3.2). FastAPI registers GET routes only, so a load
    balancer's HEAD /healthz got 405 although the Allow header named HEAD."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            # The headers (Content-Length included) are the GET's; only the last body message goes out, empty.
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)
