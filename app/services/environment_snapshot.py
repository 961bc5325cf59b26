"""Builds one environment's snapshot (flag-format.md) from the store, optionally with one entity swapped.

Reads only; used for serving SDKs, for server-side evaluation and for cross-reference checks before a write.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.services import wire_format
from app.storage import flag_repository, segment_repository
from app.storage.models import Environment

_Override = dict[str, dict[str, Any] | None]


def build(
    session: Session,
    environment: Environment,
    *,
    flags: _Override | None = None,
    segments: _Override | None = None,
) -> dict[str, Any]:
    """`flags`/`segments` map keys to a replacement wire body, or None to leave the entity out."""
    flag_bodies: dict[str, Any] = {
        definition.key: wire_format.wire_flag(definition, config)
        for definition, config in flag_repository.live_flags_in_environment(
            session, environment.project_id, environment.id
        )
    }
    segment_bodies: dict[str, Any] = {
        segment.key: wire_format.wire_segment(segment)
        for segment in segment_repository.live_segments(session, environment.id)
    }
    for bodies, overrides in ((flag_bodies, flags), (segment_bodies, segments)):
        for key, body in (overrides or {}).items():
            if body is None:
                bodies.pop(key, None)
            else:
                bodies[key] = body
    return wire_format.snapshot(environment.revision, flag_bodies, segment_bodies)
