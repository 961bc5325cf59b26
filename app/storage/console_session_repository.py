"""Reads and writes web console sessions (`ConsoleSession`): by the hash of their cookie token, never the
token itself.

Rows only: what makes a session valid (timeouts, a revoked key) is `app.services.console_session_service`'s.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from app.storage.models import AdminKey, ConsoleSession


def get_with_key(session: Session, token_hash: str) -> tuple[ConsoleSession, AdminKey] | None:
    """The session whose token hashes to `token_hash`, with the admin key it signed in with."""
    row = session.execute(
        select(ConsoleSession, AdminKey)
        .join(AdminKey, AdminKey.id == ConsoleSession.admin_key_id)
        .where(ConsoleSession.token_hash == token_hash)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def end_sessions_of_key(session: Session, admin_key_id: int, at: datetime) -> None:
    session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.admin_key_id == admin_key_id, ConsoleSession.ended_at.is_(None))
        .values(ended_at=at)
        .execution_options(synchronize_session=False)
    )


def live_ids(session: Session, ids: Collection[int], now: datetime) -> set[int]:
    """Those of `ids` neither ended nor expired at `now`, whose key is not revoked."""
    rows = session.scalars(
        select(ConsoleSession.id)
        .join(AdminKey, AdminKey.id == ConsoleSession.admin_key_id)
        .where(
            ConsoleSession.id.in_(list(ids)),
            ConsoleSession.ended_at.is_(None),
            ConsoleSession.expires_at > now,
            AdminKey.revoked_at.is_(None),
        )
    )
    return set(rows)


def delete_finished(session: Session, *, before: datetime, idle_since: datetime) -> int:
    """Deletes sessions that ended or expired before `before`, or were last used before `idle_since`."""
    result = session.execute(
        delete(ConsoleSession).where(
            or_(
                ConsoleSession.ended_at < before,
                ConsoleSession.expires_at < before,
                ConsoleSession.last_seen_at < idle_since,
            )
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
