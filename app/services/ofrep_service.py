"""OpenFeature Remote Evaluation (OFREP) in the server process: which environment a key may evaluate, and the
environment's compiled snapshot, kept per revision, evaluated with the SDK's engine.

No database query per evaluation once the key and the revision are cached (the SDK poll's key cache, whose
staleness bounds apply here too); a new revision is compiled once, by the first request that needs it. Knows
nothing of HTTP: the routes turn its answers into OFREP's shapes.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass

import flagstaff
from app.auth import api_keys
from app.services.snapshot_service import SdkTarget, SnapshotService
from app.storage import flag_repository

_KEPT = 64  # compiled environments kept; past this the oldest entry makes room


@dataclass(frozen=True, slots=True)
class OfrepAccess:
    """What a key may evaluate: its environment at a revision; only client-side flags when `client_only`."""

    environment_id: int
    revision: int
    client_only: bool


@dataclass(frozen=True, slots=True)
class CompiledEnvironment:
    revision: int
    snapshot: flagstaff.Snapshot
    client_side: frozenset[str]  # the keys of the flags a client key may evaluate


class OfrepService:
    def __init__(self, snapshots: SnapshotService) -> None:
        self.snapshots = snapshots
        self._compiled: dict[int, CompiledEnvironment] = {}
        self._lock = threading.Lock()
        # token -> its database check running now, shared by the requests that miss the cache together
        # (the cached revision expires for all of them at once); filled and emptied by the routes
        self.checks_in_flight: dict[str, asyncio.Future[OfrepAccess | None]] = {}

    def cached_access(self, token: str) -> OfrepAccess | None:
        """The key's access from memory, or None when the database must be asked (`authenticate`)."""
        cache = self.snapshots.poll_cache
        if token.startswith(api_keys.CLIENT_PREFIX):
            target = cache.client_target(token)
            return None if target is None else _access(target, client_only=True)
        target = cache.target(token)
        return None if target is None else _access(target, client_only=False)

    def authenticate(self, token: str) -> OfrepAccess | None:
        """The key's access, checked against the database; None for an unknown, revoked or foreign key."""
        if token.startswith(api_keys.CLIENT_PREFIX):
            target = self.snapshots.authenticate_client(token)
            return None if target is None else _access(target, client_only=True)
        target = self.snapshots.authenticate_sdk(token)
        return None if target is None else _access(target, client_only=False)

    def cached_environment(self, access: OfrepAccess) -> CompiledEnvironment | None:
        """The compiled snapshot at the access's revision or later, if memory holds it; never does I/O."""
        found = self._compiled.get(access.environment_id)
        return found if found is not None and found.revision >= access.revision else None

    def environment(self, access: OfrepAccess) -> CompiledEnvironment:
        """The compiled snapshot at the access's revision or later, compiled now if it must be."""
        found = self.cached_environment(access)
        if found is not None:
            return found
        with self._lock:  # one compilation per revision, however many requests arrive together
            found = self.cached_environment(access)
            if found is not None:
                return found
            body = self.snapshots.serialized(access.environment_id, access.revision)
            snapshot = flagstaff.load_snapshot(json.loads(body.identity))
            # Read after the snapshot, so never older than it: a change of `client_side` is a new revision,
            # and at worst this revision's entry shows the next revision's set until that one is compiled.
            with self.snapshots.database.transaction() as session:
                client_side = flag_repository.client_side_keys(session, access.environment_id)
            built = CompiledEnvironment(snapshot.revision, snapshot, client_side)
            if len(self._compiled) >= _KEPT and access.environment_id not in self._compiled:
                self._compiled.pop(next(iter(self._compiled)))
            current = self._compiled.get(access.environment_id)
            if current is None or current.revision < built.revision:
                self._compiled[access.environment_id] = built
            return built


def _access(target: SdkTarget, *, client_only: bool) -> OfrepAccess:
    return OfrepAccess(target.environment_id, target.revision, client_only)
