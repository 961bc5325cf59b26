"""What every HTTP request leaves behind: its request id, its Prometheus metrics and, per the access-log
settings, a line on the `flagstaff.access` logger.

Shared by the request middleware and the SDK poll front, which answers before the middleware stack runs; each
request's cost here is a few microseconds, since it is paid by every poll.
"""

from __future__ import annotations

import logging
import os
import random
import re
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import Scope

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# SDK traffic, sampled: SDK polls, streams and acks, and OFREP, which applications call per flag check.
_SDK_PREFIXES = ("/sdk/", "/ofrep/")
# Paths that hold a credential (a trigger's secret URL): logged as their route template instead.
_SECRET_PREFIXES = ("/api/v1/triggers/",)
access_logger = logging.getLogger("flagstaff.access")


@dataclass(frozen=True, slots=True)
class AccessLog:
    """Which requests get a line on the `flagstaff.access` logger: none unless `enabled`; then every
    request outside `/sdk/` and `/ofrep/`, and this share of those (every SDK instance polls every few
    seconds, and OFREP is called per flag check)."""

    enabled: bool = True
    sdk_sample_rate: float = 0.0


def request_id(given: str) -> str:
    """The caller's X-Request-ID when it is a sane token, else a new random one (32 hex digits)."""
    return given if given and _REQUEST_ID.fullmatch(given) else os.urandom(16).hex()


class RequestRecorder:
    def __init__(self, registry: CollectorRegistry, access_log: AccessLog) -> None:
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

    def record(self, scope: Scope, route: str, status: int, elapsed: float, request_id: str) -> None:
        method: str = scope.get("method", "")
        found = self._children.get((method, route, status))
        if found is None:
            found = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            self._children[(method, route, status)] = found
        found[0].inc()
        found[1].observe(elapsed)
        if self._logged(scope["path"]):
            client = scope.get("client")
            path = route if scope["path"].startswith(_SECRET_PREFIXES) else scope["path"]
            query = scope.get("query_string", b"")
            access_logger.info(
                '%s - "%s %s HTTP/%s" %d %.1f ms request_id=%s',
                f"{client[0]}:{client[1]}" if client else "-",
                method,
                f"{path}?{query.decode('latin-1')}" if query else path,
                scope.get("http_version", "1.1"),
                status,
                elapsed * 1000,
                request_id,
            )

    def _logged(self, path: str) -> bool:
        if not self.access_log.enabled:
            return False
        if path.startswith(_SDK_PREFIXES):
            rate = self.access_log.sdk_sample_rate
            if rate <= 0.0 or (rate < 1.0 and random.random() >= rate):
                return False
        return access_logger.isEnabledFor(logging.INFO)
