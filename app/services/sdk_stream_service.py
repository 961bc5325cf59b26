"""The SDK stream's use cases: opening an SDK key's event stream (the key check, the subscription that
records the instance's presence, the stream session) and recording an instance's acknowledgement.

Knows nothing of HTTP: the route parses the request and writes the response, and maps the errors below.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from anyio import to_thread

from app.auth import api_keys
from app.services.errors import ServiceError
from app.services.snapshot_service import SdkTarget, SnapshotService
from app.streaming.runtime import Streaming
from app.streaming.stream_session import stream_events
from app.streaming.subscriber import Subscriber


class UnknownSdkKey(ServiceError):
    code = "unauthorized"


class ShuttingDown(ServiceError):
    code = "shutting_down"


class AckRateLimited(ServiceError):
    code = "rate_limited"


class AcksUnavailable(ServiceError):
    code = "unavailable"


class NotConnected(ServiceError):
    code = "not_connected"


@dataclass(frozen=True, slots=True)
class OpenedStream:
    subscriber: Subscriber
    """Its queue feeds `chunks`; the response writing them reports its progress here, for the stream timer."""
    chunks: AsyncGenerator[bytes, None]
    """The encoded stream, to be written as it comes: the first event, then each change, until a farewell."""


class SdkStreamService:
    def __init__(self, snapshots: SnapshotService, streaming: Streaming) -> None:
        self._snapshots = snapshots
        self._streaming = streaming

    async def open(
        self, token: str | None, *, resume_from: int | None, instance_id: str | None
    ) -> OpenedStream:
        """The stream for the SDK key `token`, resuming after revision `resume_from` when given; an instance
        id (well formed) counts the instance as present with the key while the stream is open."""
        target, key_id = await to_thread.run_sync(self._authenticate, token)
        hub = self._streaming.hub
        if not hub.accepting:
            raise ShuttingDown("this server is shutting down; reconnect to another")
        snapshots, settings = self._snapshots, self._streaming.settings

        async def read_snapshot(revision: int) -> tuple[int, bytes]:
            found = await to_thread.run_sync(snapshots.serialized, target.environment_id, revision)
            return found.revision, found.identity

        # Subscribe first, read second: every revision after the subscription reaches the queue.
        subscriber = await hub.subscribe(target.environment_id, key_id, instance_id)
        chunks = stream_events(
            hub,
            self._streaming.source,
            subscriber,
            read_snapshot,
            last_event_id=resume_from,
            resume_max_changes=settings.stream_resume_max_changes,
            retry_ms=settings.stream_retry_ms,
        )
        return OpenedStream(subscriber, chunks)

    def acknowledge(self, token: str | None, instance_id: str, revision: int) -> None:
        """Records that the instance applied `revision`. Refused (NotConnected), storing nothing, unless the
        instance streams or recently polled with this key."""
        target, key_id = self._authenticate(token)
        if not self._streaming.ack_limiter.allow(key_id):
            raise AckRateLimited("too many acknowledgements for this SDK key; retry in a second")
        try:
            # No SDK can be ahead of the database; a larger number is a client bug, not a confirmation.
            stored = self._streaming.registry.record_ack(
                target.environment_id, key_id, instance_id, min(revision, target.revision), time.time()
            )
        except Exception as exc:
            raise AcksUnavailable(f"acknowledgements cannot be stored: {type(exc).__name__}") from exc
        if not stored:
            # Refused rather than ignored: an SDK whose stream registration has not landed yet retries.
            raise NotConnected(
                "no stream or recent poll from this instance with this SDK key; connect before acknowledging",
                "instance_id",
            )

    def _authenticate(self, token: str | None) -> tuple[SdkTarget, str]:
        target = self._snapshots.authenticate_sdk(token) if token else None
        if token is None or target is None:
            raise UnknownSdkKey("an SDK key is required: Authorization: Bearer fs_sdk_...")
        return target, api_keys.key_id_of(token, api_keys.SDK_PREFIX)
