"""Queries on scheduled changes: the due ones, claiming one for its run, and one environment's list.

Rows only; what a run does, and the statuses' meaning, is `app.services.schedule_service`'s business.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.storage.models import Environment, Project, ScheduledChange

PENDING = "pending"


def due_ids(session: Session, now: datetime, limit: int) -> Sequence[int]:
    """Pending changes due at `now`, soonest first; unlocked, so several replicas may read the same ids (each
    run claims its row with `claim`)."""
    statement = (
        select(ScheduledChange.id)
        .where(ScheduledChange.status == PENDING, ScheduledChange.due_at <= now)
        .order_by(ScheduledChange.due_at, ScheduledChange.id)
        .limit(limit)
    )
    return session.scalars(statement).all()


def claim(
    session: Session, schedule_id: int, now: datetime
) -> tuple[ScheduledChange, Environment, Project] | None:
    """Locks the change if it is still pending and due, and nobody else holds it (`FOR UPDATE SKIP LOCKED`
    on PostgreSQL; SQLite's write lock serialises whole transactions instead); None otherwise."""
    statement = (
        select(ScheduledChange, Environment, Project)
        .join(Environment, Environment.id == ScheduledChange.environment_id)
        .join(Project, Project.id == Environment.project_id)
        .where(
            ScheduledChange.id == schedule_id,
            ScheduledChange.status == PENDING,
            ScheduledChange.due_at <= now,
        )
        .with_for_update(skip_locked=True, of=ScheduledChange)
    )
    row = session.execute(statement).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


def get(
    session: Session, environment_id: int, schedule_id: int, *, lock: bool = False
) -> ScheduledChange | None:
    """One change of the environment; `lock` waits for a run that holds it, so a cancel sees how it ended."""
    statement = select(ScheduledChange).where(
        ScheduledChange.id == schedule_id, ScheduledChange.environment_id == environment_id
    )
    if lock:
        statement = statement.with_for_update()
    return session.scalars(statement).one_or_none()


def in_environment(
    session: Session,
    environment_id: int,
    *,
    flag: str | None,
    status: str | None,
    after: ScheduledChange | None,
    limit: int,
) -> Sequence[ScheduledChange]:
    """The environment's changes by due time (then id), those after `after` in that order."""
    statement = select(ScheduledChange).where(ScheduledChange.environment_id == environment_id)
    if flag is not None:
        statement = statement.where(ScheduledChange.flag_key == flag)
    if status is not None:
        statement = statement.where(ScheduledChange.status == status)
    if after is not None:
        statement = statement.where(
            or_(
                ScheduledChange.due_at > after.due_at,
                and_(ScheduledChange.due_at == after.due_at, ScheduledChange.id > after.id),
            )
        )
    order = (ScheduledChange.due_at, ScheduledChange.id)
    return session.scalars(statement.order_by(*order).limit(limit)).all()


def settled_in_environment(
    session: Session, environment_id: int, *, flag: str | None, limit: int
) -> Sequence[ScheduledChange]:
    """The environment's changes that ran or were cancelled, the latest due first."""
    statement = select(ScheduledChange).where(
        ScheduledChange.environment_id == environment_id, ScheduledChange.status != PENDING
    )
    if flag is not None:
        statement = statement.where(ScheduledChange.flag_key == flag)
    order = (ScheduledChange.due_at.desc(), ScheduledChange.id.desc())
    return session.scalars(statement.order_by(*order).limit(limit)).all()
