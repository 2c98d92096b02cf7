"""Requests straight into an ASGI app, with the URL path exactly as a client sent it."""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any


def call(app: Any, method: str, raw_path: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """One request straight into the ASGI app with the path as a client sent it, decoded as uvicorn decodes it
    (an HTTP client would tidy `..` away before sending)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": urllib.parse.unquote(raw_path), "raw_path": raw_path.encode("latin-1"), "root_path": "",
             "query_string": b"", "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())]}
    sent: list[dict[str, Any]] = []
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if asked:
            return {"type": "http.disconnect"}
        asked = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
