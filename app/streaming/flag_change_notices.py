"""A browser's "flags changed" stream, as OFREP's event streams define it: a `refetchEvaluation` message at
once and for each new revision, so a page re-fetches its evaluated flags (OFREP's bulk evaluation, with its
ETag). It carries revisions only, never flags: what a client key may see it reads through OFREP.

Served to a standard `EventSource`; the caller must have subscribed before calling, as for SDK streams.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator

from app.streaming.events import HEARTBEAT_COMMENT, Encoded, retry_hint
from app.streaming.hub import StreamHub
from app.streaming.subscriber import Farewell, Heartbeat, Resync, Subscriber


def _notice(revision: int) -> bytes:
    # An unnamed event (a `message`), which is what OFREP's providers listen to.
    data = json.dumps({"type": "refetchEvaluation", "revision": revision}, separators=(",", ":"))
    return f"id: {revision}\ndata: {data}\n\n".encode()


async def flag_change_notices(
    hub: StreamHub, subscriber: Subscriber, *, retry_ms: int
) -> AsyncGenerator[bytes, None]:
    """The first event names the revision the page should be at; a page that reconnects re-fetches once, which
    covers any change it missed while it was away."""
    try:
        sent = subscriber.baseline
        yield retry_hint(retry_ms) + _notice(sent)
        while True:
            item = await subscriber.queue.get()
            if isinstance(item, Encoded | Resync):
                revision = (
                    item.revision if isinstance(item, Encoded) else hub.revision(subscriber.environment_id)
                )
                if revision > sent:
                    sent = revision
                    yield _notice(revision)
            elif isinstance(item, Heartbeat):
                yield HEARTBEAT_COMMENT
            elif isinstance(item, Farewell):
                yield item.body
                return
    finally:
        hub.unsubscribe(subscriber)
