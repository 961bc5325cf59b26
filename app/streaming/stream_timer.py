"""The process's one timer for all open streams: heartbeats for idle streams and an end for streams whose
client stopped reading. It replaces a timer task per stream; it never touches the database or the network.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from app.streaming.subscriber import Subscriber

TICKS_PER_HEARTBEAT = 8


class StreamTimer:
    def __init__(
        self,
        subscribers: Callable[[], Iterable[Subscriber]],
        heartbeat_seconds: float,
        send_timeout_seconds: float,
    ) -> None:
        self._subscribers = subscribers
        self._heartbeat_seconds = heartbeat_seconds
        self._send_timeout_seconds = send_timeout_seconds

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._heartbeat_seconds / TICKS_PER_HEARTBEAT)
            self.tick(loop.time())

    def tick(self, now: float) -> None:
        """A stream silent for its own idle limit gets a heartbeat. The limits lie between half and the whole
        interval, by slot, so streams that all wrote the same change drift apart instead of sending 10,000
        heartbeats in one instant ever after. The longest silence is one interval and one tick."""
        step = self._heartbeat_seconds / (2 * TICKS_PER_HEARTBEAT)
        for subscriber in self._subscribers():
            started = subscriber.sending_since
            if started and now - started > self._send_timeout_seconds and not subscriber.timed_out:
                # The client stopped reading and its socket buffer is full; it resumes with Last-Event-ID.
                subscriber.timed_out = True
                if subscriber.task is not None:
                    subscriber.task.cancel()
                continue
            idle_limit = self._heartbeat_seconds - step * (subscriber.slot % TICKS_PER_HEARTBEAT)
            if now - subscriber.last_write >= idle_limit:
                subscriber.offer_heartbeat()
