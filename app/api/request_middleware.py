"""ASGI middleware around every request: request id, body size limit, Prometheus metrics, access log.

Pure ASGI (no BaseHTTPMiddleware), so streaming responses pass through untouched. It wraps the SDK poll path
too, so each request's own cost here is kept to a few microseconds.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_SDK_PREFIX = "/sdk/"
access_logger = logging.getLogger("flagstaff.access")


@dataclass(frozen=True, slots=True)
class AccessLog:
    """Which requests get a line on the `flagstaff.access` logger: none unless `enabled`; then every
    request outside `/sdk/`, and this share of SDK requests (every SDK instance polls every few seconds)."""

    enabled: bool = True
    sdk_sample_rate: float = 0.0


class BodyTooLarge(HTTPException):
    """An HTTPException, so FastAPI's body reader passes it on instead of calling it a parse error."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds {limit} bytes")


class RequestMiddleware:
    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, registry: CollectorRegistry, access_log: AccessLog
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.access_log = access_log
        self.requests = Counter(
            "flagstaff_http_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "flagstaff_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        # Finding a labelled child costs more than updating it: keep each one (routes and statuses are few).
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

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
        request_id = given if given and _REQUEST_ID.fullmatch(given) else os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = {"code": 500, "sent": False}
        request_id_header = (b"x-request-id", request_id.encode())

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
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope.get("method", "")
            requests, latency = self._metrics(method, route, int(status["code"]))
            requests.inc()
            latency.observe(elapsed)
            self._log(scope, int(status["code"]), elapsed, request_id)

    def _metrics(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        found = self._children.get((method, route, status))
        if found is None:
            found = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            self._children[(method, route, status)] = found
        return found

    def _log(self, scope: Scope, status: int, elapsed: float, request_id: str) -> None:
        path: str = scope["path"]
        if not self.access_log.enabled:
            return
        if path.startswith(_SDK_PREFIX):
            rate = self.access_log.sdk_sample_rate
            if rate <= 0.0 or (rate < 1.0 and random.random() >= rate):
                return
        if not access_logger.isEnabledFor(logging.INFO):
            return
        client = scope.get("client")
        query = scope.get("query_string", b"")
        target = f"{path}?{query.decode('latin-1')}" if query else path
        access_logger.info(
            '%s - "%s %s HTTP/%s" %d %.1f ms request_id=%s',
            f"{client[0]}:{client[1]}" if client else "-",
            scope.get("method", ""),
            target,
            scope.get("http_version", "1.1"),
            status,
            elapsed * 1000,
            request_id,
        )

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
