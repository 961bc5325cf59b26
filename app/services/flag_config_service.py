"""Use cases for a flag in one environment: read, list, patch targeting, on/off/kill, history and revert.

Each write takes the environment's lock first, then checks `If-Match`: two editors never overwrite each other.
A write given `wait` returns once connected SDKs confirmed it, or the wait ended (the confirmed kill switch).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

import flagstaff
from app.services import environment_snapshot, flag_checks, lookups, wire_format
from app.services.change_transaction import Actor, ChangeTransaction, ChangeWriter
from app.services.errors import InvalidInput, NotFound, check_version
from app.services.propagation import PropagationService
from app.services.read_models import EnvironmentFlag, HistoryEntry
from app.storage import flag_repository
from app.storage.database import Database
from app.storage.models import Environment, FlagConfig, FlagDefinition, utcnow

# Changes to these may break a reference to another flag or a segment, so they are checked against the whole
# environment; other fields are checked on the flag alone, which keeps the kill switch cheap.
_REFERENCING_FIELDS = frozenset({"rules", "prerequisites"})
# Given the locked, current config, returns the fields to change; `FlagConfigService.write_in` takes one.
ChangesFor = Callable[[Session, FlagConfig], dict[str, Any]]
# The switches: each writes `enabled` alone, audited under its own name.
SWITCHES: dict[str, bool] = {"flag.on": True, "flag.off": False, "flag.kill": False}


@dataclass(frozen=True, slots=True)
class FlagRef:
    """Names one flag in one environment of one project, by their keys: what each use case here acts on."""

    project: str
    environment: str
    flag: str


@dataclass(frozen=True, slots=True)
class FlagWrite:
    """A write asked for by name, as the audit log names it: `flag.update` (a PATCH body's targeting fields),
    `flag.on`, `flag.off` or `flag.kill`. Whoever asks (the routes, a scheduled change) builds it here, so the
    same request is checked the same way however it arrives."""

    action: str
    changes: dict[str, Any]

    @classmethod
    def update(cls, body: dict[str, Any], field_prefix: str = "") -> FlagWrite:
        """A PATCH body without its `reason`: only the targeting fields, any other name refused."""
        unknown = sorted(set(body) - set(wire_format.CONFIG_FIELDS))
        if unknown:
            raise InvalidInput(
                f"unknown field; a flag's targeting has only {', '.join(wire_format.CONFIG_FIELDS)}",
                field_prefix + unknown[0],
            )
        return cls("flag.update", dict(body))

    @classmethod
    def switch(cls, action: str) -> FlagWrite:
        return cls(action, {"enabled": SWITCHES[action]})


class FlagConfigService:
    def __init__(self, database: Database, writer: ChangeWriter, propagation: PropagationService) -> None:
        self.database = database
        self.writer = writer
        self.propagation = propagation

    def get(self, ref: FlagRef) -> EnvironmentFlag:
        with self.database.transaction() as session:
            project, environment = lookups.environment(session, ref.project, ref.environment)
            definition = lookups.flag(session, project, ref.flag)
            config = _config(session, definition, environment)
            return EnvironmentFlag(
                flag=wire_format.wire_flag(definition, config), revision=environment.revision, changed=False
            )

    def list(
        self, project_key: str, environment_key: str, *, tag: str | None, after: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        with self.database.transaction() as session:
            project, environment = lookups.environment(session, project_key, environment_key)
            rows = flag_repository.live_flags_in_environment(
                session, project.id, environment.id, tag=tag, after=after, limit=limit
            )
            return [wire_format.wire_flag(d, c) for d, c in rows], environment.revision

    def patch(
        self,
        actor: Actor,
        ref: FlagRef,
        changes: dict[str, Any],
        if_match: int | None,
        reason: str | None = None,
        *,
        wait: float | None = None,
    ) -> EnvironmentFlag:
        return self._requested(actor, ref, FlagWrite.update(changes), if_match, reason, wait)

    def kill(self, actor: Actor, ref: FlagRef, reason: str, *, wait: float | None = None) -> EnvironmentFlag:
        """The kill switch: turns the flag off, audited as `flag.kill` with its (required) reason."""
        return self._switch(actor, ref, "flag.kill", reason, wait)

    def turn_on(
        self, actor: Actor, ref: FlagRef, reason: str | None = None, *, wait: float | None = None
    ) -> EnvironmentFlag:
        return self._switch(actor, ref, "flag.on", reason, wait)

    def turn_off(
        self, actor: Actor, ref: FlagRef, reason: str | None = None, *, wait: float | None = None
    ) -> EnvironmentFlag:
        return self._switch(actor, ref, "flag.off", reason, wait)

    def check(self, session: Session, ref: FlagRef, write: FlagWrite) -> FlagConfig:
        """Checks, writing nothing and taking no lock, that `write` would leave a valid flag as things stand,
        as the write itself would check it; returns the flag's current config. A scheduled change is checked
        so when it is created, and again (by the write) when it runs."""
        project, environment = lookups.environment(session, ref.project, ref.environment)
        definition = lookups.flag(session, project, ref.flag)
        config = _config(session, definition, environment)
        _next_state(session, environment, config, wire_format.wire_flag(definition, config), write.changes)
        return config

    def history(self, ref: FlagRef, *, before: int | None, limit: int) -> Sequence[HistoryEntry]:
        with self.database.transaction() as session:
            project, environment = lookups.environment(session, ref.project, ref.environment)
            definition = lookups.flag(session, project, ref.flag)
            rows = flag_repository.history(
                session, environment.id, definition.key, before=before, limit=limit
            )
            return [
                HistoryEntry(
                    version=row.version,
                    revision=row.revision,
                    deleted=row.deleted,
                    flag=row.payload,
                    actor=row.actor,
                    at=row.created_at,
                )
                for row in rows
            ]

    def revert(
        self, actor: Actor, ref: FlagRef, version: int, if_match: int | None, reason: str | None
    ) -> EnvironmentFlag:
        """Writes an earlier version's targeting as a new version: history only grows."""

        def restore(session: Session, config: FlagConfig) -> dict[str, Any]:
            row = flag_repository.get_version(session, config.environment_id, ref.flag, version)
            if row is None or row.payload is None:
                raise NotFound(f"flag {ref.flag!r} has no version {version} in this environment", "version")
            return wire_format.config_of(row.payload)

        return self._write(actor, ref, "flag.revert", if_match, reason, restore)

    def _switch(
        self, actor: Actor, ref: FlagRef, action: str, reason: str | None, wait: float | None
    ) -> EnvironmentFlag:
        """on, off and kill are one idempotent write: a repeat changes nothing and returns the current
        revision. Only `enabled` and the audit action tell them apart."""
        return self._requested(actor, ref, FlagWrite.switch(action), None, reason, wait)

    def _requested(
        self,
        actor: Actor,
        ref: FlagRef,
        write: FlagWrite,
        if_match: int | None,
        reason: str | None,
        wait: float | None,
    ) -> EnvironmentFlag:
        state = self._write(actor, ref, write.action, if_match, reason, lambda _s, _c: write.changes)
        return self._confirmed(ref, state, wait)

    def _confirmed(self, ref: FlagRef, state: EnvironmentFlag, wait: float | None) -> EnvironmentFlag:
        """With `wait`, holds the answer until every connected SDK confirmed the state's revision, or `wait`
        seconds passed (all of them while presence is unknown), timed from the commit."""
        if wait is None:
            return state
        committed_at = time.time()
        found = self.propagation.wait_in(ref.project, ref.environment, state.revision, committed_at, wait)
        return state.model_copy(update={"propagation": found})

    def _write(
        self,
        actor: Actor,
        ref: FlagRef,
        action: str,
        if_match: int | None,
        reason: str | None,
        changes_for: ChangesFor,
    ) -> EnvironmentFlag:
        with self.writer.begin(actor) as change:
            state = self.write_in(change, ref, action, if_match, reason, changes_for)
            if not state.changed:
                change.discard()
            return state

    def write_in(
        self,
        change: ChangeTransaction,
        ref: FlagRef,
        action: str,
        if_match: int | None,
        reason: str | None,
        changes_for: ChangesFor,
    ) -> EnvironmentFlag:
        """One flag write inside `change`, a transaction the caller may go on using (a schedule or a rollout
        plan records that it ran in the same commit, so it runs exactly once). A write that changes nothing
        takes its revision bump back and returns the current state with `changed` false."""
        project, environment = lookups.environment(change.session, ref.project, ref.environment)
        change.bump(environment)
        definition = lookups.flag(change.session, project, ref.flag)
        config = _config(change.session, definition, environment)
        check_version(f"flag {ref.flag!r}", config.version, if_match)
        changes = changes_for(change.session, config)
        before = wire_format.wire_flag(definition, config)
        after = _next_state(change.session, environment, config, before, changes)
        if after is None:
            revision = change.revision_before(environment)
            change.unbump(environment)
            return EnvironmentFlag(flag=before, revision=revision, changed=False)
        wire_format.apply_config(config, {**wire_format.config_values(config), **changes})
        _record(change, definition, environment, config, after)
        change.audit(
            action,
            ref.flag,
            project=ref.project,
            environment=ref.environment,
            before=before,
            after=after,
            reason=reason,
        )
        return EnvironmentFlag(flag=after, revision=environment.revision)


def _next_state(
    session: Session,
    environment: Environment,
    config: FlagConfig,
    before: dict[str, Any],
    changes: dict[str, Any],
) -> dict[str, Any] | None:
    """The flag (`before`, in wire format) after `changes`, checked as every write checks it; None if nothing
    changes."""
    key = before["key"]
    values = {**wire_format.config_values(config), **changes}
    if values == wire_format.config_values(config):
        return None
    after = {**before, **values, "version": config.version + 1}
    if not after["track_events"]:
        del after["track_events"]  # as wire_flag writes it: only when set
    if set(changes) == {"enabled"}:
        # Switching changes no targeting: a flag stored before a newer limit stays switchable.
        if changes["enabled"]:
            flag_checks.check_evaluable(after)
    else:
        flag_checks.check_flag(after)
    # Reading the whole environment costs O(flags); only a flag naming others can break a reference.
    if _REFERENCING_FIELDS & set(changes) and flagstaff.has_references(after):
        flag_checks.check_references(
            environment_snapshot.build(session, environment, flags={key: after}), key
        )
    return after


def _config(session: Session, definition: FlagDefinition, environment: Environment) -> FlagConfig:
    config = flag_repository.get_config(session, definition.id, environment.id)
    if config is None:  # only if the store was edited by hand: every environment gets every flag
        raise NotFound(f"flag {definition.key!r} has no configuration in {environment.key!r}", "flag")
    return config


def _record(
    change: ChangeTransaction,
    definition: FlagDefinition,
    environment: Environment,
    config: FlagConfig,
    body: dict[str, Any],
) -> None:
    config.version = body["version"]
    config.updated_at = utcnow()
    change.record_flag(environment, definition.key, config.version, body)
