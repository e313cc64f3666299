"""Request bodies parsed strictly: a JSON object with a repeated key is refused, not read last-wins."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            # A JSONDecodeError, so FastAPI answers it as it answers any undecodable body (a 422).
            raise json.JSONDecodeError(f"duplicate key {key!r}", "", 0)
        obj[key] = value
    return obj


class StrictJsonRequest(Request):
    """A request whose json() refuses duplicate object keys."""

    async def json(self) -> Any:
        """The body as JSON, decoded once."""
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), object_pairs_hook=_refuse_duplicates)
        return self._json


class StrictJsonRoute(APIRoute):
    """The route class of every router: handlers see a StrictJsonRequest."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, given the stricter request."""
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler
