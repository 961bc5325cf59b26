"""Server-side evaluation, bounded: a context of limited size, and evaluations run in worker processes behind
a bounded queue, so however many arrive they never hold up writes, kills or SDK polls.

An evaluation costs CPU for as long as the flags make it. In a thread it would also hold the interpreter lock
and slow every request of the server; in a process of its own it cannot. When every worker is busy and the
queue is full, the caller is told to come back (`Busy`) instead of being kept waiting.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from app.services import evaluation_worker
from app.services.errors import Busy, InvalidInput
from app.services.snapshot_service import SnapshotService
from app.settings import Settings

Results = dict[str, dict[str, Any]]
"""Flag key -> the evaluation as `flagstaff.Evaluation.to_dict()` gives it."""


@dataclass(frozen=True, slots=True)
class EvaluationLimits:
    max_attributes: int
    max_value_length: int
    concurrency: int
    queue_size: int

    @classmethod
    def of(cls, settings: Settings) -> EvaluationLimits:
        return cls(
            settings.evaluate_max_attributes,
            settings.evaluate_max_value_length,
            settings.evaluate_concurrency,
            settings.evaluate_queue_size,
        )


class EvaluationService:
    def __init__(self, snapshots: SnapshotService, limits: EvaluationLimits) -> None:
        self.snapshots = snapshots
        self.limits = limits
        self._workers: ProcessPoolExecutor | None = None  # started on first use, and again after `close`
        self._lock = threading.Lock()
        self._admitted = 0  # running or queued; never more than concurrency + queue_size

    async def evaluate(
        self, project_key: str, environment_key: str, context: dict[str, Any], flag_key: str | None
    ) -> tuple[int, Results]:
        """Every flag (or `flag_key`) of the environment for `context`; raises Busy when the queue is full."""
        self.check_context(context)
        workers = self._admit()
        try:
            environment_id, revision, body = await asyncio.to_thread(
                self.snapshots.evaluation_input, project_key, environment_key, flag_key
            )
            work = workers.submit(
                evaluation_worker.evaluate, environment_id, revision, body, context, flag_key, time.time()
            )
        except BaseException:
            self._release()
            raise
        # Released when the work ends, not when the caller stops waiting: the worker is busy until then.
        work.add_done_callback(self._release)
        try:
            return await asyncio.wrap_future(work)
        except BrokenProcessPool:
            self._discard(workers)  # a worker died (killed, out of memory): the next call starts new ones
            raise Busy("the evaluation worker stopped; retry shortly") from None

    def check_context(self, context: dict[str, Any]) -> None:
        limit = self.limits.max_value_length
        if len(context) > self.limits.max_attributes:
            raise InvalidInput(
                f"at most {self.limits.max_attributes} attributes, not {len(context)}", "context"
            )
        for name, value in context.items():
            field = f"context.{name}"
            if len(name) > limit:
                raise InvalidInput(f"an attribute name may be at most {limit} characters", "context")
            if isinstance(value, str | list) and len(value) > limit:
                unit = "characters" if isinstance(value, str) else "items"
                raise InvalidInput(f"at most {limit} {unit}, not {len(value)}", field)
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, str) and len(item) > limit:
                        raise InvalidInput(f"at most {limit} characters, not {len(item)}", f"{field}[{i}]")

    def close(self) -> None:
        """Stops the workers (at shutdown); queued evaluations are cancelled."""
        with self._lock:
            workers, self._workers = self._workers, None
        if workers is not None:
            workers.shutdown(wait=False, cancel_futures=True)

    def _admit(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._admitted >= self.limits.concurrency + self.limits.queue_size:
                raise Busy("too many evaluations are in progress; retry shortly")
            self._admitted += 1
            if self._workers is None:
                # spawn, not fork: the server has threads, and a forked child inherits their locks held.
                context = multiprocessing.get_context("spawn")
                self._workers = ProcessPoolExecutor(self.limits.concurrency, mp_context=context)
            return self._workers

    def _release(self, _: Future[Any] | None = None) -> None:
        with self._lock:
            self._admitted -= 1

    def _discard(self, workers: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._workers is workers:
                self._workers = None
        workers.shutdown(wait=False, cancel_futures=True)
