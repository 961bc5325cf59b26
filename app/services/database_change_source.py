"""The database as streaming's `ChangeSource`: each read is one short transaction over the storage functions
that own the query (`change_log`, `project_repository`, `key_repository`).

Read-only; rows become streaming's `Change` here, so that streaming never holds a row or a session.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from app.services import console_session_service
from app.storage import change_log, key_repository, project_repository
from app.storage.database import Database
from app.storage.models import ChangeLogEntry
from app.streaming.change_source import Change


class DatabaseChangeSource:
    def __init__(self, database: Database) -> None:
        self._database = database

    def current_revisions(self, environment_ids: Collection[int]) -> dict[int, int]:
        if not environment_ids:
            return {}
        with self._database.transaction() as session:
            return project_repository.current_revisions(session, environment_ids)

    def changes_after(self, environment_id: int, revision: int) -> list[Change]:
        with self._database.transaction() as session:
            return _changes(change_log.changes_since(session, environment_id, revision))

    def resume_window(
        self, environment_id: int, revision: int, limit: int
    ) -> tuple[int | None, list[Change]]:
        with self._database.transaction(consistent_read=True) as session:
            environment = project_repository.get_environment_by_id(session, environment_id)
            if environment is None:
                return None, []
            current = environment.revision
            if revision >= current:
                return current, []  # nothing can follow the current revision: no need to ask the log
            return current, _changes(change_log.changes_since(session, environment_id, revision, limit))

    def live_sdk_keys(self, key_ids: Collection[str]) -> set[str]:
        """Live SDK keys, and the console pages' stream keys (`console:<session>`) whose session is live: the
        hub ends a console page's stream as it ends an SDK's, when its session ends or its key is revoked."""
        if not key_ids:
            return set()
        consoles = {key for key in key_ids if key.startswith(console_session_service.STREAM_KEY_PREFIX)}
        with self._database.transaction() as session:
            live = (
                key_repository.live_sdk_key_ids(session, set(key_ids) - consoles)
                if len(consoles) < len(key_ids)
                else set()
            )
            return live | console_session_service.live_stream_keys(session, consoles)


def _changes(rows: Sequence[ChangeLogEntry]) -> list[Change]:
    return [
        Change(row.revision, row.entity_kind, row.key, row.version, None if row.deleted else row.payload)
        for row in rows
    ]
