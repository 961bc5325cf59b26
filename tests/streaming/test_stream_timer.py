"""The process's stream timer: heartbeats only for streams that have been idle for their limit, at most one
queued at a time, and a stream whose client stopped reading ends with a send timeout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest
from starlette.types import Message

from app.streaming.event_stream_response import EventStreamResponse, SendTimeoutError
from app.streaming.stream_timer import TICKS_PER_HEARTBEAT, StreamTimer
from app.streaming.subscriber import HEARTBEAT, Subscriber


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _subscribers(count: int) -> list[Subscriber]:
    return [Subscriber(1, "key", None, queue_size=4, slot=slot) for slot in range(count)]


@pytest.mark.anyio
async def test_a_stream_gets_a_heartbeat_once_idle_for_between_half_and_one_interval() -> None:
    subscribers = _subscribers(TICKS_PER_HEARTBEAT)
    for subscriber in subscribers:
        subscriber.last_write = 100.0
    timer = StreamTimer(lambda: subscribers, heartbeat_seconds=8.0, send_timeout_seconds=20.0)

    timer.tick(now=103.9)  # no stream's limit is under half the interval
    assert all(subscriber.queue.empty() for subscriber in subscribers)

    timer.tick(now=108.0)  # and none is over the whole interval
    timer.tick(now=108.5)  # a stream that has not written its heartbeat yet is not given a second one
    assert [subscriber.queue.qsize() for subscriber in subscribers] == [1] * TICKS_PER_HEARTBEAT
    assert all(subscriber.queue.get_nowait() is HEARTBEAT for subscriber in subscribers)


@pytest.mark.anyio
async def test_a_stream_that_wrote_recently_or_is_closing_gets_no_heartbeat() -> None:
    recent, closing = _subscribers(2)
    closing.close(b"bye")
    recent.last_write = closing.last_write = 0.0
    StreamTimer(lambda: [recent, closing], 8.0, 20.0).tick(now=7.0)
    assert recent.queue.empty()  # slot 0: its limit is the whole interval
    assert closing.queue.qsize() == 1  # only its farewell


@pytest.mark.anyio
async def test_a_client_that_stops_reading_is_ended_by_the_send_timeout() -> None:
    subscriber = _subscribers(1)[0]
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
