"""The SSE stream's response: a client that stops reading is ended by the stream timer's send timeout (and
a slow one is not)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest
from starlette.types import Message

from app.api.event_stream_response import EventStreamResponse, SendTimeoutError
from app.streaming.stream_timer import StreamTimer
from app.streaming.subscriber import Subscriber


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_a_client_that_stops_reading_is_ended_by_the_send_timeout() -> None:
    subscriber = Subscriber(1, "key", None, queue_size=4, slot=0)
    written: list[bytes] = []

    async def chunks() -> AsyncGenerator[bytes, None]:
        yield b"event: snapshot\nid: 1\ndata: {}\n\n"
        yield b"event: change\nid: 2\ndata: {}\n\n"

    async def receive() -> Message:
        await asyncio.Event().wait()  # the client never leaves
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        if message.get("body"):
            written.append(message["body"])
            if len(written) == 2:
                await asyncio.Event().wait()  # the client's socket buffer is full

    response = EventStreamResponse(chunks(), subscriber, {"Cache-Control": "no-cache"})
    task = asyncio.create_task(response({"type": "http"}, receive, send))
    while len(written) < 2:
        await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    StreamTimer(lambda: [subscriber], 8.0, 20.0).tick(now=loop.time() + 10)
    await asyncio.sleep(0)
    assert not task.done()  # a slow client is not a stuck one
    StreamTimer(lambda: [subscriber], 8.0, 20.0).tick(now=loop.time() + 21)
    with pytest.raises(SendTimeoutError):
        await task
