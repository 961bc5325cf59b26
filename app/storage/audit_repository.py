"""Appends to and queries the audit log. There is deliberately no update or delete here."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.storage.models import AuditEntry


@dataclass(frozen=True, slots=True)
class AuditFilter:
    project: str | None = None
    environment: str | None = None
    flag: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def append(session: Session, entry: AuditEntry) -> None:
    session.add(entry)


def query(session: Session, where: AuditFilter, *, before_id: int | None, limit: int) -> Sequence[AuditEntry]:
    """Newest first; `before_id` continues a previous page."""
    statement = select(AuditEntry)
    if where.project is not None:
        statement = statement.where(AuditEntry.project_key == where.project)
    if where.environment is not None:
        statement = statement.where(AuditEntry.environment_key == where.environment)
    if where.flag is not None:
        statement = statement.where(AuditEntry.target_kind == "flag", AuditEntry.target_key == where.flag)
    if where.actor is not None:
        statement = statement.where(AuditEntry.actor == where.actor)
    if where.action is not None:
        statement = statement.where(AuditEntry.action == where.action)
    if where.since is not None:
        statement = statement.where(AuditEntry.at >= where.since)
    if where.until is not None:
        statement = statement.where(AuditEntry.at < where.until)
    if before_id is not None:
        statement = statement.where(AuditEntry.id < before_id)
    return session.scalars(statement.order_by(AuditEntry.id.desc()).limit(limit)).all()


class FlagAction(NamedTuple):
    action: str
    actor: str
    at: datetime
    reason: str | None


def last_flag_actions(
    session: Session,
    project_key: str,
    environment_key: str,
    actions: Collection[str],
    keys: Collection[str] | None = None,
) -> dict[str, FlagAction]:
    """Each flag's newest entry among `actions` in one environment (without its before and after bodies):
    flag key -> what, who, when and why."""
    newest = select(func.max(AuditEntry.id)).where(
        AuditEntry.project_key == project_key,
        AuditEntry.environment_key == environment_key,
        AuditEntry.target_kind == "flag",
        AuditEntry.action.in_(list(actions)),
    )
    if keys is not None:
        newest = newest.where(AuditEntry.target_key.in_(list(keys)))
    rows = session.execute(
        select(
            AuditEntry.target_key, AuditEntry.action, AuditEntry.actor, AuditEntry.at, AuditEntry.reason
        ).where(AuditEntry.id.in_(newest.group_by(AuditEntry.target_key)))
    )
    return {
        key: FlagAction(action, actor, at, reason)
        for key, action, actor, at, reason in rows
        if key is not None
    }
