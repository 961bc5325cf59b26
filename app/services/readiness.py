"""Whether this process may serve traffic: the database answers and its schema is at the migrations' head.

Reads only; running migrations is `app.storage.schema_migrations`' job, at start-up or by `flagstaff migrate`.
The check runs in a thread of its own, one at a time, and is waited for only so long: a stalled database makes
the answer "unavailable", never a hung probe, and never takes a worker thread from the requests.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from dataclasses import dataclass

from app.storage import schema_migrations
from app.storage.database import Database


@dataclass(frozen=True, slots=True)
class Readiness:
    database: str  # "ok", "unavailable" or "migrations_pending"
    reason: str | None = None

    @property
    def ready(self) -> bool:
        return self.database == "ok"


def check_database(database: Database) -> Readiness:
    try:
        database.ping()
        at_head = schema_migrations.is_at_head(database.engine)
    except Exception as error:  # any failure to reach the database means "not ready", never a crash
        return Readiness("unavailable", type(error).__name__)
    return Readiness("ok") if at_head else Readiness("migrations_pending", "migrations pending")


class ReadinessProbe:
    """Answers within `timeout_seconds`. While a check is still running (a stalled database), later probes
    wait for that same check instead of starting threads of their own."""

    def __init__(self, database: Database, timeout_seconds: float) -> None:
        self._database = database
        self._timeout = timeout_seconds
        self._running: Future[Readiness] | None = None

    async def check(self) -> Readiness:
        running = self._running
        if running is None or running.done():  # only the event loop's thread gets here: no lock needed
            running = self._running = self._start()
        try:
            # Shielded: a probe that stops waiting leaves the check running for the next probe to pick up.
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(running)), self._timeout)
        except TimeoutError:
            return Readiness("unavailable", f"the database did not answer within {self._timeout:g} s")

    def _start(self) -> Future[Readiness]:
        future: Future[Readiness] = Future()
        future.set_running_or_notify_cancel()

        def run() -> None:
            future.set_result(check_database(self._database))

        # A daemon thread, so that a check stuck on the database never holds up the process's exit.
        threading.Thread(target=run, name="readiness-check", daemon=True).start()
        return future
