"""The per-environment change log: one row per changed flag or segment, ordered by environment revision.

Appended in the same transaction as the change; every read of it is here (streaming reads it through
`app.services.database_change_source`). Never updated; old revisions are pruned whole, so a revision in the
log always has all of its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.storage.models import ChangeLogEntry

EntityKind = Literal["flag", "segment"]


def append(
    session: Session,
    *,
    environment_id: int,
    revision: int,
    kind: EntityKind,
    key: str,
    version: int,
    payload: dict[str, Any] | None,
) -> None:
    """`payload` is the entity in wire format, or None for a deletion (a versioned tombstone)."""
    session.add(
        ChangeLogEntry(
            environment_id=environment_id,
            revision=revision,
            entity_kind=kind,
            key=key,
            version=version,
            deleted=payload is None,
            payload=payload,
        )
    )


def changes_since(
    session: Session, environment_id: int, revision: int, limit: int | None = None
) -> Sequence[ChangeLogEntry]:
    """Every change after `revision` (at most `limit` rows), oldest first: by revision, then as written."""
    query = (
        select(ChangeLogEntry)
        .where(ChangeLogEntry.environment_id == environment_id, ChangeLogEntry.revision > revision)
        .order_by(ChangeLogEntry.revision, ChangeLogEntry.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


def committed_at(session: Session, environment_id: int, revision: int) -> datetime | None:
    """When `revision` was committed; None once it has been pruned (or for revision 0)."""
    return session.scalar(
        select(func.max(ChangeLogEntry.created_at)).where(
            ChangeLogEntry.environment_id == environment_id, ChangeLogEntry.revision == revision
        )
    )


def prune(session: Session, *, before: datetime) -> int:
    """Deletes, per environment, every revision up to the newest one committed before `before`; returns the
    number of rows deleted.

    Whole revisions go, never part of one: a resume replays what the log holds, and a revision with some of
    its rows missing would be applied incomplete. A client asking to resume from a pruned revision finds a gap
    and gets a full snapshot instead (`app.streaming.stream_session.resume_events`).
    """
    cutoffs = session.execute(
        select(ChangeLogEntry.environment_id, func.max(ChangeLogEntry.revision))
        .where(ChangeLogEntry.created_at < before)
        .group_by(ChangeLogEntry.environment_id)
    ).all()
    deleted = 0
    for environment_id, revision in cutoffs:
        result = session.execute(
            delete(ChangeLogEntry).where(
                ChangeLogEntry.environment_id == environment_id, ChangeLogEntry.revision <= revision
            )
        )
        deleted += int(getattr(result, "rowcount", 0) or 0)
    return deleted
