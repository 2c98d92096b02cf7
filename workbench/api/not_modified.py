"""A 304 answered before any other work: a client that already holds a release asks with If-None-Match, and the
answer is a dictionary lookup and a header comparison, made here, outside the framework's routing and the
request's other layers. Everything else goes on to the app unchanged."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from .catalogue import Catalogue
from .rulesets import etag_matches, release_headers


class NotModified:
    """GET (or HEAD) of `/rulesets/{id}` or `/rulesets/{id}/versions/{version}` with an If-None-Match that still
    matches: 304 with the release's ETag and caching headers, as the route would have said after more work."""

    def __init__(self, app: ASGIApp, catalogue: Catalogue) -> None:
        self.app, self.catalogue = app, catalogue

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            asked = next((value for name, value in scope["headers"] if name == b"if-none-match"), None)
            if asked is not None:
                parts = scope["path"].split("/")
                entry, immutable = None, False
                if len(parts) == 3 and parts[1] == "rulesets" and parts[2]:
                    entry = self.catalogue.latest(parts[2])
                elif len(parts) == 5 and parts[1] == "rulesets" and parts[3] == "versions":
                    entry, immutable = self.catalogue.get(parts[2], parts[4]), True
                if entry is not None and etag_matches(asked.decode("latin-1"), entry.etag):
                    headers = [(k.lower().encode(), v.encode()) for k, v in release_headers(entry, immutable).items()]
                    await send({"type": "http.response.start", "status": 304, "headers": headers})
                    await send({"type": "http.response.body", "body": b""})
                    return
        await self.app(scope, receive, send)
