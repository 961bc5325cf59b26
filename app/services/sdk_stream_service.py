"""The SDK stream's use cases: opening an SDK key's event stream (the key check, the subscription that
records the instance's presence, the stream session) and recording an instance's acknowledgement.

Knows nothing of HTTP: the route parses the request, writes the response and maps each `Refusal` to a status.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from enum import StrEnum

from anyio import to_thread

from app.auth import api_keys
from app.services.errors import ServiceError
from app.services.snapshot_service import SdkTarget, SnapshotService
from app.streaming.runtime import Streaming
from app.streaming.stream_session import stream_events
from app.streaming.subscriber import Subscriber


class Refusal(StrEnum):
    """Why a stream or an acknowledgement was refused; the value is the error's `code`."""

    UNKNOWN_KEY = "unauthorized"
    SHUTTING_DOWN = "shutting_down"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    NOT_CONNECTED = "not_connected"


class Refused(ServiceError):
    def __init__(self, reason: Refusal, message: str, field: str | None = None) -> None:
        super().__init__(message, field)
        self.reason = reason
        self.code = reason.value


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
            raise Refused(Refusal.SHUTTING_DOWN, "this server is shutting down; reconnect to another")
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
        """Records that the instance applied `revision`. Refused (NOT_CONNECTED), storing nothing, unless the
        instance streams or recently polled with this key."""
        target, key_id = self._authenticate(token)
        if not self._streaming.ack_limiter.allow(key_id):
            message = "too many acknowledgements for this SDK key; retry in a second"
            raise Refused(Refusal.RATE_LIMITED, message)
        try:
            # No SDK can be ahead of the database; a larger number is a client bug, not a confirmation.
            stored = self._streaming.registry.record_ack(
                target.environment_id, key_id, instance_id, min(revision, target.revision), time.time()
            )
        except Exception as exc:
            message = f"acknowledgements cannot be stored: {type(exc).__name__}"
            raise Refused(Refusal.UNAVAILABLE, message) from exc
        if not stored:
            # Refused rather than ignored: an SDK whose stream registration has not landed yet retries.
            raise Refused(
                Refusal.NOT_CONNECTED,
                "no stream or recent poll from this instance with this SDK key; connect before acknowledging",
                "instance_id",
            )

    def _authenticate(self, token: str | None) -> tuple[SdkTarget, str]:
        target = self._snapshots.authenticate_sdk(token) if token else None
        if token is None or target is None:
            raise Refused(Refusal.UNKNOWN_KEY, "an SDK key is required: Authorization: Bearer fs_sdk_...")
        return target, api_keys.key_id_of(token, api_keys.SDK_PREFIX)
