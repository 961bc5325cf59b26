"""One open stream's bounded inbox: encoded events in, or a marker to resend a snapshot, or a farewell.

A subscriber never grows past its bound: when full it drops everything queued and asks for a fresh snapshot.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from app.streaming.events import Encoded


class Resync:
    """The subscriber fell behind: its queued events were dropped and it must send a fresh snapshot."""


@dataclass(frozen=True, slots=True)
class Farewell:
    """Send `body` (a reconnect or error event) and end the stream."""

    body: bytes


Item = Encoded | Resync | Farewell
RESYNC = Resync()


class Subscriber:
    __slots__ = ("baseline", "closing", "environment_id", "instance_id", "key_id", "queue")

    def __init__(self, environment_id: int, key_id: str, instance_id: str | None, queue_size: int) -> None:
        self.environment_id = environment_id
        self.key_id = key_id
        self.instance_id = instance_id
        self.baseline = 0
        """The environment's revision as the hub knew it when this subscriber joined: every later revision
        reaches the queue, so the first snapshot only has to be at least this recent."""
        self.queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=queue_size)
        self.closing = False

    def offer(self, item: Encoded | Resync) -> None:
        if self.closing:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self._clear()
            self.queue.put_nowait(RESYNC)

    def close(self, body: bytes) -> None:
        if self.closing:
            return
        self.closing = True
        self._clear()  # the farewell goes first: a client told to leave needs nothing queued before it
        self.queue.put_nowait(Farewell(body))

    def _clear(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
