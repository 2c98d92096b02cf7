"""The outer rules of every request, in one ASGI middleware."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import problem

_log = logging.getLogger("workbench.api")


class _ClientGone(Exception):
    """The client disconnected before sending its whole body: nobody is there to answer."""


class Guard:
    """Every request's outer rules, in one ASGI middleware (one wrapper per request, not four):

    - a body over `limit` bytes is refused with 413 before the app reads it;
    - HEAD is answered as GET without the body (RFC 9110 9.3.2), whatever the server does;
    - `X-Content-Type-Options: nosniff` on every response, so a browser never reads JSON that quotes hostile text
      (a ruleset title, a URL path) as HTML;
    - the last line: a fault reading the releases (a disk error, a file too big for memory) is a logged 503
      problem document saying so, never a 500 page; bad input has its own 4xx answer."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

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

        try:
            body = await self._body(scope, receive)
        except _ClientGone:
            return
        if body is None:
            too_large = problem(413, f"The request body is over the limit of {self.limit:,} bytes.")
            await too_large(scope, receive, reply)
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
