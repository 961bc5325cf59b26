"""Stopping the periodic jobs waits for a round in progress: the app closes its database right after, and a
round still running on its thread would hold a connection of a closed pool."""

from __future__ import annotations

import asyncio
import threading

import pytest

from app.services import periodic
from app.services.periodic import PeriodicJob

pytestmark = pytest.mark.anyio


async def test_stop_returns_only_once_the_round_in_progress_has_ended() -> None:
    started, release = threading.Event(), threading.Event()
    ended: list[str] = []

    def slow_round() -> None:
        started.set()
        release.wait(10)
        ended.append("round")

    tasks = periodic.start_jobs([PeriodicJob("slow", 0.01, slow_round)])
    await asyncio.to_thread(started.wait, 10)
    stopping = asyncio.create_task(periodic.stop_jobs(tasks))
    await asyncio.sleep(0.05)
    assert not stopping.done() and ended == []

    release.set()
    await stopping

    assert ended == ["round"] and all(task.done() for task in tasks)


async def test_a_failing_round_being_waited_for_at_stop_is_not_reported_as_lost() -> None:
    started, release = threading.Event(), threading.Event()

    def failing_round() -> None:
        started.set()
        release.wait(10)
        raise RuntimeError("the database went away")

    tasks = periodic.start_jobs([PeriodicJob("failing", 0.01, failing_round)])
    await asyncio.to_thread(started.wait, 10)
    stopping = asyncio.create_task(periodic.stop_jobs(tasks))
    await asyncio.sleep(0)
    release.set()
    await stopping  # warnings are errors here: an unretrieved exception would fail the test

    assert all(task.cancelled() for task in tasks)
