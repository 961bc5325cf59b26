"""Use cases for segments of one environment: put (create or replace), read, list, delete.

Bodies are checked by the SDK's validator; a deletion still referenced by a flag is refused.
"""

from __future__ import annotations

from typing import Any

from app.services import environment_snapshot, flag_checks, lookups, wire_format
from app.services.change_transaction import Actor, ChangeWriter, tombstone
from app.services.errors import InvalidInput, check_version
from app.services.read_models import SegmentOut
from app.storage import segment_repository
from app.storage.database import Database
from app.storage.models import Segment, utcnow

_METADATA = ("name", "description")


def _fields(segment: Segment) -> dict[str, Any]:
    """The segment as a plain object: what the audit log records before and after a change."""
    return {"name": segment.name, "description": segment.description, **wire_format.wire_segment(segment)}


def _view(segment: Segment) -> SegmentOut:
    return SegmentOut(**_fields(segment))


class SegmentService:
    def __init__(self, database: Database, writer: ChangeWriter) -> None:
        self.database = database
        self.writer = writer

    def get(self, project_key: str, environment_key: str, key: str) -> SegmentOut:
        with self.database.transaction() as session:
            _, environment = lookups.environment(session, project_key, environment_key)
            return _view(lookups.segment(session, environment, key))

    def list(
        self, project_key: str, environment_key: str, *, after: str | None, limit: int
    ) -> list[SegmentOut]:
        with self.database.transaction() as session:
            _, environment = lookups.environment(session, project_key, environment_key)
            rows = segment_repository.live_segments(session, environment.id, after=after, limit=limit)
            return [_view(row) for row in rows]

    def put(
        self,
        actor: Actor,
        project_key: str,
        environment_key: str,
        key: str,
        body: dict[str, Any],
        if_match: int | None,
    ) -> tuple[SegmentOut, bool]:
        for name in _METADATA:
            if name in body and (not isinstance(body[name], str) or "\x00" in body[name]):
                raise InvalidInput("must be a string without NUL characters", name)
        wire = {
            "included": [],
            "excluded": [],
            "rules": [],
            **{k: v for k, v in body.items() if k not in _METADATA},
        }
        flag_checks.check_segment({**wire, "key": key, "version": 0})
        with self.writer.begin(actor) as change:
            _, environment = lookups.environment(change.session, project_key, environment_key)
            change.bump(environment)
            segment = segment_repository.get_segment(change.session, environment.id, key)
            live = segment is not None and not segment.deleted
            check_version(f"segment {key!r}", segment.version if segment and live else None, if_match)
            before = _fields(segment) if segment is not None and live else None
            version = segment.version + 1 if segment is not None else 1
            if segment is None:
                segment = Segment(environment_id=environment.id, key=key)
                change.session.add(segment)
            segment.name = str(body.get("name", segment.name or ""))
            segment.description = str(body.get("description", segment.description or ""))
            for name in wire_format.SEGMENT_FIELDS:
                setattr(segment, name, wire[name])
            if before is not None and {**before, "version": 0} == {**_fields(segment), "version": 0}:
                change.discard()
                return _view(segment), False
            segment.version = version
            segment.deleted = False
            segment.updated_at = utcnow()
            change.record(environment, "segment", key, version, wire_format.wire_segment(segment))
            change.audit(
                "segment.create" if before is None else "segment.update",
                key,
                project=project_key,
                environment=environment_key,
                before=before,
                after=_fields(segment),
            )
        return _view(segment), before is None

    def delete(
        self, actor: Actor, project_key: str, environment_key: str, key: str, if_match: int | None
    ) -> None:
        with self.writer.begin(actor) as change:
            _, environment = lookups.environment(change.session, project_key, environment_key)
            change.bump(environment)
            segment = lookups.segment(change.session, environment, key)
            check_version(f"segment {key!r}", segment.version, if_match)
            flag_checks.check_still_referenced(
                environment_snapshot.build(change.session, environment, segments={key: None}),
                f"segment {key!r}",
            )
            before = _fields(segment)
            tombstone(segment)
            change.record(environment, "segment", key, segment.version, None)
            change.audit(
                "segment.delete", key, project=project_key, environment=environment_key, before=before
            )
