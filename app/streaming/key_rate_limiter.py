"""Token buckets per key, one set per server process (each SDK key's acknowledgements, each trigger's fires).
Thread-safe and bounded; knows nothing of HTTP.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

_MAX_KEYS = 10_000  # past this many keys the buckets start over (full) rather than grow


class KeyRateLimiter:
    """Each key may spend `rate` per second, in bursts of up to `burst` (by default one second's worth, and
    at least one)."""

    def __init__(
        self, rate: float, clock: Callable[[], float] = time.monotonic, *, burst: float | None = None
    ) -> None:
        self._rate = rate
        self._burst = max(1.0, rate if burst is None else burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, when counted)

    def allow(self, key_id: str) -> bool:
        return self.take(key_id) == 0.0

    def take(self, key_id: str) -> float:
        """Spends one of the key's tokens and returns 0, or, when it has none, spends nothing and returns
        the seconds until it has one."""
        now = self._clock()
        with self._lock:
            if key_id not in self._buckets and len(self._buckets) >= _MAX_KEYS:
                self._buckets.clear()  # keys are authenticated, so only a huge fleet of them gets here
            tokens, then = self._buckets.get(key_id, (self._burst, now))
            tokens = min(self._burst, tokens + (now - then) * self._rate)
            allowed = tokens >= 1.0
            self._buckets[key_id] = (tokens - 1.0 if allowed else tokens, now)
            return 0.0 if allowed else (1.0 - tokens) / self._rate
