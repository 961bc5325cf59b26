"""Read models of flags for people at a glance: one row per flag in an environment (state on, off or killed,
what it serves, its last change and by whom), searchable and filtered, and the rows changed since a revision,
for a page that follows changes live. Reads only; every change goes through `FlagConfigService`.

A flag is "killed" when it is off and the last switch of it in that environment (on, off or kill) was a kill.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from app.services import lookups
from app.services.errors import InvalidInput, NotFound
from app.storage import audit_repository, change_log, flag_repository, project_repository
from app.storage.audit_repository import FlagAction
from app.storage.database import Database
from app.storage.flag_repository import FlagGlance
from app.storage.models import Environment, Project

SWITCH_ACTIONS = ("flag.kill", "flag.off", "flag.on")
_FULL_WEIGHT = 100_000
MAX_SEARCH_LENGTH = 200
# A live page asking for more changed rows than this reloads instead: it fell far behind.
MAX_CHANGES_PER_CATCH_UP = 1000


class FlagState(StrEnum):
    ON = "on"
    OFF = "off"
    KILLED = "killed"


@dataclass(frozen=True, slots=True)
class Served:
    """One variation a flag serves when nothing more specific decides, and to what share of contexts."""

    variation: int
    value: Any
    percent: float


@dataclass(frozen=True, slots=True)
class LastChange:
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Switch:
    """The flag's last on, off or kill in the environment: who, when, and the reason given."""

    action: str
    actor: str
    at: datetime
    reason: str | None


@dataclass(frozen=True, slots=True)
class FlagRow:
    key: str
    name: str
    kind: str
    tags: tuple[str, ...]
    state: FlagState
    version: int
    serves: tuple[Served, ...]
    """On: the fallthrough (one variation at 100%, or a rollout's shares); off: the off variation."""
    rules: int
    targets: int
    last_change: LastChange | None
    last_switch: Switch | None

    @property
    def is_rollout(self) -> bool:
        return len(self.serves) > 1


@dataclass(frozen=True, slots=True)
class FlagQuery:
    """What the flag list is narrowed to: a search in key and name, a tag, a state; empty means everything."""

    search: str = ""
    tag: str = ""
    state: str = ""

    def __post_init__(self) -> None:
        if len(self.search) > MAX_SEARCH_LENGTH:
            raise InvalidInput(f"a search may have at most {MAX_SEARCH_LENGTH} characters", "q")
        if self.state and self.state not in FlagState.__members__.values():
            raise InvalidInput("state must be on, off or killed", "state")

    def matches(self, row: FlagRow) -> bool:
        needle = self.search.strip().casefold()
        if needle and needle not in row.key.casefold() and needle not in row.name.casefold():
            return False
        if self.tag and self.tag not in row.tags:
            return False
        return not self.state or row.state == self.state


@dataclass(frozen=True, slots=True)
class FlagTable:
    project: str
    environment: str
    revision: int
    rows: Sequence[FlagRow]
    matching: int
    """How many flags match the query; more than `rows` holds when the list was cut at its limit."""
    total: int
    """How many flags the project has, whatever the query."""
    tags: Sequence[str]


@dataclass(frozen=True, slots=True)
class ChangedRows:
    revision: int
    rows: Sequence[FlagRow]
    """Changed flags that match the query, as they now stand."""
    gone: Sequence[str]
    """Changed flags that no longer match the query, or were deleted."""
    complete: bool = True
    """False when the change log no longer reaches back to the revision asked about: re-read everything."""


@dataclass(frozen=True, slots=True)
class FlagEverywhere:
    """One flag in every environment of its project, in the order the environments were created."""

    project: str
    key: str
    name: str
    description: str
    kind: str
    variations: Sequence[Any]
    tags: Sequence[str]
    environments: Sequence[tuple[str, FlagRow]] = field(default_factory=tuple)


def _serves(flag: FlagGlance) -> tuple[Served, ...]:
    variations = flag.variations

    def value(index: int) -> Any:
        return variations[index] if 0 <= index < len(variations) else None

    if not flag.enabled:
        off = flag.off_variation
        return () if off is None else (Served(off, value(off), 100.0),)
    fallthrough = flag.fallthrough or {}
    rollout = fallthrough.get("rollout")
    if isinstance(rollout, dict):
        return tuple(
            Served(int(part["variation"]), value(int(part["variation"])), part["weight"] * 100 / _FULL_WEIGHT)
            for part in rollout.get("variations", [])
            if part.get("weight", 0) > 0
        )
    variation = fallthrough.get("variation")
    return () if variation is None else (Served(int(variation), value(int(variation)), 100.0),)


def _row(
    flag: FlagGlance, changes: dict[str, tuple[str, datetime]], switches: dict[str, FlagAction]
) -> FlagRow:
    entry = switches.get(flag.key)
    switch = None if entry is None else Switch(entry.action, entry.actor, entry.at, entry.reason)
    if flag.enabled:
        state = FlagState.ON
    else:
        state = FlagState.KILLED if switch is not None and switch.action == "flag.kill" else FlagState.OFF
    change = changes.get(flag.key)
    return FlagRow(
        key=flag.key,
        name=flag.name,
        kind=flag.kind,
        tags=tuple(str(tag) for tag in flag.tags),
        state=state,
        version=flag.version,
        serves=_serves(flag),
        rules=len(flag.rules),
        targets=sum(len(target.get("values", [])) for target in flag.targets),
        last_change=None if change is None else LastChange(*change),
        last_switch=switch,
    )


def _rows(
    session: Session, project: Project, environment: Environment, keys: Collection[str] | None = None
) -> list[FlagRow]:
    flags = flag_repository.flags_at_a_glance(session, project.id, environment.id, keys)
    changes = flag_repository.last_changes(session, project.id, environment.id, keys)
    switches = audit_repository.last_flag_actions(session, project.key, environment.key, SWITCH_ACTIONS, keys)
    return [_row(flag, changes, switches) for flag in flags]


class FlagOverviewService:
    def __init__(self, database: Database) -> None:
        self.database = database

    def table(self, project_key: str, environment_key: str, query: FlagQuery, limit: int) -> FlagTable:
        """The environment's flags matching `query`, by key, at most `limit` of them."""
        with self.database.transaction(consistent_read=True) as session:
            project, environment = lookups.environment(session, project_key, environment_key)
            rows = _rows(session, project, environment)
            matching = [row for row in rows if query.matches(row)]
            return FlagTable(
                project=project.key,
                environment=environment.key,
                revision=environment.revision,
                rows=matching[:limit],
                matching=len(matching),
                total=len(rows),
                tags=sorted({tag for row in rows for tag in row.tags}),
            )

    def changed_since(
        self, project_key: str, environment_key: str, revision: int, query: FlagQuery
    ) -> ChangedRows:
        """The rows of flags changed after `revision`, for a page showing the environment at that revision."""
        with self.database.transaction(consistent_read=True) as session:
            project, environment = lookups.environment(session, project_key, environment_key)
            current = environment.revision
            if revision >= current:
                return ChangedRows(current, (), ())
            changes = change_log.changes_since(
                session, environment.id, revision, MAX_CHANGES_PER_CATCH_UP + 1
            )
            reaches_back = bool(changes) and changes[0].revision == revision + 1
            if not reaches_back or len(changes) > MAX_CHANGES_PER_CATCH_UP:
                return ChangedRows(current, (), (), complete=False)
            keys = {change.key for change in changes if change.entity_kind == "flag"}
            rows = _rows(session, project, environment, keys) if keys else []
            shown = [row for row in rows if query.matches(row)]
            gone = sorted(keys - {row.key for row in shown})
            return ChangedRows(current, shown, gone)

    def everywhere(self, project_key: str, flag_key: str) -> FlagEverywhere:
        """The flag's row in each environment of its project."""
        with self.database.transaction(consistent_read=True) as session:
            project = lookups.project(session, project_key)
            definition = lookups.flag(session, project, flag_key)
            environments = []
            for environment in project_repository.list_environments(session, project.id):
                rows = _rows(session, project, environment, [flag_key])
                if rows:
                    environments.append((environment.key, rows[0]))
            return FlagEverywhere(
                project=project.key,
                key=definition.key,
                name=definition.name,
                description=definition.description,
                kind=definition.kind,
                variations=list(definition.variations),
                tags=[str(tag) for tag in definition.tags],
                environments=environments,
            )

    def row(self, project_key: str, environment_key: str, flag_key: str) -> FlagRow:
        """One flag's row in one environment."""
        with self.database.transaction(consistent_read=True) as session:
            project, environment = lookups.environment(session, project_key, environment_key)
            rows = _rows(session, project, environment, [lookups.flag(session, project, flag_key).key])
            if not rows:
                raise NotFound(f"flag {flag_key!r} has no configuration in {environment_key!r}", "flag")
            return rows[0]

    def tagged(self, project_key: str, environment_key: str, tag: str) -> list[FlagRow]:
        """The flags with `tag` in the environment, for a bulk kill to name before it acts."""
        return list(self.table(project_key, environment_key, FlagQuery(tag=tag), 2**31 - 1).rows)
