"""Reads and writes monitoring trigger rows (the secret's hash only, never the secret).

Rows only: no validation, no audit; callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.storage.models import Environment, Project, Trigger


class TriggerTarget(NamedTuple):
    """A trigger found by its secret, with the keys of the environment it acts in."""

    trigger: Trigger
    project_key: str
    environment_key: str


def by_secret_hash(session: Session, secret_hash: str) -> TriggerTarget | None:
    row = session.execute(
        select(Trigger, Project.key, Environment.key)
        .join(Environment, Environment.id == Trigger.environment_id)
        .join(Project, Project.id == Environment.project_id)
        .where(Trigger.secret_hash == secret_hash)
    ).first()
    return None if row is None else TriggerTarget(row[0], row[1], row[2])


def list_in_environment(session: Session, environment_id: int) -> Sequence[Trigger]:
    return session.scalars(
        select(Trigger).where(Trigger.environment_id == environment_id).order_by(Trigger.id)
    ).all()


def get(session: Session, environment_id: int, trigger_id: int, *, lock: bool = False) -> Trigger | None:
    query = select(Trigger).where(Trigger.id == trigger_id, Trigger.environment_id == environment_id)
    return session.scalar(query.with_for_update() if lock else query)


def lock(session: Session, trigger_id: int) -> Trigger | None:
    """The row, locked until the transaction ends (on PostgreSQL; SQLite holds its write lock already)."""
    return session.scalar(
        select(Trigger)
        .where(Trigger.id == trigger_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
