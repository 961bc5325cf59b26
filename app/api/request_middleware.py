"""ASGI middleware around every request the framework handles: request id, body size limit, and the request's
records (metrics, access log; `request_records`).

Pure ASGI (no BaseHTTPMiddleware), so streaming responses pass through untouched.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.request_records import RequestRecorder, request_id


class BodyTooLarge(HTTPException):
    """An HTTPException, so FastAPI's body reader passes it on instead of calling it a parse error."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds {limit} bytes")


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, recorder: RequestRecorder) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given, length = "", 0
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                given = value.decode("latin-1")
            elif name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = 0
        identifier = request_id(given)
        scope.setdefault("state", {})["request_id"] = identifier
        started = time.perf_counter()
        status = {"code": 500, "sent": False}
        request_id_header = (b"x-request-id", identifier.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                message["headers"] = [*message.get("headers", ()), request_id_header]
            await send(message)

        try:
            if length > self.max_body_bytes:
                raise BodyTooLarge(self.max_body_bytes)
            await self.app(scope, self._limited(receive), send_with_id)
        except BodyTooLarge:
            if not status["sent"]:
                await _send_too_large(send_with_id, self.max_body_bytes)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            elapsed = time.perf_counter() - started
            self.recorder.record(scope, route, int(status["code"]), elapsed, identifier)

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        return limited


async def _send_too_large(send: Any, limit: int) -> None:
    body = json.dumps(
        {"error": {"code": "too_large", "message": f"request body exceeds {limit} bytes", "field": None}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
