"""Serves environment snapshots as pre-serialized bytes: JSON and gzip to SDKs, JSON to evaluation workers.

Cached per (environment, revision); a revision never changes meaning, so nothing is ever invalidated, only
replaced by a newer revision.
"""

from __future__ import annotations

import threading
from typing import Any

from app.auth import api_keys
from app.services import environment_snapshot, lookups
from app.services.errors import NotFound
from app.services.sdk_key_check import SharedKeyCheck
from app.services.sdk_poll_cache import SdkPollCache
from app.services.sdk_poll_cache import SdkTarget as SdkTarget  # re-exported: the stream routes use it
from app.services.snapshot_bytes import SnapshotBytes, encode
from app.storage import key_repository, project_repository
from app.storage.database import Database


class SnapshotService:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._bodies: dict[int, SnapshotBytes] = {}
        self._build_lock = threading.Lock()
        self.poll_cache = SdkPollCache()
        self._key_checks = SharedKeyCheck(self.authenticate_sdk)

    def authenticate_sdk(self, token: str) -> SdkTarget | None:
        """The SDK key's environment and its current revision, or None for an unknown or revoked key."""
        if not token.startswith(api_keys.SDK_PREFIX):
            return None
        key_id = api_keys.key_id_of(token, api_keys.SDK_PREFIX)
        with self.database.transaction() as session:
            found = key_repository.sdk_key_target(session, key_id)
        if found is None or found.revoked or not api_keys.matches(token, found.secret_hash):
            return None
        if found.kind != "server":
            return None
        target = SdkTarget(found.environment_id, found.revision)
        self.poll_cache.remember(token, key_id, target)
        return target

    async def sdk_target(self, token: str) -> SdkTarget | None:
        """What `authenticate_sdk` answers, from memory while fresh; else from one database check, on a worker
        thread, shared by every poll that asks while it runs."""
        cached = self.poll_cache.target(token)
        return cached if cached is not None else await self._key_checks(token)

    def authenticate_client(self, token: str) -> SdkTarget | None:
        """A client key's environment and its current revision, or None for an unknown, revoked or other key.
        Remembered apart from SDK keys: a client key never answers `poll_cache.target`."""
        if not token.startswith(api_keys.CLIENT_PREFIX):
            return None
        key_id = api_keys.key_id_of(token, api_keys.CLIENT_PREFIX)
        with self.database.transaction() as session:
            found = key_repository.sdk_key_target(session, key_id)
        if found is None or found.revoked or found.kind != "client":
            return None
        if not api_keys.matches(token, found.secret_hash):
            return None
        target = SdkTarget(found.environment_id, found.revision)
        self.poll_cache.remember_client(token, key_id, target)
        return target

    def cached_body(self, environment_id: int, revision: int) -> SnapshotBytes | None:
        """The serialized snapshot if it is already in memory at `revision` or later; never does I/O."""
        cached = self._bodies.get(environment_id)
        return cached if cached is not None and cached.revision >= revision else None

    def note_commit(self, environment_id: int, revision: int) -> None:
        """A commit listener: this process's own writes reach the poll path at once."""
        self.poll_cache.note_revision(environment_id, revision)

    def serialized(self, environment_id: int, revision: int) -> SnapshotBytes:
        """The snapshot's bytes at `revision` or later."""
        cached = self.cached_body(environment_id, revision)
        if cached is not None:
            return cached
        with self._build_lock:  # one build per miss, however many requests arrive together
            cached = self.cached_body(environment_id, revision)
            if cached is not None:
                return cached
            built = encode(self._load(environment_id))
            current = self._bodies.get(environment_id)
            if current is None or current.revision < built.revision:
                self._bodies[environment_id] = built
            return built

    def evaluation_input(
        self, project_key: str, environment_key: str, flag_key: str | None
    ) -> tuple[int, int, bytes]:
        """The environment's id and its snapshot as served to SDKs (revision and bytes), once the project, the
        environment and the flag (if named) are found to exist."""
        with self.database.transaction() as session:
            project, environment = lookups.environment(session, project_key, environment_key)
            if flag_key is not None:
                lookups.flag(session, project, flag_key)
            environment_id, revision = environment.id, environment.revision
        found = self.serialized(environment_id, revision)
        return environment_id, found.revision, found.identity

    def _load(self, environment_id: int) -> dict[str, Any]:
        with self.database.transaction(consistent_read=True) as session:
            environment = project_repository.get_environment_by_id(session, environment_id)
            if environment is None:
                raise NotFound("environment no longer exists", "environment")
            return environment_snapshot.build(session, environment)
