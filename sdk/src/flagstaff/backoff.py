"""How long the live data source waits before it reconnects: a delay that doubles with each failed attempt,
with jitter, from the server's ``retry:`` hint once it sent one, and never beyond ``max_backoff``.

Only arithmetic: no I/O, no clock, no threads; the stream thread asks it and does the waiting.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """The delays before successive reconnection attempts; ``reset`` after a healthy stream starts afresh.

    The first delay is ``initial`` seconds, or the server's hint once ``hint`` was called (the SSE stream's
    reconnection time). Later ones double from the larger of the two, so a hint of 0 cannot make clients
    hammer a server that is down. Every delay is at most ``maximum``, also when the server asks for more,
    and drawn from the upper half of its range: replicas' clients must not reconnect in step.
    """

    def __init__(
        self, initial: float, maximum: float, *, uniform: Callable[[float, float], float] = random.uniform
    ) -> None:
        self._initial = initial
        self._maximum = maximum
        self._uniform = uniform
        self._hint: float | None = None
        self._attempt = 0

    def hint(self, retry_ms: int) -> None:
        """The server's ``retry:`` field, in milliseconds: from now on the first delay after a stream ends."""
        # Compared before dividing: the field may hold ten digits, far beyond any sensible wait.
        self._hint = self._maximum if retry_ms >= self._maximum * 1000 else retry_ms / 1000

    def next_delay(self) -> float:
        """The delay before the next attempt, which this counts as failed until ``reset``."""
        base = self._initial if self._hint is None else self._hint
        if self._attempt > 0:
            base = max(base, self._initial)
        # The exponent is bounded: after days of failures 2**attempt would no longer fit in a float.
        ceiling = min(self._maximum, base * (2 ** min(self._attempt, 32)))
        self._attempt += 1
        return self._uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        """A stream stayed up long enough to count as healthy: the next delay is the first again."""
        self._attempt = 0
