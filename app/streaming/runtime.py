"""Builds the streaming parts for one app from its settings and its `ChangeSource`: broadcaster,
acknowledgement registry and its per-key rate limiter, and hub.

Created by the app factory and started/stopped by its lifespan; nothing here runs at import time.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from app.settings import Settings
from app.streaming.ack_registry import AckRegistry, InProcessAckRegistry, RedisAckRegistry
from app.streaming.broadcaster import Broadcaster, InProcessBroadcaster
from app.streaming.change_source import ChangeSource
from app.streaming.hub import HubOptions, StreamHub
from app.streaming.key_rate_limiter import KeyRateLimiter
from app.streaming.redis_broadcaster import RedisBroadcaster


class Streaming:
    def __init__(self, settings: Settings, source: ChangeSource, metrics: CollectorRegistry) -> None:
        self.settings = settings
        self.source = source
        broadcaster: Broadcaster
        ttl = settings.stream_presence_ttl_seconds
        if settings.redis_url:
            broadcaster = RedisBroadcaster(settings.redis_url)
            self.registry: AckRegistry = RedisAckRegistry(settings.redis_url, ttl)
        else:
            broadcaster = InProcessBroadcaster()
            self.registry = InProcessAckRegistry(ttl)
        self.ack_limiter = KeyRateLimiter(settings.sdk_ack_rate_per_key)
        self.hub = StreamHub(
            source,
            broadcaster,
            self.registry,
            HubOptions(
                poll_seconds=settings.stream_poll_seconds,
                queue_size=settings.stream_queue_size,
                shutdown_spread_seconds=settings.stream_shutdown_spread_seconds,
                presence_ttl_seconds=ttl,
                heartbeat_seconds=settings.stream_heartbeat_seconds,
                # A client may pause for a while; one that reads nothing for two heartbeats is gone.
                send_timeout_seconds=max(10.0, 2 * settings.stream_heartbeat_seconds),
            ),
            metrics,
        )

    def on_commit(self, environment_id: int, revision: int) -> None:
        """The `CommitListener` the change writer calls after every commit."""
        self.hub.on_commit(environment_id, revision)

    def begin_shutdown(self) -> None:
        """The process is stopping (callable from a signal handler or any thread): drains every stream."""
        self.hub.drain_soon()

    async def start(self) -> None:
        await self.hub.start()

    async def stop(self) -> None:
        await self.hub.stop()
