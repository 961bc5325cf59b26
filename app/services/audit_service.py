"""Reads the audit log for the API; writing happens only inside change transactions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.storage import audit_repository
from app.storage.audit_repository import AuditFilter
from app.storage.database import Database
from app.storage.models import AuditEntry


@dataclass(frozen=True, slots=True)
class AuditEntryView:
    """One audit entry; `project` and `environment` are keys, copied when the entry was written."""

    id: int
    at: datetime
    actor: str
    action: str
    project: str | None
    environment: str | None
    target_kind: str
    target_key: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    request_id: str | None


class AuditService:
    def __init__(self, database: Database) -> None:
        self.database = database

    def query(
        self,
        *,
        project: str | None = None,
        environment: str | None = None,
        flag: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int,
    ) -> list[AuditEntryView]:
        """Newest first, every filter given must match; `before_id` continues a previous page."""
        where = AuditFilter(
            project=project, environment=environment, flag=flag, actor=actor, since=since, until=until
        )
        with self.database.transaction() as session:
            rows = audit_repository.query(session, where, before_id=before_id, limit=limit)
            return [_view(row) for row in rows]


def _view(entry: AuditEntry) -> AuditEntryView:
    return AuditEntryView(
        id=entry.id,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        project=entry.project_key,
        environment=entry.environment_key,
        target_kind=entry.target_kind,
        target_key=entry.target_key,
        before=entry.before,
        after=entry.after,
        reason=entry.reason,
        request_id=entry.request_id,
    )
