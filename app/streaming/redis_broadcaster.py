"""Fan-out between server processes over Redis pub/sub.

Best effort by design: a lost notice is recovered by the hub's change-log catch-up and its periodic revision
check, so nothing here retries a publish or queues notices while Redis is down. A process's own notices reach
it directly when published; their echo from Redis is recognised and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time

import redis
import redis.asyncio as aioredis

from app.streaming.broadcaster import NoticeHandler, ResyncHandler, deliver_on_loop

log = logging.getLogger(__name__)

CHANNEL = "flagstaff:revisions"
_RECONNECT_DELAY = 0.5
_QUIET_AFTER_FAILURE = 1.0  # while Redis is down, each commit would otherwise wait for a refused connection
# Own notices awaiting their echo. An echo comes back within milliseconds unless the subscription was down
# (then the record is cleared when it is back), so this many is only reached when the echo never comes.
_MAX_AWAITING_ECHO = 10_000


class RedisBroadcaster:
    def __init__(self, url: str) -> None:
        self._url = url
        # A short timeout: publishing happens after the commit, on the writer's thread, and must not hold it.
        self._publisher = redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        self._failed_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_notice: NoticeHandler | None = None
        self._on_resync: ResyncHandler | None = None
        # A notice names one commit, and only the process that made the commit publishes it: a notice
        # received that this process published is its own echo.
        self._awaiting_echo: dict[tuple[int, int], None] = {}
        self._echo_lock = threading.Lock()
        self.connected = asyncio.Event()

    async def start(self, on_notice: NoticeHandler, on_resync: ResyncHandler) -> None:
        self._loop = asyncio.get_running_loop()
        self._on_notice, self._on_resync = on_notice, on_resync
        self._task = asyncio.create_task(self._listen(), name="flagstaff-redis-subscriber")

    def publish(self, environment_id: int, revision: int) -> None:
        deliver_on_loop(self._loop, self._on_notice, environment_id, revision)
        if time.monotonic() - self._failed_at < _QUIET_AFTER_FAILURE:
            return
        notice = (environment_id, revision)
        with self._echo_lock:  # before publishing: the echo may arrive before `publish` returns
            self._awaiting_echo[notice] = None
            if len(self._awaiting_echo) > _MAX_AWAITING_ECHO:
                del self._awaiting_echo[next(iter(self._awaiting_echo))]
        try:
            self._publisher.publish(CHANNEL, f"{environment_id}:{revision}")
        except redis.RedisError as exc:
            with self._echo_lock:
                self._awaiting_echo.pop(notice, None)
            self._failed_at = time.monotonic()
            log.warning("could not publish revision %s of environment %s: %s", revision, environment_id, exc)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._publisher.close()

    async def _listen(self) -> None:
        while True:
            client = aioredis.Redis.from_url(self._url, socket_connect_timeout=1.0, health_check_interval=5)
            try:
                async with client.pubsub() as pubsub:
                    with self._echo_lock:  # echoes of what was published while unsubscribed never come
                        self._awaiting_echo.clear()
                    await pubsub.subscribe(CHANNEL)
                    self.connected.set()
                    self._failed_at = 0.0
                    # Anything published while we were not subscribed is lost: catch up from the database.
                    if self._on_resync is not None:
                        self._on_resync()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._deliver(message["data"])
            except asyncio.CancelledError:
                raise
            except (redis.RedisError, OSError) as exc:
                if self.connected.is_set():
                    log.warning("lost the Redis subscription (%s); relying on database polling", exc)
                self.connected.clear()
            finally:
                await client.aclose()
            await asyncio.sleep(_RECONNECT_DELAY)

    def _deliver(self, data: bytes | str) -> None:
        text = data.decode() if isinstance(data, bytes) else data
        environment, _, revision = text.partition(":")
        try:
            environment_id, revision_number = int(environment), int(revision)
        except ValueError:
            log.warning("ignoring a malformed revision notice %r", text)
            return
        notice = (environment_id, revision_number)
        with self._echo_lock:
            own = notice in self._awaiting_echo
            if own:
                del self._awaiting_echo[notice]
        if own:
            return  # delivered when published
        if self._on_notice is not None:
            self._on_notice(environment_id, revision_number)
