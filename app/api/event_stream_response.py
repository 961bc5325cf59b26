"""The ASGI response that writes one SSE stream: the stream session's pre-encoded chunks, straight to `send`.
HTTP only: what to send comes from `app.streaming`.

One task per stream and no timer of its own: heartbeats and the send timeout belong to the process's stream
timer, which is why this is not sse-starlette's response (a task group and four tasks per stream, a lock and a
cancel scope per write).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Mapping

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from app.streaming.subscriber import Subscriber

log = logging.getLogger(__name__)


class SendTimeoutError(BaseException):
    """The client stopped reading: a write waited longer than the send timeout. It resumes later with
    Last-Event-ID.

    Raised only to make the server drop the connection (ASGI has no other way to abort a started response). A
    BaseException, like CancelledError, so no error handler answers it with a 500 or logs it as a failure: a
    slow client is normal operation, reported once, at INFO, before this is raised."""


class SendTimeoutLogFilter(logging.Filter):
    """For the server's error logger (uvicorn's): drops its traceback of a stream the send timeout ended."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], SendTimeoutError))


class EventStreamResponse(StreamingResponse):
    """Starlette's streaming response for the status and headers; its own, leaner writing loop."""

    def __init__(
        self, chunks: AsyncGenerator[bytes, None], subscriber: Subscriber, headers: Mapping[str, str]
    ) -> None:
        headers = {**headers, "Connection": "keep-alive"}
        super().__init__(chunks, headers=headers, media_type="text/event-stream")
        self._chunks = chunks
        self._subscriber = subscriber

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        subscriber = self._subscriber
        task = asyncio.current_task()
        subscriber.task = task
        loop = asyncio.get_running_loop()
        # A blocked task per stream, woken only when the client leaves: nothing else would notice an idle
        # stream's client going away (uvicorn drops writes to a closed connection silently).
        listener = asyncio.create_task(_end_on_disconnect(receive, subscriber))
        subscriber.last_write = loop.time()
        try:
            start = {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            await send(start)
            async for chunk in self._chunks:
                if chunk:
                    subscriber.sending_since = subscriber.last_write = loop.time()
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    subscriber.sending_since = 0.0
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if subscriber.timed_out and task is not None and task.uncancel() == 0:
                log.info(
                    "closed the stream of SDK key %s (instance %s): the client stopped reading %.0f s ago; "
                    "it resumes with Last-Event-ID",
                    subscriber.key_id,
                    subscriber.instance_id or "unnamed",
                    loop.time() - subscriber.sending_since,
                )
                raise SendTimeoutError("the client stopped reading the stream") from None
            raise
        finally:
            listener.cancel()
            await self._chunks.aclose()


async def _end_on_disconnect(receive: Receive, subscriber: Subscriber) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    subscriber.close(b"")
