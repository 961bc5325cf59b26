"""The `Broadcaster` role (tell every server process that an environment reached a revision) and its
in-process implementation for a single process without Redis.

Notices only say "environment E is at revision R"; the change itself is always read from the database. Each
notice reaches each process once: the publishing process at once, without a round trip through the network,
so its own streams never wait for (or lose) Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

NoticeHandler = Callable[[int, int], None]
"""Called on the event loop with (environment_id, revision)."""

ResyncHandler = Callable[[], None]
"""Called on the event loop after notices may have been lost (e.g. a Redis reconnect)."""


class Broadcaster(Protocol):
    async def start(self, on_notice: NoticeHandler, on_resync: ResyncHandler) -> None:
        """Begin delivering notices published by any process, this one included, each once."""

    def publish(self, environment_id: int, revision: int) -> None:
        """Called from any thread after a commit; must not raise and must not block for long. Delivers the
        notice to this process at once, and to the others as the implementation can."""

    async def close(self) -> None: ...


class InProcessBroadcaster:
    """Delivers to this process only: enough when one server process holds every stream."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_notice: NoticeHandler | None = None

    async def start(self, on_notice: NoticeHandler, on_resync: ResyncHandler) -> None:
        self._loop = asyncio.get_running_loop()
        self._on_notice = on_notice

    def publish(self, environment_id: int, revision: int) -> None:
        deliver_on_loop(self._loop, self._on_notice, environment_id, revision)

    async def close(self) -> None:
        self._on_notice = None


def deliver_on_loop(
    loop: asyncio.AbstractEventLoop | None, handler: NoticeHandler | None, environment_id: int, revision: int
) -> None:
    """Calls `handler` on `loop`: at once when called on it, else as soon as the loop gets to it (a commit's
    notice comes from the writer's thread). Nothing before the broadcaster started, or after it closed."""
    if loop is None or handler is None or loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        handler(environment_id, revision)
    else:
        loop.call_soon_threadsafe(handler, environment_id, revision)
