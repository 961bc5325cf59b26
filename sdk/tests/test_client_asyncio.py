"""The client in an asyncio application: waiting for flag data lets the event loop run on."""

from __future__ import annotations

import asyncio
from typing import Any

from flagstaff import Client, LiveOptions
from flagstaff.testing import TestSource

STREAM = "/sdk/v1/stream"
POLL = "/sdk/v1/flags"
FAST = LiveOptions(
    read_timeout=30.0, connect_timeout=2.0, initial_backoff=0.05, max_backoff=0.2, poll_interval=0.05,
)  # fmt: skip


async def _wait_while_ticking(client: Client, timeout: float) -> tuple[bool, int]:
    """Waits for the client while another coroutine ticks; returns the answer and the ticks seen meanwhile."""
    ticks = 0
    done = False

    async def tick() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)  # the ticker's first tick
    first = ticks
    ready = await client.wait_until_ready_async(timeout)
    done = True
    await ticker
    return ready, ticks - first


def test_waiting_for_data_that_never_comes_leaves_the_loop_running(server: Any) -> None:
    server.script(STREAM, server.respond(503, b"{}"))
    server.script(POLL, server.respond(503, b"{}"))
    with Client(sdk_key="fs_sdk_test", base_url=server.base_url, options=FAST) as client:
        ready, ticks = asyncio.run(_wait_while_ticking(client, 0.5))

    assert ready is False
    assert ticks >= 5  # a blocking wait would have let the ticker run not once until it returned


def test_waiting_ends_when_the_data_arrives(server: Any) -> None:
    server.script(STREAM, server.respond(503, b"{}"))
    server.script(POLL, server.respond(503, b"{}"))

    async def scenario(client: Client) -> tuple[bool, int]:
        loop = asyncio.get_running_loop()
        serve = server.stream(server.sse("snapshot", server.snapshot(1), 1))
        loop.call_later(0.3, server.script, STREAM, serve)
        return await _wait_while_ticking(client, 20)

    with Client(sdk_key="fs_sdk_test", base_url=server.base_url, options=FAST) as client:
        ready, ticks = asyncio.run(scenario(client))
        assert ready is True
        assert ticks >= 3
        assert client.is_enabled("checkout") is True


def test_a_client_with_data_is_ready_at_once() -> None:
    source = TestSource()
    source.set("f", True)

    async def scenario() -> bool:
        return await Client(data_source=source).wait_until_ready_async(0)

    assert asyncio.run(scenario()) is True
