"""Periodic jobs: a failing round is retried on the next one, and stopping the jobs waits for a round under
way on its thread, so that the app may close the database right after."""

from __future__ import annotations

import asyncio
import threading

import pytest

from app.services.periodic import PeriodicJob, start_jobs, stop_jobs

pytestmark = pytest.mark.anyio


async def test_stopping_waits_for_the_round_under_way() -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def run() -> None:
        started.set()
        release.wait(timeout=30)
        finished.set()

    tasks = start_jobs([PeriodicJob("held", 3600, run)])
    assert await asyncio.to_thread(started.wait, 30)
    stopping = asyncio.ensure_future(stop_jobs(tasks))

    # Still stopping while the round holds its thread.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(stopping), 0.2)
    release.set()
    await asyncio.wait_for(stopping, 30)

    assert finished.is_set()
    assert all(task.done() for task in tasks)


async def test_a_failing_round_is_retried_and_the_job_keeps_running() -> None:
    rounds: list[int] = []
    two_rounds = threading.Event()

    def run() -> None:
        rounds.append(len(rounds))
        if len(rounds) >= 2:
            two_rounds.set()
        if len(rounds) == 1:
            raise RuntimeError("the database is down")

    tasks = start_jobs([PeriodicJob("flaky", 0.01, run)])
    assert await asyncio.to_thread(two_rounds.wait, 30)
    await stop_jobs(tasks)

    assert rounds[:2] == [0, 1]
