"""Polling instances become present at once, are written at most once per third of the presence TTL, and are
forgotten by this process once a TTL has passed without a poll."""

from __future__ import annotations

import time
from collections.abc import Iterable

import pytest

from app.streaming.ack_registry import InProcessAckRegistry
from app.streaming.poll_presence import PollPresence

TTL = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingRegistry(InProcessAckRegistry):
    def __init__(self) -> None:
        super().__init__(TTL)
        self.writes = 0

    def mark_connected(self, entries: Iterable[tuple[int, str, str]], until: float) -> None:
        self.writes += 1
        super().mark_connected(entries, until)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_a_poll_makes_the_instance_present_with_its_key() -> None:
    registry = CountingRegistry()
    presence = PollPresence(registry, TTL, Clock())

    presence.polled(1, "key1", "a")
    await presence.flushed()

    assert registry.record_ack(1, "key1", "a", 3, time.time())
    assert not registry.record_ack(1, "key2", "a", 3, time.time())
    assert presence.environments() == {1}
    await presence.close()


@pytest.mark.anyio
async def test_polls_are_written_at_most_once_per_third_of_the_ttl() -> None:
    registry = CountingRegistry()
    clock = Clock()
    presence = PollPresence(registry, TTL, clock)

    for _ in range(50):
        presence.polled(1, "key1", "a")
    await presence.flushed()
    assert registry.writes == 1

    clock.now += TTL / 3
    presence.polled(1, "key1", "a")
    await presence.flushed()
    assert registry.writes == 2
    await presence.close()


@pytest.mark.anyio
async def test_an_instance_that_stopped_polling_is_forgotten_after_a_ttl() -> None:
    registry = CountingRegistry()
    clock = Clock()
    presence = PollPresence(registry, TTL, clock)
    presence.polled(1, "key1", "a")
    await presence.flushed()

    clock.now += TTL + 1
    presence.forget_expired()

    assert presence.environments() == set()
    await presence.close()
