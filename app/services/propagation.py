"""Confirmation counting for the confirmed kill switch: how many connected SDK instances applied a revision.

Reads acknowledgements through the `AckRegistry` role (`app.streaming.ack_registry`); knows nothing of HTTP.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.services import lookups
from app.storage.database import Database
from app.streaming import change_feed
from app.streaming.ack_registry import AckRegistry

MAX_WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class Propagation:
    revision: int
    confirmed: int
    unconfirmed: int
    slowest_confirmation_ms: float | None
    """From the commit to the last confirmation among those confirmed; None when none confirmed yet."""
    available: bool = True
    """False when acknowledgements could not be read (e.g. Redis is down); the counts are then zero."""


class PropagationService:
    def __init__(self, database: Database, registry: AckRegistry) -> None:
        self.database = database
        self.registry = registry

    def report(self, environment_id: int, revision: int, committed_at: float) -> Propagation:
        instances = self.registry.instances(environment_id, time.time())
        if instances is None:
            return Propagation(revision, 0, 0, None, available=False)
        delays = [
            max(0.0, ack.at - committed_at) * 1000.0
            for ack in instances.values()
            if ack is not None and ack.revision >= revision
        ]
        slowest = round(max(delays), 1) if delays else None
        return Propagation(revision, len(delays), len(instances) - len(delays), slowest)

    def wait(self, environment_id: int, revision: int, committed_at: float, timeout: float) -> Propagation:
        """Polls until every connected instance confirmed `revision` or `timeout` (at most 10 s) passed."""
        deadline = time.monotonic() + min(max(timeout, 0.0), MAX_WAIT_SECONDS)
        while True:
            result = self.report(environment_id, revision, committed_at)
            if result.unconfirmed == 0 or time.monotonic() >= deadline or not result.available:
                return result
            time.sleep(_POLL_SECONDS)

    def wait_in(
        self, project_key: str, environment_key: str, revision: int, committed_at: float, timeout: float
    ) -> Propagation:
        with self.database.transaction() as session:
            _, environment = lookups.environment(session, project_key, environment_key)
            environment_id = environment.id
        return self.wait(environment_id, revision, committed_at, timeout)

    def current(self, project_key: str, environment_key: str) -> Propagation:
        """The report for the environment's current revision, timed from when that revision was committed."""
        with self.database.transaction() as session:
            _, environment = lookups.environment(session, project_key, environment_key)
            environment_id, revision = environment.id, environment.revision
        committed = change_feed.committed_at(self.database, environment_id, revision)
        return self.report(environment_id, revision, committed.timestamp() if committed else time.time())
