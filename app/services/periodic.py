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
    """Runs `job` every `interval_seconds` (measured from the end of the previous round) until cancelled."""
    failing = False
    while True:
        round_ = asyncio.ensure_future(asyncio.to_thread(job.run))
        try:
            try:
                await asyncio.shield(round_)
            except asyncio.CancelledError:
                # A thread cannot be stopped: its round ends first, so that what the app closes after its jobs
                # (the database) is no longer in use when it does.
                await asyncio.wait({round_})
                if not round_.cancelled():
                    round_.exception()  # seen: the job is stopping, its last failure no longer matters
                raise
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
    """Stops every job: returns once none is waiting for its next round and any round under way has ended."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
