"""Turns audit entries into webhook deliveries: the audit log is the webhooks' outbox, so nothing on the write
path knows of webhooks and no write ever waits for one.

Each round claims the live webhooks (`SKIP LOCKED`: one replica per webhook), reads the audit entries after
each one's cursor, adds a pending delivery for every entry of its environment that its `events` select, and
moves its cursor, all in one transaction.

PostgreSQL hands out entry ids before commit, so an entry can become visible after one with a higher id.
The cursor therefore moves only over ids it has seen, or over missing ids older than the commit grace (a
rolled-back transaction leaves its id missing for good). Entries past a missing id are turned into deliveries
at once all the same, and never twice: a webhook has at most one delivery per entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.services.read_models import AuditEntryOut
from app.storage import webhook_repository
from app.storage.database import Database
from app.storage.models import AuditEntry, WebhookDelivery, utcnow
from app.storage.webhook_repository import AuditMark, LiveWebhook

# Entries read per webhook per round, and webhooks per round: a backlog is worked off over several rounds.
SCAN_LIMIT = 1000
WEBHOOKS_PER_ROUND = 100


def wanted(events: Sequence[str] | None, action: str) -> bool:
    """`events` None selects everything; a pattern is an action (`flag.kill`), a kind (`flag.*`) or `*`."""
    if events is None:
        return True
    kind = action.partition(".")[0]
    return any(pattern in ("*", action, f"{kind}.*") for pattern in events)


def settled_cursor(cursor: int, marks: Sequence[AuditMark], now: datetime, grace: timedelta) -> int:
    """How far the cursor may move over `marks` (the entries after it, in id order): up to the first missing
    id that may still commit. An id is missing for good once the entry after it is older than `grace`, since
    ids are handed out in order, so the missing one was taken earlier still."""
    expected = cursor + 1
    for mark in marks:
        if mark.id != expected and mark.at > now - grace:
            break
        expected = mark.id + 1
    return expected - 1


def event_payload(entry: AuditEntry) -> dict[str, Any]:
    """What a receiver gets: the audit entry, with the changed object named as `target`."""
    audited = AuditEntryOut.model_validate(entry).model_dump(mode="json")
    return {
        "event": audited["action"],
        "audit_id": audited["id"],
        "at": audited["at"],
        "actor": audited["actor"],
        "project": audited["project"],
        "environment": audited["environment"],
        "target": {"kind": audited["target_kind"], "key": audited["target_key"]},
        "reason": audited["reason"],
        "before": audited["before"],
        "after": audited["after"],
        "request_id": audited["request_id"],
    }


class WebhookOutbox:
    def __init__(
        self, database: Database, commit_grace_seconds: float, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.database = database
        self.grace = timedelta(seconds=commit_grace_seconds)
        self.clock = clock

    def run_once(self) -> int:
        """One round; returns how many deliveries it added."""
        added = 0
        with self.database.transaction() as session:
            now = self.clock()
            for live in webhook_repository.claim_live_webhooks(session, WEBHOOKS_PER_ROUND):
                added += self._advance(session, live, now)
        return added

    def _advance(self, session: Session, live: LiveWebhook, now: datetime) -> int:
        webhook = live.webhook
        marks = webhook_repository.audit_marks_after(session, webhook.cursor, SCAN_LIMIT)
        if not marks:
            return 0
        # Entries past a missing id were handled in an earlier round, while the cursor waited for that id.
        handled = webhook_repository.audit_ids_with_deliveries(session, webhook.id, webhook.cursor)
        ids = [
            mark.id
            for mark in marks
            if mark.project_key == live.project_key
            and mark.environment_key == live.environment_key
            and mark.id not in handled
            and wanted(webhook.events, mark.action)
        ]
        for entry in webhook_repository.audit_entries(session, ids):
            session.add(
                WebhookDelivery(
                    webhook_id=webhook.id,
                    audit_id=entry.id,
                    event=entry.action,
                    payload=event_payload(entry),
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                )
            )
        webhook.cursor = settled_cursor(webhook.cursor, marks, now, self.grace)
        return len(ids)
