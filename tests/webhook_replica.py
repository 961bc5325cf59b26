"""The webhook jobs as one server process runs them (the outbox, then the sender), on a test's database, with
a clock the test moves on so that backoff shows in `next_attempt_at` without waiting for it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from app.services.webhook_delivery import DeliveryPolicy, WebhookSender
from app.services.webhook_outbox import WebhookOutbox
from app.storage.database import Database
from app.storage.models import utcnow

BASE = 30.0  # seconds before the second attempt; then 60, 120, ... at most CAP
CAP = 100.0


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Replica:
    def __init__(
        self,
        database_url: str,
        *,
        max_attempts: int = 4,
        commit_grace_seconds: float = 60.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.database = Database(database_url)
        self.clock: Any = clock or Clock()  # a test's Clock, or the real time (`utcnow`)
        policy = DeliveryPolicy(
            timeout_seconds=5.0,
            max_attempts=max_attempts,
            backoff_base_seconds=BASE,
            backoff_cap_seconds=CAP,
            concurrency=4,
        )
        self.outbox = WebhookOutbox(self.database, commit_grace_seconds, clock=self.clock)
        self.sender = WebhookSender(self.database, policy, clock=self.clock)

    def run(self) -> int:
        """One round of each job; returns the attempts the sender made."""
        self.outbox.run_once()
        return self.sender.run_once()

    def close(self) -> None:
        self.database.dispose()
