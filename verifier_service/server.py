"""The HTTP/1.1 connection protocol both entry points run (uvicorn with httptools, plus limits).

httptools parses fast but sets no bound on a request head and joins a header from its pieces
(cost that grows faster than the header: an 80 MiB header held the event loop for 13.5 s), and
uvicorn times out neither a request head nor a connection that never sends one. This protocol
feeds the parser at most max_header_bytes of a head, counts header lines, times the head, caps
open connections, and answers what it refuses itself with the service's JSON error envelope.
h11 (uvicorn's other parser) bounds the head too, but costs more CPU per request (bench/service.py
in README.md) and still answers its refusals in plain text.
"""

from __future__ import annotations

import asyncio
import functools
import json
import resource
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from zkmargin.verifier_service.errors import error_body
from zkmargin.verifier_service.headers import SECURITY_HEADERS
from zkmargin.verifier_service.settings import Settings

PROTOCOL = "zkmargin.verifier_service.server:GuardedHttpToolsProtocol"
# Descriptors a worker keeps for itself beyond client connections: the database (a connection and
# its WAL per thread), the listening socket, logs, the event loop.
RESERVED_DESCRIPTORS = 128


@functools.cache
def server_settings() -> Settings:
    """This process's settings (read once: a protocol object is made per connection)."""
    return Settings()


def connection_cap(settings: Settings) -> int:
    """Open connections allowed per process: the setting, kept under the descriptor limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return settings.max_connections
    return max(1, min(settings.max_connections, soft - max(RESERVED_DESCRIPTORS, soft // 4)))


def uvicorn_options() -> dict[str, Any]:
    """The uvicorn.run options of both entry points (`zkmargin serve`, `python -m zkmargin.verifier_service`)."""
    settings = server_settings()
    return {
        "http": PROTOCOL,
        # Client addresses from X-Forwarded-For only from the proxies the operator names: the app does
        # that (settings.trusted_proxies); uvicorn's own default trusts any peer on loopback.
        "proxy_headers": False,
        "server_header": False,
        # The service has no WebSocket route: an upgrade is never handed to a protocol without these
        # guards, even where a WebSocket library happens to be installed.
        "ws": "none",
        "timeout_keep_alive": settings.keep_alive_timeout_s,
    }


class RequestRefused(Exception):
    """Raised inside a parser callback to stop parsing; the refusal is on the protocol."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bounded, timed request head and a connection cap."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = server_settings()
        self.cap = connection_cap(self.settings)
        self.opened_at = 0.0
        self.reading_head = True
        self.head_bytes = 0
        self.head_started = False
        self.header_count = 0
        self.parsed_head_bytes = 0
        """The head in progress as parsed (request line, header names and values): a lower bound on its bytes."""
        self.completed = 0
        """Requests this connection has read in full."""
        self.head_timer: asyncio.TimerHandle | None = None
        self.refusal: tuple[int, str, str] | None = None

    # --- connections -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Register the connection, time its first head, make room when over the cap."""
        super().connection_made(transport)
        self.opened_at = self.loop.time()
        self.arm_head_timer()
        if len(self.connections) > self.cap:
            self.make_room()

    def make_room(self) -> None:
        """Close the oldest connection that is idle or still sending its head (slow clients lose
        their place to a new one, so a flood of them cannot keep /healthz out); else refuse this one."""
        waiting = (c for c in self.connections
                   if c is not self and isinstance(c, GuardedHttpToolsProtocol) and c.is_waiting())
        victim = min(waiting, key=lambda c: c.opened_at, default=None)
        if victim is None:
            self.refuse(503, "too_many_connections", "the server holds as many connections as it may; retry shortly")
            return
        # Out of the set now: the next connection accepted in this loop pass must pick another one.
        self.connections.discard(victim)
        victim.transport.close()

    def is_waiting(self) -> bool:
        """No request of this connection is being answered."""
        return (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the head timer with the connection."""
        self.cancel_head_timer()
        super().connection_lost(exc)

    # --- the request head --------------------------------------------------------------------

    def arm_head_timer(self) -> None:
        """Start timing a head (once per head)."""
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.settings.header_timeout_s, self.head_timed_out)

    def cancel_head_timer(self) -> None:
        """The head is complete, or the connection gone."""
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def head_timed_out(self) -> None:
        """Close a connection whose head did not arrive in time (408 when part of it did)."""
        self.head_timer = None
        if self.transport.is_closing():
            return
        if self.head_started:
            self.refuse(408, "header_timeout",
                        f"the request head did not arrive within {self.settings.header_timeout_s:g} s")
        else:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        """Feed the parser, never more than max_header_bytes of one head."""
        self._unset_keepalive_if_required()
        try:
            while data:
                if self.reading_head:
                    room = self.settings.max_header_bytes - self.head_bytes
                    if room <= 0:
                        # The head has not ended within its limit: the rest is never parsed.
                        self.refuse(431, "header_too_large",
                                    f"request heads here are limited to {self.settings.max_header_bytes} bytes")
                        return
                    piece, data = data[:room], data[room:]
                else:
                    piece, data = data, b""
                in_head, completed = self.reading_head, self.completed
                self.parser.feed_data(piece)
                if self.completed != completed:
                    # A request ended inside piece and the next may have begun there: where is not
                    # known, so the parsed size of its head so far stands in for its bytes (pipelined
                    # requests each get their own limit, and none gets a fresh one mid-head).
                    self.head_bytes = self.parsed_head_bytes
                elif in_head and self.reading_head:
                    self.head_bytes += len(piece)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            status, code, message = self.refusal or (400, "invalid_http", "invalid HTTP request")
            self.logger.warning("Refused a request: %s", message)
            self.refuse(status, code, message)

    def count_head(self, size: int) -> None:
        """Add size parsed bytes to the head in progress; a head past the limit is refused."""
        self.parsed_head_bytes += size
        if self.parsed_head_bytes > self.settings.max_header_bytes:
            self.refusal = (431, "header_too_large",
                            f"request heads here are limited to {self.settings.max_header_bytes} bytes")
            raise RequestRefused

    def on_message_begin(self) -> None:
        """A new head starts (its first byte): time it."""
        super().on_message_begin()
        self.reading_head, self.head_started, self.header_count = True, True, 0
        self.parsed_head_bytes = len(b"GET  HTTP/1.1\r\n\r\n")
        self.arm_head_timer()

    def on_url(self, url: bytes) -> None:
        """Bound the request target."""
        super().on_url(url)
        if len(self.url) > self.settings.max_url_bytes:
            self.refusal = (414, "url_too_long", f"request targets here are limited to {self.settings.max_url_bytes} bytes")
            raise RequestRefused
        self.count_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        """Bound the number of header lines."""
        self.header_count += 1
        if self.header_count > self.settings.max_headers:
            self.refusal = (431, "too_many_headers", f"requests here carry at most {self.settings.max_headers} headers")
            raise RequestRefused
        self.count_head(len(name) + len(value) + len(b":\r\n"))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        """The head is in: stop its timer; the body has its own deadline (middleware)."""
        self.cancel_head_timer()
        self.reading_head, self.head_started = False, False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The next bytes are the next request's head."""
        super().on_message_complete()
        self.reading_head, self.head_bytes, self.parsed_head_bytes = True, 0, 0
        self.completed += 1

    # --- what the protocol answers itself -------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        """uvicorn's plain-text 400, as the service's JSON error."""
        self.refuse(400, "invalid_http", msg)

    def refuse(self, status: int, code: str, message: str) -> None:
        """Answer status with a JSON error (unless a response is being written) and close."""
        self.refusal = None
        self.cancel_head_timer()
        if self.transport.is_closing():
            return
        cycle = self.cycle
        # The refusal answers the request in progress unless its response has begun, or unless it is
        # about a pipelined request behind one not yet answered (then the connection just closes).
        if cycle is None or cycle.response_complete or not (self.reading_head or cycle.response_started):
            payload = json.dumps(error_body(code, message)).encode()
            head = [STATUS_LINE[status]]
            for name, value in [*self.server_state.default_headers, *SECURITY_HEADERS,
                                (b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode()), (b"connection", b"close")]:
                head += [name, b": ", value, b"\r\n"]
            self.transport.write(b"".join([*head, b"\r\n", payload]))
        if cycle is not None and not cycle.response_complete:
            # The application's response, if it comes, goes nowhere (not to a closed transport).
            cycle.disconnected = True
        self.transport.close()
