"""The process's stream hub: per-environment feeds of encoded change events, fanned out to bounded queues.

Notices (local commits, Redis) only wake a feed; a feed always reads what changed from the change log, and a
periodic revision check catches anything a lost notice would have carried. Never builds snapshots itself.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass

from anyio import to_thread
from prometheus_client import CollectorRegistry, Counter

from app.streaming.ack_registry import AckRegistry
from app.streaming.broadcaster import Broadcaster
from app.streaming.change_source import ChangeSource
from app.streaming.events import change_events, error_event, reconnect_event
from app.streaming.poll_presence import PollPresence
from app.streaming.stream_timer import StreamTimer
from app.streaming.subscriber import Subscriber

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HubOptions:
    poll_seconds: float = 2.0
    queue_size: int = 256
    shutdown_spread_seconds: float = 5.0
    presence_ttl_seconds: float = 30.0
    heartbeat_seconds: float = 15.0
    send_timeout_seconds: float = 30.0


class _Feed:
    __slots__ = ("again", "busy", "ready", "revision", "subscribers")

    def __init__(self) -> None:
        self.revision = -1
        self.ready = asyncio.Event()
        self.subscribers: set[Subscriber] = set()
        self.busy = False
        self.again = False


class StreamHub:
    def __init__(
        self,
        source: ChangeSource,
        broadcaster: Broadcaster,
        registry: AckRegistry,
        options: HubOptions,
        metrics: CollectorRegistry,
    ) -> None:
        self._source = source
        self._log_reads = Counter(
            "flagstaff_stream_change_log_reads",
            "Change-log reads by this process's stream feeds: one per commit to an environment with open "
            "streams, plus the safety net's catch-ups",
            registry=metrics,
        )
        self._broadcaster = broadcaster
        self._registry = registry
        self._options = options
        self.polls = PollPresence(registry, options.presence_ttl_seconds)
        self._feeds: dict[int, _Feed] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self._timer = StreamTimer(self._subscribers, options.heartbeat_seconds, options.send_timeout_seconds)
        self._next_slot = 0
        self.accepting = True

    # -- lifecycle ------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._broadcaster.start(self._notice, self._resync)
        self._tasks = [
            asyncio.create_task(self._poll_forever(), name="flagstaff-stream-poll"),
            asyncio.create_task(self._timer.run(), name="flagstaff-stream-timer"),
        ]

    async def stop(self) -> None:
        self.drain()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.polls.close()
        await self._broadcaster.close()

    def drain(self) -> None:
        """Stop accepting streams and tell every client to reconnect, each after its own random delay, so the
        remaining replicas are not hit by every client at once."""
        if not self.accepting:
            return
        self.accepting = False
        spread_ms = int(self._options.shutdown_spread_seconds * 1000)
        subscribers = list(self._subscribers())
        log.info("draining %d streams over %d ms", len(subscribers), spread_ms)
        for subscriber in subscribers:
            subscriber.close(reconnect_event(random.randint(0, spread_ms)))

    def drain_soon(self) -> None:
        """`drain`, from any thread or a signal handler: it runs on the hub's loop. The server keeps waiting
        for open streams after a stop signal; this ends them."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.drain)

    # -- notices ------
    def on_commit(self, environment_id: int, revision: int) -> None:
        """The commit listener (any thread): one notice, which the broadcaster delivers to this process's feed
        at once and to the other processes' feeds through its channel; each feed wakes once per commit."""
        self._broadcaster.publish(environment_id, revision)

    def _notice(self, environment_id: int, revision: int) -> None:
        feed = self._feeds.get(environment_id)
        if feed is not None and feed.ready.is_set() and revision > feed.revision:
            self._catch_up(environment_id, feed)

    def _resync(self) -> None:
        for environment_id, feed in self._feeds.items():
            if feed.ready.is_set():
                self._catch_up(environment_id, feed)

    def _catch_up(self, environment_id: int, feed: _Feed) -> None:
        if feed.busy:
            feed.again = True  # the running catch-up reads the log once more before it finishes
            return
        feed.busy = True
        task = asyncio.create_task(self._read_changes(environment_id, feed))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _read_changes(self, environment_id: int, feed: _Feed) -> None:
        try:
            while True:
                feed.again = False
                self._log_reads.inc()
                try:
                    changes = await to_thread.run_sync(
                        self._source.changes_after, environment_id, feed.revision
                    )
                except Exception:
                    log.exception("could not read the change log of environment %s", environment_id)
                    return  # the periodic revision check retries
                for event in change_events(changes):
                    if event.revision > feed.revision:
                        feed.revision = event.revision
                        for subscriber in feed.subscribers:
                            subscriber.offer(event)
                if not feed.again:
                    return
        finally:
            feed.busy = False

    # -- subscribers ------
    async def subscribe(self, environment_id: int, key_id: str, instance_id: str | None) -> Subscriber:
        """Joins the environment's feed; every revision after `subscriber.baseline` will reach its queue."""
        self._next_slot += 1
        size, slot = self._options.queue_size, self._next_slot
        subscriber = Subscriber(environment_id, key_id, instance_id, size, slot)
        feed = self._feeds.get(environment_id)
        if feed is None:
            feed = self._feeds[environment_id] = _Feed()
            try:
                revisions = await to_thread.run_sync(self._source.current_revisions, [environment_id])
            except BaseException:
                del self._feeds[environment_id]
                feed.ready.set()
                raise
            feed.revision = revisions.get(environment_id, 0)
            feed.ready.set()
        await feed.ready.wait()
        if self._feeds.get(environment_id) is not feed:  # the first subscriber's read failed
            return await self.subscribe(environment_id, key_id, instance_id)
        subscriber.baseline = feed.revision
        feed.subscribers.add(subscriber)
        if instance_id is not None:
            until = time.time() + self._options.presence_ttl_seconds
            entry = (environment_id, key_id, instance_id)
            self._spawn(to_thread.run_sync(self._registry.mark_connected, [entry], until))
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        feed = self._feeds.get(subscriber.environment_id)
        if feed is not None:
            feed.subscribers.discard(subscriber)
        if subscriber.instance_id is not None and self._loop is not None and not self._loop.is_closed():
            self._spawn(
                to_thread.run_sync(
                    self._registry.mark_disconnected,
                    subscriber.environment_id,
                    subscriber.key_id,
                    subscriber.instance_id,
                    time.time(),
                )
            )

    def revision(self, environment_id: int) -> int:
        feed = self._feeds.get(environment_id)
        return feed.revision if feed is not None else 0

    def stream_count(self) -> int:
        return sum(len(feed.subscribers) for feed in self._feeds.values())

    def _subscribers(self) -> Iterator[Subscriber]:
        for feed in self._feeds.values():
            yield from feed.subscribers

    # -- the safety net ------
    async def _poll_forever(self) -> None:
        last_presence = 0.0
        while True:
            await asyncio.sleep(self._options.poll_seconds)
            try:
                await self._poll_once()
            except Exception:
                log.exception("the periodic stream check failed; retrying")
            # Not after the check above: presence must stay current while the database is down.
            if time.monotonic() - last_presence >= self._options.presence_ttl_seconds / 3:
                last_presence = time.monotonic()
                try:
                    await self._refresh_presence()
                except Exception:
                    log.exception("the presence refresh failed; retrying")

    async def _poll_once(self) -> None:
        ready = {environment_id: feed for environment_id, feed in self._feeds.items() if feed.ready.is_set()}
        revisions = await to_thread.run_sync(self._source.current_revisions, list(ready))
        for environment_id, revision in revisions.items():
            feed = ready[environment_id]
            if revision > feed.revision:
                self._catch_up(environment_id, feed)
        subscribers = [s for feed in ready.values() for s in feed.subscribers]
        keys = {s.key_id for s in subscribers}
        live = await to_thread.run_sync(self._source.live_sdk_keys, keys)
        for subscriber in subscribers:
            if subscriber.key_id not in live:
                subscriber.close(error_event("key_revoked", "the SDK key was revoked"))
        for environment_id, feed in list(self._feeds.items()):
            if not feed.subscribers and feed.ready.is_set():
                del self._feeds[environment_id]  # a later subscriber reads a fresh baseline

    async def _refresh_presence(self) -> None:
        """Extends the presence of every stream (and so keeps the registry's record continuous, even with no
        stream at all), then forgets instances that left more than a TTL ago."""
        entries = [
            (s.environment_id, s.key_id, s.instance_id)
            for feed in self._feeds.values()
            for s in feed.subscribers
            if s.instance_id is not None
        ]
        until = time.time() + self._options.presence_ttl_seconds
        await to_thread.run_sync(self._registry.mark_connected, entries, until)
        self.polls.forget_expired()
        environments = set(self._feeds) | self.polls.environments()
        await to_thread.run_sync(self._registry.prune, environments, time.time())

    def _spawn(self, awaitable: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await awaitable
            except Exception:
                log.warning("presence update failed", exc_info=True)

        task = asyncio.create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
