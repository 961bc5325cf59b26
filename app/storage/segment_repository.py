"""Reads segments of one environment; rows only, validation is the services' job."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.storage.models import Segment


def get_segment(session: Session, environment_id: int, key: str) -> Segment | None:
    """Returns deleted segments too: a re-created segment continues their versions."""
    return session.scalar(select(Segment).where(Segment.environment_id == environment_id, Segment.key == key))


def live_segments(
    session: Session, environment_id: int, *, after: str | None = None, limit: int | None = None
) -> Sequence[Segment]:
    query = select(Segment).where(Segment.environment_id == environment_id, Segment.deleted.is_(False))
    if after is not None:
        query = query.where(Segment.key > after)
    query = query.order_by(Segment.key)
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()
