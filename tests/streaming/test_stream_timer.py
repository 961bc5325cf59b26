"""The process's stream timer: heartbeats only for streams that have been idle for their limit, at most one
queued at a time (the send timeout it enforces is tested with the response, in tests/api)."""

from __future__ import annotations

import pytest

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
