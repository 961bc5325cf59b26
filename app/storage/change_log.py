"""The per-environment change log: one row per changed flag or segment, ordered by environment revision.

Appended in the same transaction as the change; streaming reads it to resume clients. Never updated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import select
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


def changes_since(session: Session, environment_id: int, revision: int) -> Sequence[ChangeLogEntry]:
    """Every change after `revision`, oldest first."""
    return session.scalars(
        select(ChangeLogEntry)
        .where(ChangeLogEntry.environment_id == environment_id, ChangeLogEntry.revision > revision)
        .order_by(ChangeLogEntry.revision, ChangeLogEntry.id)
    ).all()
