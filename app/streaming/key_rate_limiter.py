"""Token buckets per key, one set per server process (each SDK key's acknowledgements are limited with them).
Thread-safe and bounded; knows nothing of HTTP.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

_MAX_KEYS = 10_000  # past this many keys the buckets start over (full) rather than grow


class KeyRateLimiter:
    """Each key may spend `rate` per second, in bursts of up to one second's worth (at least one)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = max(1.0, rate)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, when counted)

    def allow(self, key_id: str) -> bool:
        now = self._clock()
        with self._lock:
            if key_id not in self._buckets and len(self._buckets) >= _MAX_KEYS:
                self._buckets.clear()  # keys are authenticated, so only a huge fleet of them gets here
            tokens, then = self._buckets.get(key_id, (self._burst, now))
            tokens = min(self._burst, tokens + (now - then) * self._rate)
            allowed = tokens >= 1.0
            self._buckets[key_id] = (tokens - 1.0 if allowed else tokens, now)
            return allowed
