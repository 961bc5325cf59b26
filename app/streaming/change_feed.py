"""The database reads streaming needs: current revisions, change-log rows grouped by revision, live SDK keys,
and when a revision was committed.

Read-only and synchronous (the hub runs these in worker threads); the database is the source of truth.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from itertools import groupby

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.storage.database import Database
from app.storage.models import ChangeLogEntry, Environment, SdkKey
from app.streaming.events import Encoded, change_event


def current_revisions(database: Database, environment_ids: Collection[int]) -> dict[int, int]:
    if not environment_ids:
        return {}
    with database.transaction() as session:
        rows = session.execute(
            select(Environment.id, Environment.revision).where(Environment.id.in_(list(environment_ids)))
        ).all()
    return {int(environment_id): int(revision) for environment_id, revision in rows}


def changes_after(database: Database, environment_id: int, revision: int) -> list[Encoded]:
    """One encoded event per revision after `revision`, oldest first."""
    with database.transaction() as session:
        rows = _rows_after(session, environment_id, revision, None)
    return _group(rows)


def resume_events(
    database: Database, environment_id: int, revision: int, max_rows: int
) -> list[Encoded] | None:
    """The events that bring a client from `revision` to the current one, or None when it needs a snapshot:
    the revision is unknown (ahead of the database), the log has gaps (pruned), or the catch-up is too long.
    """
    with database.transaction(consistent_read=True) as session:
        current = session.scalar(select(Environment.revision).where(Environment.id == environment_id))
        if current is None or revision > current or revision < 0:
            return None
        if revision == current:
            return []
        rows = _rows_after(session, environment_id, revision, max_rows + 1)
    if len(rows) > max_rows:
        return None
    events = _group(rows)
    # Revisions are contiguous per environment; a missing one means the log no longer reaches that far back.
    if len(events) != current - revision or (events and events[-1].revision != current):
        return None
    return events


def live_sdk_keys(database: Database, key_ids: Collection[str]) -> set[str]:
    """Those of `key_ids` that still exist and are not revoked."""
    if not key_ids:
        return set()
    with database.transaction() as session:
        rows = session.scalars(
            select(SdkKey.key_id).where(SdkKey.key_id.in_(list(key_ids)), SdkKey.revoked_at.is_(None))
        ).all()
    return set(rows)


def committed_at(database: Database, environment_id: int, revision: int) -> datetime | None:
    with database.transaction() as session:
        return session.scalar(
            select(func.max(ChangeLogEntry.created_at)).where(
                ChangeLogEntry.environment_id == environment_id, ChangeLogEntry.revision == revision
            )
        )


def _rows_after(
    session: Session, environment_id: int, revision: int, limit: int | None
) -> Sequence[ChangeLogEntry]:
    query = (
        select(ChangeLogEntry)
        .where(ChangeLogEntry.environment_id == environment_id, ChangeLogEntry.revision > revision)
        .order_by(ChangeLogEntry.revision, ChangeLogEntry.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


def _group(rows: Sequence[ChangeLogEntry]) -> list[Encoded]:
    return [
        change_event(revision, list(group)) for revision, group in groupby(rows, key=lambda row: row.revision)
    ]
