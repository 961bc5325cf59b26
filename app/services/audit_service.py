"""Reads the audit log for the API; writing happens only inside change transactions."""

from __future__ import annotations

from datetime import datetime

from app.services.read_models import AuditEntryOut
from app.storage import audit_repository
from app.storage.audit_repository import AuditFilter
from app.storage.database import Database


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
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int,
    ) -> list[AuditEntryOut]:
        """Newest first, every filter given must match; `before_id` continues a previous page."""
        where = AuditFilter(
            project=project,
            environment=environment,
            flag=flag,
            actor=actor,
            action=action,
            since=since,
            until=until,
        )
        with self.database.transaction() as session:
            rows = audit_repository.query(session, where, before_id=before_id, limit=limit)
            return [AuditEntryOut.model_validate(row) for row in rows]
