"""Presence of SDK instances that poll `GET /sdk/v1/flags` (naming themselves in `X-Flagstaff-Instance`)
instead of streaming: each counts as present with its key for the presence TTL after a poll.

Writes reach the acknowledgement registry in batches, one batch in flight at a time: a poll never waits for a
write, and a flood of polls cannot queue up writes.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

from anyio import to_thread

from app.streaming.ack_registry import AckRegistry

log = logging.getLogger(__name__)

Entry = tuple[int, str, str]  # environment id, key id, instance id


class PollPresence:
    def __init__(
        self, registry: AckRegistry, presence_ttl_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._registry = registry
        self._ttl = presence_ttl_seconds
        self._clock = clock
        self._written: dict[Entry, float] = {}  # -> clock time of the entry's latest write
        self._due: set[Entry] = set()
        self._flushing: asyncio.Task[None] | None = None

    def polled(self, environment_id: int, key_id: str, instance_id: str) -> None:
        """On the event loop; never blocks. Writes an instance at most once per third of the TTL, so one that
        polls at least that often stays present, and one that stops drops out within the TTL."""
        entry = (environment_id, key_id, instance_id)
        now = self._clock()
        if now - self._written.get(entry, -math.inf) < self._ttl / 3:
            return
        self._written[entry] = now
        self._due.add(entry)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush(), name="flagstaff-poll-presence")

    def environments(self) -> set[int]:
        """Environments polled within the TTL: those whose departed instances the hub prunes."""
        return {environment_id for environment_id, _, _ in self._written}

    def forget_expired(self) -> None:
        cutoff = self._clock() - self._ttl
        for entry in [e for e, written in self._written.items() if written < cutoff]:
            del self._written[entry]

    async def flushed(self) -> None:
        """Returns once every poll recorded so far has been written."""
        while self._flushing is not None and not self._flushing.done():
            await asyncio.shield(self._flushing)

    async def close(self) -> None:
        if self._flushing is not None:
            self._flushing.cancel()
            await asyncio.gather(self._flushing, return_exceptions=True)

    async def _flush(self) -> None:
        while self._due:
            batch, self._due = self._due, set()
            until = time.time() + self._ttl
            try:
                await to_thread.run_sync(self._registry.mark_connected, batch, until)
            except Exception:
                log.warning("could not record polling SDK instances", exc_info=True)
