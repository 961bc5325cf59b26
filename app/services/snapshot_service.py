"""Serves environment snapshots: pre-serialized bytes for SDKs, compiled snapshots for server evaluation.

Both are cached per (environment, revision); a revision never changes meaning, so nothing is ever invalidated,
only replaced by a newer revision.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import flagstaff
from app.auth import api_keys
from app.services import environment_snapshot, lookups
from app.services.errors import NotFound
from app.storage import key_repository, project_repository
from app.storage.database import Database


@dataclass(frozen=True, slots=True)
class SdkTarget:
    environment_id: int
    revision: int


class SnapshotService:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._bodies: dict[int, tuple[int, bytes]] = {}
        self._compiled: dict[int, flagstaff.Snapshot] = {}
        self._build_lock = threading.Lock()

    def authenticate_sdk(self, token: str) -> SdkTarget | None:
        """The SDK key's environment and its current revision, or None for an unknown or revoked key."""
        if not token.startswith(api_keys.SDK_PREFIX):
            return None
        with self.database.transaction() as session:
            target = key_repository.sdk_key_target(session, api_keys.key_id_of(token, api_keys.SDK_PREFIX))
        if target is None or target.revoked or not api_keys.matches(token, target.secret_hash):
            return None
        return SdkTarget(target.environment_id, target.revision)

    def serialized(self, environment_id: int, revision: int) -> tuple[int, bytes]:
        """The snapshot's JSON bytes and the revision they are at (at least `revision`)."""
        cached = self._bodies.get(environment_id)
        if cached is not None and cached[0] >= revision:
            return cached
        with self._build_lock:  # one build per miss, however many requests arrive together
            cached = self._bodies.get(environment_id)
            if cached is not None and cached[0] >= revision:
                return cached
            data = self._load(environment_id)
            built = (int(data["revision"]), json.dumps(data, separators=(",", ":")).encode())
            current = self._bodies.get(environment_id)
            if current is None or current[0] < built[0]:
                self._bodies[environment_id] = built
            return built

    def evaluate(
        self, project_key: str, environment_key: str, context: dict[str, Any], flag_key: str | None
    ) -> tuple[int, dict[str, flagstaff.Evaluation]]:
        with self.database.transaction() as session:
            project, environment = lookups.environment(session, project_key, environment_key)
            if flag_key is not None:
                lookups.flag(session, project, flag_key)
            environment_id, revision = environment.id, environment.revision
        snapshot = self._compiled.get(environment_id)
        if snapshot is None or snapshot.revision < revision:
            snapshot = flagstaff.load_snapshot(self._load(environment_id))
            self._compiled[environment_id] = snapshot
        now = time.time()
        if flag_key is not None:
            return snapshot.revision, {flag_key: snapshot.evaluate(flag_key, context, now)}
        return snapshot.revision, snapshot.evaluate_all(context, now)

    def _load(self, environment_id: int) -> dict[str, Any]:
        with self.database.transaction(consistent_read=True) as session:
            environment = project_repository.get_environment_by_id(session, environment_id)
            if environment is None:
                raise NotFound("environment no longer exists", "environment")
            return environment_snapshot.build(session, environment)
