"""Confirmation counting for the confirmed kill switch: how many connected SDK instances applied a revision,
and whether every connected instance can be known yet.

Reads acknowledgements through the `AckRegistry` role (`app.streaming.ack_registry`); knows nothing of HTTP.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from app.services import lookups
from app.services.read_models import PropagationOut, SdkInstanceOut, SdkInstancesOut
from app.storage import change_log, key_repository
from app.storage.database import Database
from app.streaming.ack_registry import AckRegistry, Presence

MAX_WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.02
_UNREADABLE = "acknowledgements could not be read (is Redis reachable?), so the counts are zero"


class PropagationService:
    def __init__(self, database: Database, registry: AckRegistry, presence_ttl_seconds: float) -> None:
        self.database = database
        self.registry = registry
        self.presence_ttl_seconds = presence_ttl_seconds

    def report(self, environment_id: int, revision: int, committed_at: float) -> PropagationOut:
        now = time.time()
        found = self.registry.instances(environment_id, now)
        if found is None:
            return PropagationOut(
                revision=revision,
                confirmed=0,
                unconfirmed=0,
                slowest_confirmation_ms=None,
                available=False,
                presence="unknown",
                note=_UNREADABLE,
            )
        delays = [
            max(0.0, ack.at - committed_at) * 1000.0
            for ack in found.instances.values()
            if ack is not None and ack.revision >= revision
        ]
        note = self._unknown_presence(found, now)
        return PropagationOut(
            revision=revision,
            confirmed=len(delays),
            unconfirmed=len(found.instances) - len(delays),
            slowest_confirmation_ms=round(max(delays), 1) if delays else None,
            presence="complete" if note is None else "unknown",
            note=note,
        )

    def wait(self, environment_id: int, revision: int, committed_at: float, timeout: float) -> PropagationOut:
        """Polls until every connected instance confirmed `revision` or `timeout` (at most 10 s) passed. While
        presence is unknown it uses the whole timeout: instances still reconnecting may yet confirm."""
        deadline = time.monotonic() + min(max(timeout, 0.0), MAX_WAIT_SECONDS)
        while True:
            result = self.report(environment_id, revision, committed_at)
            everyone = result.unconfirmed == 0 and result.presence == "complete"
            if everyone or time.monotonic() >= deadline or not result.available:
                return result
            time.sleep(_POLL_SECONDS)

    def wait_in(
        self, project_key: str, environment_key: str, revision: int, committed_at: float, timeout: float
    ) -> PropagationOut:
        with self.database.transaction() as session:
            _, environment = lookups.environment(session, project_key, environment_key)
            environment_id = environment.id
        return self.wait(environment_id, revision, committed_at, timeout)

    def current(self, project_key: str, environment_key: str) -> PropagationOut:
        """The report for the environment's current revision, timed from when that revision was committed."""
        return self.of_revision(project_key, environment_key, None)

    def of_revision(self, project_key: str, environment_key: str, revision: int | None) -> PropagationOut:
        """The report for `revision` (None: the current one), timed from when it was committed. A revision
        past the current one (none can be confirmed yet) is reported as the current one."""
        with self.database.transaction() as session:
            _, environment = lookups.environment(session, project_key, environment_key)
            environment_id = environment.id
            revision = environment.revision if revision is None else min(revision, environment.revision)
            committed = change_log.committed_at(session, environment_id, revision)
        return self.report(environment_id, revision, committed.timestamp() if committed else time.time())

    def instances(self, project_key: str, environment_key: str) -> SdkInstancesOut:
        """Every SDK instance present in the environment: its key, the revision it last confirmed and when it
        was last seen; stale if that revision is not the current one. The stalest first."""
        with self.database.transaction() as session:
            _, environment = lookups.environment(session, project_key, environment_key)
            environment_id, revision = environment.id, environment.revision
            names = {key.key_id: key.name for key in key_repository.list_sdk_keys(session, environment_id)}
        now = time.time()
        found = self.registry.instances(environment_id, now)
        if found is None:
            return SdkInstancesOut(
                revision=revision, instances=[], available=False, presence="unknown", note=_UNREADABLE
            )
        listed = []
        for member, ack in found.instances.items():
            key_id, _, instance_id = member.partition("/")
            seen = found.seen.get(member)
            listed.append(
                SdkInstanceOut(
                    key_id=key_id,
                    key_name=names.get(key_id),
                    instance_id=instance_id,
                    applied_revision=ack.revision if ack else None,
                    confirmed_at=_utc(ack.at) if ack else None,
                    last_seen=_utc(seen) if seen is not None else None,
                    stale=ack is None or ack.revision < revision,
                )
            )
        listed.sort(
            key=lambda i: (i.applied_revision is not None, i.applied_revision or 0, i.key_id, i.instance_id)
        )
        note = self._unknown_presence(found, now)
        return SdkInstancesOut(
            revision=revision,
            instances=listed,
            available=True,
            presence="complete" if note is None else "unknown",
            note=note,
        )

    def _unknown_presence(self, found: Presence, now: float) -> str | None:
        """Why the counts may miss connected instances; None once the record covers a whole presence TTL."""
        age = max(0.0, now - found.since)
        ttl = self.presence_ttl_seconds
        if age >= ttl:
            return None
        return (
            f"presence unknown: {found.origin}, {age:.0f} s ago; SDKs may take up to {ttl:g} s to reconnect, "
            f"and those that have not yet are missing from these counts (complete in {ttl - age:.0f} s)"
        )


def _utc(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)
