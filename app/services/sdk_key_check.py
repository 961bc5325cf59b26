"""One database check of an SDK key at a time, shared by every poll that misses the cache while it runs.

The poll cache's revision expires for all polls at the same moment: without sharing, each poll in flight then
took a worker thread and a pooled connection at once, and under load that stall set the p99 latency. Runs on
the event loop that awaits it; the check itself runs on a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from anyio import to_thread

from app.services.sdk_poll_cache import SdkTarget

KeyCheck = Callable[[str], SdkTarget | None]
"""Blocking: the key's environment and revision from the database, or None for an unknown or revoked key."""


class SharedKeyCheck:
    def __init__(self, check: KeyCheck) -> None:
        self._check = check
        self._in_flight: dict[str, asyncio.Future[SdkTarget | None]] = {}

    @property
    def in_flight(self) -> int:
        """Checks running now; a finished one is never kept, so the next miss asks the database again."""
        return len(self._in_flight)

    async def __call__(self, token: str) -> SdkTarget | None:
        check = self._in_flight.get(token)
        if check is None:
            check = asyncio.ensure_future(to_thread.run_sync(self._check, token))
            self._in_flight[token] = check
            check.add_done_callback(lambda done: self._finished(token, done))
        # Shielded: a poll whose client goes away must not cancel the check the others are waiting for.
        return await asyncio.shield(check)

    def _finished(self, token: str, done: asyncio.Future[SdkTarget | None]) -> None:
        self._in_flight.pop(token, None)
        if not done.cancelled():
            done.exception()  # marks a failure as seen when every waiter has gone; the waiters re-raise it
