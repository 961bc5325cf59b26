"""Change-log retention: deletes revisions older than the retention period, now and then, in every process.

Pruning is housekeeping, not a change to any flag, so it writes no revision and no audit entry. Several
replicas pruning at once is harmless: each deletes whatever is still there.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from app.storage import change_log
from app.storage.database import Database
from app.storage.models import utcnow

log = logging.getLogger(__name__)


class ChangeLogRetention:
    def __init__(self, database: Database, retention: timedelta | None) -> None:
        """`retention` None keeps the change log forever."""
        self._database, self._retention = database, retention

    def prune(self, now: datetime | None = None) -> int:
        """Deletes revisions committed longer than the retention period before `now`; returns rows deleted."""
        if self._retention is None:
            return 0
        before = (now or utcnow()) - self._retention
        with self._database.transaction() as session:
            deleted = change_log.prune(session, before=before)
        if deleted:
            log.info("pruned %d change-log rows committed before %s", deleted, before.isoformat())
        return deleted

    async def run(self, interval_seconds: float) -> None:
        """Prunes every `interval_seconds` until cancelled; a failed round (database down) waits for the next
        one."""
        if self._retention is None:
            return
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await asyncio.to_thread(self.prune)
            except Exception as error:  # the next round retries; pruning must never take the server down
                log.warning("change-log pruning failed, retrying in %.0f s: %s", interval_seconds, error)
