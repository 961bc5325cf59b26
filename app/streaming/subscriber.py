"""One open stream's bounded inbox (encoded events, a snapshot marker, heartbeats, a farewell), plus what the
process's stream timer needs. Never grows past its bound: when full it drops its queue and asks for a resync.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from app.streaming.events import Encoded


class Resync:
    """The subscriber fell behind: its queued events were dropped and it must send a fresh snapshot."""


class Heartbeat:
    """Send the heartbeat comment: the stream has been idle for a heartbeat interval."""


@dataclass(frozen=True, slots=True)
class Farewell:
    """Send `body` (a reconnect or error event; empty when the client already left) and end the stream."""

    body: bytes


Item = Encoded | Resync | Heartbeat | Farewell
RESYNC = Resync()
HEARTBEAT = Heartbeat()


class Subscriber:
    __slots__ = (
        "baseline",
        "closing",
        "environment_id",
        "instance_id",
        "key_id",
        "last_write",
        "queue",
        "sending_since",
        "slot",
        "task",
        "timed_out",
    )

    def __init__(
        self, environment_id: int, key_id: str, instance_id: str | None, queue_size: int, slot: int = 0
    ) -> None:
        self.environment_id = environment_id
        self.key_id = key_id
        self.instance_id = instance_id
        self.baseline = 0
        """The environment's revision as the hub knew it when this subscriber joined: every later revision
        reaches the queue, so the first snapshot only has to be at least this recent."""
        self.queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=queue_size)
        self.closing = False
        self.slot = slot
        """Which tick of the stream timer serves this stream, so heartbeats are spread over the interval."""
        self.sending_since = 0.0
        """Loop time at which the current write to the client began; 0 when not writing."""
        self.last_write = 0.0
        """Loop time at which the latest write began: a stream that wrote recently needs no heartbeat."""
        self.task: asyncio.Task[None] | None = None
        """The task writing the response, cancelled by the stream timer when a write is stuck."""
        self.timed_out = False

    def offer(self, item: Encoded | Resync) -> None:
        if self.closing:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self._clear()
            self.queue.put_nowait(RESYNC)

    def offer_heartbeat(self) -> None:
        # Only into an empty queue: a stream with events queued is not idle; a stuck one holds one at most.
        if not self.closing and self.queue.empty():
            self.queue.put_nowait(HEARTBEAT)

    def close(self, body: bytes) -> None:
        if self.closing:
            return
        self.closing = True
        self._clear()  # the farewell goes first: a client told to leave needs nothing queued before it
        self.queue.put_nowait(Farewell(body))

    def _clear(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
