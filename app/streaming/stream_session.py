"""One SDK's SSE stream: the first event (resume from the change log, or a snapshot), then its queue, until a
farewell; the caller must have subscribed before calling, so no change can fall between the two.

Produces encoded bytes only; HTTP concerns (auth, headers) belong to the route, timing to the stream timer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable

from anyio import to_thread

from app.streaming.change_source import ChangeSource
from app.streaming.events import (
    HEARTBEAT_COMMENT,
    Encoded,
    change_events,
    resumed_event,
    retry_hint,
    snapshot_event,
)
from app.streaming.hub import StreamHub
from app.streaming.subscriber import Farewell, Heartbeat, Resync, Subscriber

SnapshotReader = Callable[[int], Awaitable[tuple[int, bytes]]]
"""(at least this revision) -> (revision, snapshot JSON)."""


async def stream_events(
    hub: StreamHub,
    source: ChangeSource,
    subscriber: Subscriber,
    read_snapshot: SnapshotReader,
    *,
    last_event_id: int | None,
    resume_max_changes: int,
    retry_ms: int,
) -> AsyncGenerator[bytes, None]:
    try:
        sent = -1
        first: list[Encoded] | None = None
        if last_event_id is not None:
            first = await to_thread.run_sync(
                resume_events, source, subscriber.environment_id, last_event_id, resume_max_changes
            )
            if first == []:
                first = [resumed_event(last_event_id)]
        if first is None:
            revision, body = await read_snapshot(subscriber.baseline)
            first = [snapshot_event(revision, body)]
        yield retry_hint(retry_ms) + b"".join(event.body for event in first)
        sent = first[-1].revision
        while True:
            item = await subscriber.queue.get()
            if isinstance(item, Encoded):
                if item.revision > sent:  # the snapshot or resume may already have covered it
                    sent = item.revision
                    yield item.body
            elif isinstance(item, Heartbeat):
                yield HEARTBEAT_COMMENT
            elif isinstance(item, Resync):
                revision, body = await read_snapshot(max(sent, hub.revision(subscriber.environment_id)))
                sent = max(sent, revision)
                yield snapshot_event(revision, body).body
            elif isinstance(item, Farewell):
                yield item.body
                return
    finally:
        hub.unsubscribe(subscriber)


def resume_events(
    source: ChangeSource, environment_id: int, revision: int, max_rows: int
) -> list[Encoded] | None:
    """The events that bring a client from `revision` to the current one, or None when it needs a snapshot:
    the revision is unknown (ahead of the database), the log has gaps (pruned), or the catch-up is too long.
    Blocks: run it in a worker thread."""
    if revision < 0:
        return None
    current, changes = source.resume_window(environment_id, revision, max_rows + 1)
    if current is None or revision > current:
        return None
    if len(changes) > max_rows:
        return None
    events = change_events(changes)
    # Revisions are contiguous per environment; a missing one means the log no longer reaches that far back.
    if len(events) != current - revision or (events and events[-1].revision != current):
        return None
    return events
