"""Every error leaves the service as {"error": {"code", "message"}} with a 4xx status
(or 503 when the database is unavailable)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from zkmargin.errors import AttestationError, MalformedAttestationError, ZkMarginError
from zkmargin.verifier_service.headers import with_security_headers
from zkmargin.verifier_service.storage import StorageConflict, StorageRefused, StorageUnavailable

log = logging.getLogger("zkmargin.verifier_service")


class ApiError(Exception):
    """An HTTP error with a stable code: raised only by dependencies and routes."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


class UnknownCircuit(LookupError):
    """No verification key is registered under this circuit id."""

    def __init__(self, circuit_id: str) -> None:
        super().__init__(f"circuit {circuit_id!r} is not registered")


class UnknownSnapshot(LookupError):
    """No snapshot is published under this id (by this venue, when one is named)."""

    def __init__(self, snapshot_id: str, venue: str | None = None) -> None:
        by = "" if venue is None else f" by venue {venue!r}"
        super().__init__(f"snapshot {snapshot_id!r} is not published{by}")


class AmbiguousSnapshot(LookupError):
    """A snapshot id given without its venue, published by several venues (ids are unique per venue only)."""

    def __init__(self, snapshot_id: str, venues: list[str]) -> None:
        super().__init__(f"snapshot id {snapshot_id!r} is published by several venues ({', '.join(map(repr, venues))})"
                         ": name the venue (field venue, or /v1/venues/{venue}/snapshots/{snapshot_id})")


class UnknownRoot(LookupError):
    """No signed root is registered under this id."""

    def __init__(self, root_id: str) -> None:
        super().__init__(f"root {root_id!r} is not registered")


class SnapshotDoesNotFit(ValueError):
    """The stored snapshot cannot be read by this circuit (capacity, model)."""


def refuse_unless(check: Callable[..., None], *args: object, code: str) -> None:
    """Run a signature check: its AttestationError is a 422 with code (a malformed document's is invalid_input)."""
    try:
        check(*args)
    except MalformedAttestationError as exc:
        raise ApiError(422, "invalid_input", str(exc)) from None
    except AttestationError as exc:
        raise ApiError(422, code, str(exc)) from None


ECHO_LIMIT = 100
"""Longest unbroken run of characters an error message repeats whole (a field element has 78 digits,
a digest 64): a client's 4,000-digit price comes back as its head and its length."""
_LONG_RUN = re.compile(rf"\S{{{ECHO_LIMIT + 1},}}")


def shorten_echoes(message: str) -> str:
    """message with every unbroken run longer than ECHO_LIMIT cut to its head and its length."""
    return _LONG_RUN.sub(lambda m: f"{m.group()[:40]}...({len(m.group())} characters)", message)


def error_body(code: str, message: str, details: object | None = None) -> dict:
    """The JSON error envelope (values the client sent are echoed shortened)."""
    body: dict = {"error": {"code": code, "message": shorten_echoes(message)}}
    if details is not None:
        if isinstance(details, list):
            details = [{**d, "message": shorten_echoes(d["message"])} if isinstance(d, dict)
                       and isinstance(d.get("message"), str) else d for d in details]
        body["error"]["details"] = details
    return body


def allowed_methods(request: Request) -> list[str]:
    """Every method the OpenAPI document lists for the request's path (empty when it lists none)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in operations}
    # HEAD is answered wherever GET is (middleware.HeadAsGet).
    return sorted(methods | ({"HEAD"} if "GET" in methods else set()))


@dataclass(frozen=True)
class ErrorRule:
    """How one exception class leaves the service: status, stable code, and the message the client reads."""

    status: int
    code: str
    message: Callable[[Exception], str] = str
    headers: Mapping[str, str] | None = None
    warn: bool = False
    """Log the exception at warning level (a fault outside the service the operator should see)."""


ERROR_TABLE: dict[type[Exception], ErrorRule] = {
    UnknownCircuit: ErrorRule(404, "unknown_circuit"),
    UnknownSnapshot: ErrorRule(404, "unknown_snapshot"),
    AmbiguousSnapshot: ErrorRule(409, "ambiguous_snapshot"),
    UnknownRoot: ErrorRule(404, "unknown_root"),
    SnapshotDoesNotFit: ErrorRule(422, "snapshot_does_not_fit"),
    # Input validation should have refused the value first; this keeps any it missed a 4xx.
    StorageRefused: ErrorRule(422, "invalid_input", lambda exc: f"the database cannot store this value: {exc}"),
    StorageConflict: ErrorRule(409, "conflict", lambda _: "another request stored the same id first; fetch it instead"),
    # Not a bug of the service: the database is down or locked; clients retry.
    StorageUnavailable: ErrorRule(503, "database_unavailable", lambda _: "the database is unavailable; retry shortly",
                                  headers={"Retry-After": "1"}, warn=True),
    # Not accepted: the commitment is not attested by the snapshot's venue (a malformed document is bad input).
    AttestationError: ErrorRule(422, "attestation_refused"),
    MalformedAttestationError: ErrorRule(422, "invalid_input"),
    ZkMarginError: ErrorRule(422, "invalid_input"),
}
"""Exception class -> its response; a subclass without a row of its own answers as its nearest listed base."""


def rule_for(exc: Exception) -> ErrorRule:
    """The row of the nearest class of exc in ERROR_TABLE (the subclass before its base, as Starlette looks up)."""
    return next(ERROR_TABLE[cls] for cls in type(exc).__mro__ if cls in ERROR_TABLE)


async def table_error(_: Request, exc: Exception) -> JSONResponse:
    """The JSON response of an ERROR_TABLE exception, or of an ApiError (which carries its own status and code)."""
    if isinstance(exc, ApiError):
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status, headers=exc.headers)
    rule = rule_for(exc)
    if rule.warn:
        log.warning("%s", exc)
    return JSONResponse(error_body(rule.code, rule.message(exc)), status_code=rule.status,
                        headers=dict(rule.headers) if rule.headers else None)


UNION_TAGS = frozenset({"BookJson", "HiddenBookJson"})
"""Tags of the request schemas' tagged unions (schemas.AnyBookJson): not part of a field's location."""


def install_error_handlers(app: FastAPI) -> None:
    """Map library, validation and HTTP errors to JSON 4xx responses."""
    for exception_class in (ApiError, *ERROR_TABLE):
        app.add_exception_handler(exception_class, table_error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"location": ".".join(str(p) for p in err.get("loc", ()) if str(p) not in UNION_TAGS),
             # A JSON decode error's reason (a duplicate key, a bad token) is in its context.
             "message": err.get("msg", "") + (f": {err['ctx']['error']}" if err.get("type") == "json_invalid"
                                              and (err.get("ctx") or {}).get("error") else "")}
            for err in exc.errors()
        ]
        first = details[0] if details else {"location": "body", "message": "invalid request"}
        return JSONResponse(
            error_body("invalid_request", f"{first['location']}: {first['message']}", details), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI raises a bare 400 only when the body cannot be decoded (bad UTF-8, nesting too
            # deep); it answers other undecodable JSON with a 422, so this one is a 422 as well.
            return JSONResponse(error_body("invalid_request", "body: not decodable JSON"), status_code=422)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette's Allow names only the first route on the path; name every method the path serves.
            headers["Allow"] = ", ".join(allowed_methods(request)) or headers.get("Allow", "")
        message = str(exc.detail)
        if exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; allowed: {headers['Allow'] or 'none'}"
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=headers or None)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - a bug if reached
        log.exception("unhandled error")
        # Starlette sends this response outside the middleware: the security headers are added here.
        headers = {name.decode(): value.decode() for name, value in with_security_headers([], request.scope)}
        return JSONResponse(error_body("internal_error", "internal error"), status_code=500, headers=headers)
