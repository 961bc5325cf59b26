"""Reads the audit log for the API; writing happens only inside change transactions."""

from __future__ import annotations

from collections.abc import Sequence

from app.storage import audit_repository
from app.storage.audit_repository import AuditFilter
from app.storage.database import Database
from app.storage.models import AuditEntry


class AuditService:
    def __init__(self, database: Database) -> None:
        self.database = database

    def query(self, where: AuditFilter, *, before_id: int | None, limit: int) -> Sequence[AuditEntry]:
        with self.database.transaction() as session:
            return audit_repository.query(session, where, before_id=before_id, limit=limit)
