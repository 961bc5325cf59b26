"""Reads and writes projects and environments, including the atomic revision bump.

Rows only: no validation, no audit; callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.storage.models import Environment, Project


def get_project(session: Session, key: str) -> Project | None:
    return session.scalar(select(Project).where(Project.key == key))


def list_projects(session: Session, only: str | None = None) -> Sequence[Project]:
    query = select(Project).order_by(Project.key)
    if only is not None:
        query = query.where(Project.key == only)
    return session.scalars(query).all()


def any_project(session: Session) -> bool:
    return session.scalar(select(Project.id).limit(1)) is not None


def get_environment(session: Session, project_id: int, key: str) -> Environment | None:
    return session.scalar(
        select(Environment).where(Environment.project_id == project_id, Environment.key == key)
    )


def get_environment_by_id(session: Session, environment_id: int) -> Environment | None:
    return session.get(Environment, environment_id)


def current_revisions(session: Session, environment_ids: Collection[int]) -> dict[int, int]:
    """The current revision of each of these environments that exists."""
    rows = session.execute(
        select(Environment.id, Environment.revision).where(Environment.id.in_(list(environment_ids)))
    ).all()
    return {int(environment_id): int(revision) for environment_id, revision in rows}


def list_environments(session: Session, project_id: int) -> Sequence[Environment]:
    return session.scalars(
        select(Environment).where(Environment.project_id == project_id).order_by(Environment.id)
    ).all()


def bump_revision(session: Session, environment_id: int) -> int:
    """Increments and returns the revision in one statement.

    On PostgreSQL this also row-locks the environment, serialising its writers until the transaction ends."""
    revision = session.execute(
        update(Environment)
        .where(Environment.id == environment_id)
        .values(revision=Environment.revision + 1)
        .returning(Environment.revision)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return int(revision)


def unbump_revision(session: Session, environment_id: int) -> int:
    """Takes back this transaction's `bump_revision`, keeping the lock it took: for a write within a larger
    transaction that turned out to change nothing in the environment."""
    revision = session.execute(
        update(Environment)
        .where(Environment.id == environment_id)
        .values(revision=Environment.revision - 1)
        .returning(Environment.revision)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return int(revision)
