"""One contract for every Broadcaster: a notice published from any thread reaches every started subscriber
on its event loop, the publishing process's own at once and once only."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from app.streaming.broadcaster import Broadcaster, InProcessBroadcaster
from app.streaming.redis_broadcaster import RedisBroadcaster
from tests.streaming.processes import RedisServer, free_port


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["in_process", "redis"])
def make_broadcaster(request: pytest.FixtureRequest) -> Iterator[type[object] | object]:
    if request.param == "in_process":
        yield InProcessBroadcaster
    else:
        url = request.getfixturevalue("redis").url
        yield lambda: RedisBroadcaster(url)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_a_notice_published_from_another_thread_is_delivered_on_the_loop(
    make_broadcaster: object,
) -> None:
    broadcaster: Broadcaster = make_broadcaster()  # type: ignore[operator]
    received: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def on_notice(environment_id: int, revision: int) -> None:
        assert asyncio.get_running_loop() is loop
        received.put_nowait((environment_id, revision))

    await broadcaster.start(on_notice, lambda: None)
    try:
        if isinstance(broadcaster, RedisBroadcaster):
            await asyncio.wait_for(broadcaster.connected.wait(), 5)
        publisher = threading.Thread(target=broadcaster.publish, args=(7, 42))
        publisher.start()
        publisher.join()
        assert await asyncio.wait_for(received.get(), 5) == (7, 42)
    finally:
        await broadcaster.close()


@pytest.mark.anyio
async def test_the_publishing_process_gets_its_own_notice_at_once_and_only_once(
    make_broadcaster: object,
) -> None:
    broadcaster: Broadcaster = make_broadcaster()  # type: ignore[operator]
    received: list[tuple[int, int]] = []

    def on_notice(environment_id: int, revision: int) -> None:
        received.append((environment_id, revision))

    await broadcaster.start(on_notice, lambda: None)
    try:
        if isinstance(broadcaster, RedisBroadcaster):
            await asyncio.wait_for(broadcaster.connected.wait(), 5)
        await asyncio.to_thread(broadcaster.publish, 7, 42)
        assert received[:1] == [(7, 42)]

        if isinstance(broadcaster, RedisBroadcaster):
            # Another process's notice, published after the first, reaches us after the first one's echo.
            other: Broadcaster = make_broadcaster()  # type: ignore[operator]
            other.publish(8, 1)
            await other.close()
            for _ in range(500):
                if len(received) > 1:
                    break
                await asyncio.sleep(0.01)
        else:
            broadcaster.publish(8, 1)
        assert received == [(7, 42), (8, 1)]
    finally:
        await broadcaster.close()


@pytest.mark.anyio
async def test_the_publishing_process_gets_its_own_notice_even_while_redis_is_unreachable() -> None:
    broadcaster = RedisBroadcaster(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    received: list[tuple[int, int]] = []

    def on_notice(environment_id: int, revision: int) -> None:
        received.append((environment_id, revision))

    await broadcaster.start(on_notice, lambda: None)
    try:
        await asyncio.to_thread(broadcaster.publish, 7, 42)
        # Delivered before `publish` returned to the writer's thread: the loop ran it before resuming here.
        assert received == [(7, 42)]
    finally:
        await broadcaster.close()
