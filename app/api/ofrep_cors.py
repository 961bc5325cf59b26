"""CORS for OFREP (`/ofrep/`) only: browsers on the allowed origins (`FLAGSTAFF_CORS_ALLOWED_ORIGINS`) may
call it, preflights included. Credentials (cookies) are never allowed: OFREP's keys travel in headers, and a
wildcard origin with credentials would hand any site the caller's session. Other paths pass through untouched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/ofrep/"
_ALLOW_HEADERS = b"Authorization, X-API-Key, Content-Type, If-None-Match"
_ALLOW_METHODS = b"GET, POST, OPTIONS"
_MAX_AGE = b"600"  # seconds a browser may reuse a preflight's answer


def parse_origins(setting: str) -> frozenset[str]:
    return frozenset(origin.strip().rstrip("/") for origin in setting.split(",") if origin.strip())


class OfrepCors:
    def __init__(self, app: ASGIApp, *, allowed_origins: str) -> None:
        self.app = app
        self.origins = parse_origins(allowed_origins)
        self.any_origin = "*" in self.origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        origin = preflight = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"access-control-request-method":
                preflight = value
        allowed = self._allow_origin(origin)
        if scope["method"] == "OPTIONS" and origin is not None and preflight is not None:
            await self._preflight(send, allowed)
            return
        if allowed is None:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *_cors_headers(allowed)]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _allow_origin(self, origin: str | None) -> bytes | None:
        """The `Access-Control-Allow-Origin` value for this origin, or None when it is not allowed."""
        if origin is None:
            return None
        if self.any_origin:
            return b"*"
        return origin.encode("latin-1") if origin.rstrip("/") in self.origins else None

    async def _preflight(self, send: Send, allowed: bytes | None) -> None:
        headers: list[tuple[bytes, bytes]] = [(b"content-length", b"0"), (b"vary", b"Origin")]
        if allowed is not None:
            headers += [
                *_cors_headers(allowed),
                (b"access-control-allow-methods", _ALLOW_METHODS),
                (b"access-control-allow-headers", _ALLOW_HEADERS),
                (b"access-control-max-age", _MAX_AGE),
            ]
        # A refused origin gets no CORS headers, so the browser blocks the request that would follow.
        await send({"type": "http.response.start", "status": 204 if allowed else 403, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _cors_headers(allowed: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", allowed),
        (b"access-control-expose-headers", b"ETag"),
        (b"vary", b"Origin"),
    ]
