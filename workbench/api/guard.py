"""The outer rules of every request, in one ASGI middleware."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..files import unique_keys
from .problems import problem

_log = logging.getLogger("workbench.api")


def _repeated_key(body: bytes, headers: Any) -> str:
    """Why a JSON body cannot be read when it repeats a key in an object; '' otherwise (or when it is not JSON at
    all: the route says what is wrong with it)."""
    media = next((value for name, value in headers if name == b"content-type"), b"application/json")
    media = media.split(b";")[0].strip().lower()
    if media != b"application/json" and not media.endswith(b"+json"):
        return ""
    try:
        json.loads(body, object_pairs_hook=unique_keys)
    except ValueError as exc:
        return str(exc) if "appears twice" in str(exc) else ""
    except RecursionError:
        return ""
    return ""


class _ClientGone(Exception):
    """The client disconnected before sending its whole body: nobody is there to answer."""


class Guard:
    """Every request's outer rules, in one ASGI middleware (one wrapper per request, not four):

    - a body over `limit` bytes is refused with 413 before the app reads it, headers over `header_limit` bytes
      in all with 431;
    - a JSON body holding an object with a repeated key is refused with 422: one reader would take the first
      value, another the last (an answer given twice, yes and no);
    - HEAD is answered as GET without the body (RFC 9110 9.3.2), whatever the server does;
    - `X-Content-Type-Options: nosniff` on every response, so a browser never reads JSON that quotes hostile text
      (a ruleset title, a URL path) as HTML;
    - the last line: a fault reading the releases (a disk error, a file too big for memory) is a logged 503
      problem document saying so, never a 500 page; bad input has its own 4xx answer."""

    def __init__(self, app: ASGIApp, limit: int, header_limit: int = 16 * 1024) -> None:
        self.app, self.limit, self.header_limit = app, limit, header_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head, started = scope["method"] == "HEAD", False

        async def reply(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-content-type-options"]
                message = {**message, "headers": [*headers, (b"x-content-type-options", b"nosniff")]}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        headers = scope.get("headers", ())
        if sum(len(name) + len(value) + 4 for name, value in headers) > self.header_limit:
            too_many = problem(431, f"The request's headers are over the limit of {self.header_limit:,} bytes.")
            await too_many(scope, receive, reply)
            return
        try:
            body = await self._body(scope, receive)
        except _ClientGone:
            return
        if body is None:
            too_large = problem(413, f"The request body is over the limit of {self.limit:,} bytes.")
            await too_large(scope, receive, reply)
            return
        if body and (repeated := _repeated_key(body, headers)):
            await problem(422, f"The request body is not read: {repeated}. Send each key once.")(
                scope, receive, reply)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            await self.app({**scope, "method": "GET"} if head else scope, replay, reply)
        except Exception:
            if started:
                raise
            _log.exception("could not answer %s %s", scope.get("method"), scope.get("path"))
            response = problem(503, "The releases could not be read just now; nothing was changed. Try again, and "
                               "tell whoever runs this server if it persists.", headers={"Retry-After": "30"})
            await response(scope, receive, reply)

    async def _body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole request body, or None when it is over the limit (declared or sent)."""
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                return None
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                raise _ClientGone
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                return None
        return body
