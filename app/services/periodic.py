"""Background work that every server process runs on a timer: due schedules, rollout steps and guards,
webhook deliveries, metric pruning.

Each job is a plain synchronous function run on a worker thread, so a slow database holds up only that job.
Jobs must be safe to run in every replica at once: each claims its rows with
`SELECT ... FOR UPDATE SKIP LOCKED` (on PostgreSQL; SQLite serves one process), so what they do happens once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    name: str
    interval_seconds: float
    run: Callable[[], object]
    """One round; it returns when the round is done. An exception is logged and the next round retries."""


async def run_job(job: PeriodicJob) -> None:
    """Runs `job` every `interval_seconds` (measured from the end of the previous round) until cancelled.

    Cancelled during a round, it waits for the round to end on its thread before it ends itself: whoever
    stopped it may then close the database the round was using."""
    failing = False
    while True:
        round_done = asyncio.ensure_future(asyncio.to_thread(job.run))
        try:
            await asyncio.shield(round_done)
        except asyncio.CancelledError:
            await asyncio.wait([round_done])
            if not round_done.cancelled():
                round_done.exception()  # taken, so that a last round's failure is not reported as lost
            raise
        try:
            round_done.result()
            if failing:
                log.info("%s: working again", job.name)
            failing = False
        except Exception as error:  # never take the server down; log once per failing streak
            if not failing:
                log.warning("%s failed, retrying every %.2f s: %s", job.name, job.interval_seconds, error)
            failing = True
        await asyncio.sleep(job.interval_seconds)


def start_jobs(jobs: Sequence[PeriodicJob]) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(run_job(job), name=f"flagstaff-{job.name}") for job in jobs]


async def stop_jobs(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Stops every job; returns once none is in the middle of a round."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
