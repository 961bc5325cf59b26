"""Short-lived in-memory answers for the hot `GET /sdk/v1/flags`: which environment an SDK key belongs to, and
that environment's current revision, so the 304 path needs neither the database nor a worker thread.

Bounded staleness, by design: a key revoked on another replica works here for at most KEY_TTL_SECONDS, and a
change committed on another replica is seen here within REVISION_TTL_SECONDS. Changes and revocations made
through this process are seen at once. Streams (`/sdk/v1/stream`) never use this cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from app.auth import api_keys

KEY_TTL_SECONDS = 2.0
REVISION_TTL_SECONDS = 1.0
_MAX_KEYS = 10_000  # past this many distinct keys the cache starts over rather than grow


@dataclass(frozen=True, slots=True)
class SdkTarget:
    environment_id: int
    revision: int


class SdkPollCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._keys: dict[str, tuple[float, str, int]] = {}  # token hash -> (expires, key id, environment)
        self._revisions: dict[int, tuple[float, int]] = {}  # environment -> (fresh until, revision)
        # Client keys (public, OFREP only) are kept apart, so `target` never answers for one.
        self._client_keys: dict[str, tuple[float, str, int]] = {}

    def target(self, token: str) -> SdkTarget | None:
        """The cached answer for this SDK key, or None when the database must be asked."""
        return self._target(self._keys, token)

    def client_target(self, token: str) -> SdkTarget | None:
        """The cached answer for this client key, or None when the database must be asked."""
        return self._target(self._client_keys, token)

    def _target(self, keys: dict[str, tuple[float, str, int]], token: str) -> SdkTarget | None:
        now = self._clock()
        key = keys.get(api_keys.hash_key(token))
        if key is None or key[0] < now:
            return None
        revision = self._revisions.get(key[2])
        if revision is None or revision[0] < now:
            return None
        return SdkTarget(key[2], revision[1])

    def remember(self, token: str, key_id: str, target: SdkTarget) -> None:
        self._remember(self._keys, token, key_id, target)

    def remember_client(self, token: str, key_id: str, target: SdkTarget) -> None:
        self._remember(self._client_keys, token, key_id, target)

    def _remember(
        self, keys: dict[str, tuple[float, str, int]], token: str, key_id: str, target: SdkTarget
    ) -> None:
        now = self._clock()
        if len(keys) >= _MAX_KEYS:
            keys.clear()
        keys[api_keys.hash_key(token)] = (now + KEY_TTL_SECONDS, key_id, target.environment_id)
        self.note_revision(target.environment_id, target.revision)

    def note_revision(self, environment_id: int, revision: int) -> None:
        """Revisions only increase: an older one (read before a concurrent commit) never replaces a newer."""
        current = self._revisions.get(environment_id)
        if current is None or current[1] <= revision:
            self._revisions[environment_id] = (self._clock() + REVISION_TTL_SECONDS, revision)

    def forget_key(self, key_id: str) -> None:
        for keys in (self._keys, self._client_keys):
            for token_hash, (_, cached_id, _) in list(keys.items()):
                if cached_id == key_id:
                    keys.pop(token_hash, None)
