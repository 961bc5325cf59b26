"""Two server processes sharing PostgreSQL and Redis: writes on one reach SDKs on the other, through Redis
when it is up and through the database safety net when it is not; a killed process's SDKs converge."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from flagstaff import Client
from tests.streaming.admin import Admin
from tests.streaming.processes import RedisServer, ServerProcess, wait_until

# A slow safety net here, so that a fast delivery can only have come through Redis.
POLL_SECONDS = 2.0


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pair(database_url: str, redis: RedisServer) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    servers = [
        ServerProcess(database_url, redis.url, stream_poll_seconds=str(POLL_SECONDS)).launch()
        for _ in range(2)
    ]
    for server in servers:
        server.wait_ready()
    yield servers[0], servers[1]
    for server in servers:
        server.kill()


@pytest.fixture
def writer(pair: tuple[ServerProcess, ServerProcess]) -> Iterator[Admin]:
    for server in pair:
        if server.process is None:
            server.start()
    admin = Admin(pair[0].base_url)
    yield admin
    admin.close()


def _seconds_to_see(client: Client, expected: bool, action: Callable[[], object], timeout: float) -> float:
    started = time.monotonic()
    action()
    wait_until(lambda: client.is_enabled("checkout") is expected, timeout, f"checkout to become {expected}")
    return time.monotonic() - started


def test_a_write_on_one_process_reaches_an_sdk_on_the_other_through_redis(
    pair: tuple[ServerProcess, ServerProcess], writer: Admin, make_client: Callable[..., Client]
) -> None:
    writer.create_flag("checkout")
    key, _ = writer.sdk_key()
    client = make_client(key, pair[1].base_url)
    assert client.wait_until_ready(5)

    elapsed = _seconds_to_see(client, False, lambda: writer.switch("checkout", "kill"), POLL_SECONDS)

    assert elapsed < POLL_SECONDS / 2, "delivered by the safety net, not by Redis"


def test_with_redis_stopped_changes_arrive_within_the_safety_net_and_fast_again_once_it_is_back(
    pair: tuple[ServerProcess, ServerProcess],
    writer: Admin,
    redis: RedisServer,
    make_client: Callable[..., Client],
) -> None:
    writer.create_flag("checkout")
    key, _ = writer.sdk_key()
    client = make_client(key, pair[1].base_url)
    assert client.wait_until_ready(5)

    redis.stop()
    try:
        elapsed = _seconds_to_see(client, False, lambda: writer.switch("checkout", "kill"), POLL_SECONDS + 2)
        assert elapsed <= POLL_SECONDS + 1
    finally:
        redis.start()

    def fast_again() -> bool:
        target = not client.is_enabled("checkout")
        action = "on" if target else "off"
        return _seconds_to_see(client, target, lambda: writer.switch("checkout", action), POLL_SECONDS) < 0.5

    wait_until(fast_again, 10, "Redis delivery to resume")


def test_an_sdk_whose_process_is_killed_reconnects_and_converges(
    pair: tuple[ServerProcess, ServerProcess], writer: Admin, make_client: Callable[..., Client]
) -> None:
    writer.create_flag("checkout")
    key, _ = writer.sdk_key()
    client = make_client(key, pair[1].base_url)
    assert client.wait_until_ready(5)

    pair[1].kill()  # SIGKILL mid-stream: no goodbye, no reconnect event
    writer.switch("checkout", "kill")
    wait_until(lambda: client.status().state == "stale", 5, "the SDK to notice the dead stream")
    assert client.is_enabled("checkout")  # the last known flags until it can reconnect
    pair[1].start()

    wait_until(lambda: not client.is_enabled("checkout"), 10, "convergence after the restart")
    wait_until(lambda: client.status().state == "valid", 5, "the stream to be back")
