"""Scheduled changes: "at time T, apply this change to this flag", created, listed and cancelled by people,
and run when due by every server process at once, each change exactly once.

A run claims its row (`FOR UPDATE SKIP LOCKED`) and writes the flag through `FlagConfigService.write_in` in
the transaction that marks the row done, so neither a crash nor a second replica can apply a change twice.
Flags are written only that way; a change is checked as the direct call (PATCH, on, off, kill) checks it,
both when it is created and when it runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, get_args

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from app.services import lookups
from app.services.change_transaction import Actor, ChangeTransaction, ChangeWriter
from app.services.errors import Conflict, InvalidInput, NotFound, ServiceError, VersionMismatch
from app.services.flag_config_service import FlagConfigService, FlagRef, FlagWrite
from app.services.input_models import ScheduleIn
from app.services.read_models import ScheduleOut, ScheduleStatus
from app.storage import flag_repository, schedule_repository
from app.storage.database import Database
from app.storage.models import Environment, FlagConfig, Project, ScheduledChange, utcnow

log = logging.getLogger(__name__)

STATUSES: tuple[str, ...] = get_args(ScheduleStatus)
# Due changes read per query; a round reads again while it finds ones it has not tried.
_BATCH = 100
# The database is down or stalled: a run leaves its change pending and the next round tries again.
_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)

Clock = Callable[[], datetime]


def actor_of(schedule_id: int) -> Actor:
    """Who a run is audited as: its flag write as the direct call would be, and its own outcome."""
    return Actor(f"schedule:{schedule_id}")


class ScheduleService:
    def __init__(
        self,
        database: Database,
        writer: ChangeWriter,
        flags: FlagConfigService,
        *,
        max_days_ahead: int,
    ) -> None:
        self.database = database
        self.writer = writer
        self.flags = flags
        self.max_days_ahead = max_days_ahead

    def create(self, actor: Actor, project: str, environment: str, request: ScheduleIn) -> ScheduleOut:
        write = _flag_write(request.action, request.changes)
        if request.action == "kill" and not request.reason:
            raise InvalidInput("a scheduled kill needs a reason, as the kill switch does", "reason")
        now = utcnow()
        if request.at <= now:
            raise InvalidInput(f"must be in the future; the server's time is {_iso(now)}", "at")
        if request.at > now + timedelta(days=self.max_days_ahead):
            raise InvalidInput(
                f"must be at most {self.max_days_ahead} days ahead (FLAGSTAFF_SCHEDULE_MAX_DAYS_AHEAD)", "at"
            )
        ref = FlagRef(project, environment, request.flag)
        with self.writer.begin(actor) as change:
            config = self._checked(change.session, ref, write, request.action)
            row = ScheduledChange(
                environment_id=config.environment_id,
                flag_key=request.flag,
                action=request.action,
                changes=write.changes if request.action == "patch" else None,
                reason=request.reason,
                due_at=request.at,
                expected_version=request.if_version if request.if_version is not None else config.version,
                apply_if_changed=request.apply_if_changed,
                status="pending",
                created_by=actor.name,
            )
            change.session.add(row)
            change.session.flush()
            created = _out(row, project, environment)
            change.audit(
                "schedule.create",
                str(row.id),
                project=project,
                environment=environment,
                after=_dump(created),
                reason=request.reason,
            )
            return created

    def list(
        self,
        project: str,
        environment: str,
        *,
        flag: str | None,
        status: str | None,
        after: int | None,
        limit: int,
    ) -> list[ScheduleOut]:
        """By due time, soonest first; `after` (an id) continues a previous page."""
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"must be one of {', '.join(STATUSES)}", "status")
        with self.database.transaction() as session:
            _, found = lookups.environment(session, project, environment)
            cursor = None
            if after is not None:
                cursor = schedule_repository.get(session, found.id, after)
                if cursor is None:
                    raise InvalidInput("names no scheduled change here: pass the `next` of a page", "after")
            rows = schedule_repository.in_environment(
                session, found.id, flag=flag, status=status, after=cursor, limit=limit
            )
            return [_out(row, project, environment) for row in rows]

    def recent(
        self, project: str, environment: str, *, flag: str | None, limit: int
    ) -> Sequence[ScheduleOut]:
        """The changes that ran or were cancelled, the latest due first: what happened lately."""
        with self.database.transaction() as session:
            _, found = lookups.environment(session, project, environment)
            rows = schedule_repository.settled_in_environment(session, found.id, flag=flag, limit=limit)
            return [_out(row, project, environment) for row in rows]

    def get(self, project: str, environment: str, schedule_id: int) -> ScheduleOut:
        with self.database.transaction() as session:
            _, found = lookups.environment(session, project, environment)
            return _out(_row(session, found, schedule_id), project, environment)

    def cancel(
        self, actor: Actor, project: str, environment: str, schedule_id: int, reason: str | None
    ) -> ScheduleOut:
        """Only a pending change; against a run at the same moment, exactly one of the two wins (the lock
        waits for a run in progress, which then has settled the change)."""
        with self.writer.begin(actor) as change:
            _, found = lookups.environment(change.session, project, environment)
            row = _row(change.session, found, schedule_id, lock=True)
            if row.status != "pending":
                raise Conflict(
                    f"scheduled change {schedule_id} is {row.status}: only a pending one can be cancelled",
                    "id",
                )
            before = _dump(_out(row, project, environment))
            row.status = "cancelled"
            row.outcome = f"cancelled by {actor.name}" + (f": {reason}" if reason else "")
            cancelled = _out(row, project, environment)
            change.audit(
                "schedule.cancel",
                str(schedule_id),
                project=project,
                environment=environment,
                before=before,
                after=_dump(cancelled),
                reason=reason,
            )
            return cancelled

    def run_due(self, now: datetime | None = None) -> Sequence[ScheduleOut]:
        """Runs every pending change due by `now` (by default the time as it goes), each in its own
        transaction, and returns those this call settled. Other replicas may run at the same time: each change
        is settled by exactly one of them. A given `now` (tests move time rather than sleep) is also the
        changes' `ran_at`."""
        clock: Clock = utcnow if now is None else (lambda: now)
        settled: list[ScheduleOut] = []
        tried: set[int] = set()
        while True:
            # Those tried and still pending (held by another replica) come back: read past them.
            limit = _BATCH + len(tried)
            with self.database.transaction() as session:
                due = schedule_repository.due_ids(session, clock(), limit)
            for schedule_id in due:
                if schedule_id in tried:
                    continue
                tried.add(schedule_id)
                result = self._run(schedule_id, clock)
                if result is not None:
                    log.info("scheduled change %s %s: %s", result.id, result.status, result.outcome)
                    settled.append(result)
            if len(due) < limit:
                return settled

    def _checked(self, session: Session, ref: FlagRef, write: FlagWrite, action: str) -> FlagConfig:
        try:
            return self.flags.check(session, ref, write)
        except InvalidInput as error:
            if action != "patch":
                raise
            # The paths are the PATCH body's; here that body is `changes`.
            raise InvalidInput(
                error.message, f"changes.{error.field}" if error.field else "changes"
            ) from None

    def _run(self, schedule_id: int, clock: Clock) -> ScheduleOut | None:
        try:
            with self.writer.begin(actor_of(schedule_id)) as change:
                return self._apply(change, schedule_id, clock)
        except VersionMismatch:
            return self._settle_apart(schedule_id, None, clock)
        except ServiceError as error:
            return self._settle_apart(schedule_id, error.message, clock)
        except _UNAVAILABLE:
            raise
        except Exception as error:
            # A change that cannot be applied must not hold up those due after it, round after round.
            log.exception("scheduled change %s could not be applied", schedule_id)
            failure = f"internal error ({type(error).__name__}); see the server log"
            return self._settle_apart(schedule_id, failure, clock)

    def _apply(self, change: ChangeTransaction, schedule_id: int, clock: Clock) -> ScheduleOut | None:
        claimed = schedule_repository.claim(change.session, schedule_id, clock())
        if claimed is None:  # another replica holds or has settled it, or it was cancelled
            change.discard()
            return None
        row, environment, project = claimed
        ref = FlagRef(project.key, environment.key, row.flag_key)
        write = _flag_write(row.action, row.changes)
        if_match = None if row.apply_if_changed else row.expected_version
        state = self.flags.write_in(
            change, ref, write.action, if_match, row.reason, lambda _session, _config: write.changes
        )
        version: int = state.flag["version"]
        outcome = f"applied as version {version}" if state.changed else "no change"
        return _settle(change, row, environment, project, "applied", outcome, version, clock())

    def _settle_apart(self, schedule_id: int, failure: str | None, clock: Clock) -> ScheduleOut | None:
        """Records a run that wrote nothing, in a transaction of its own (the run's was rolled back): refused
        when `failure` is None (the flag moved on), else failed with that message."""
        with self.writer.begin(actor_of(schedule_id)) as change:
            claimed = schedule_repository.claim(change.session, schedule_id, clock())
            if claimed is None:
                change.discard()
                return None
            row, environment, project = claimed
            if failure is not None:
                return _settle(change, row, environment, project, "failed", failure, None, clock())
            try:
                definition = lookups.flag(change.session, project, row.flag_key)
            except NotFound as gone:  # deleted since the run looked
                return _settle(change, row, environment, project, "failed", gone.message, None, clock())
            config = flag_repository.get_config(change.session, definition.id, environment.id)
            found = "?" if config is None else str(config.version)
            moved = f"flag moved from version {row.expected_version} to {found} since scheduling"
            return _settle(change, row, environment, project, "refused", moved, None, clock())


def _settle(
    change: ChangeTransaction,
    row: ScheduledChange,
    environment: Environment,
    project: Project,
    status: str,
    outcome: str,
    applied_version: int | None,
    ran_at: datetime,
) -> ScheduleOut:
    """Marks a claimed change run, and audits it as `schedule.<status>`."""
    before = _dump(_out(row, project.key, environment.key))
    row.status = status
    row.outcome = outcome
    row.applied_version = applied_version
    row.ran_at = ran_at
    settled = _out(row, project.key, environment.key)
    change.audit(
        f"schedule.{status}",
        str(row.id),
        project=project.key,
        environment=environment.key,
        before=before,
        after=_dump(settled),
        reason=row.reason,
    )
    return settled


def _flag_write(action: str, changes: dict[str, Any] | None) -> FlagWrite:
    """The write the schedule's action names, checked as the direct call checks its body."""
    if action == "patch":
        if not changes:
            raise InvalidInput("a patch needs the targeting fields to change", "changes")
        return FlagWrite.update(changes, "changes.")
    if changes is not None:
        raise InvalidInput(f"only a patch has changes; {action} writes `enabled` alone", "changes")
    return FlagWrite.switch(f"flag.{action}")


def _row(
    session: Session, environment: Environment, schedule_id: int, *, lock: bool = False
) -> ScheduledChange:
    row = schedule_repository.get(session, environment.id, schedule_id, lock=lock)
    if row is None:
        raise NotFound(f"scheduled change {schedule_id} does not exist in {environment.key!r}", "id")
    return row


def _out(row: ScheduledChange, project: str, environment: str) -> ScheduleOut:
    return ScheduleOut(
        id=row.id,
        project=project,
        environment=environment,
        flag=row.flag_key,
        action=row.action,  # type: ignore[arg-type]
        changes=row.changes,
        reason=row.reason,
        at=row.due_at,
        expected_version=row.expected_version,
        apply_if_changed=row.apply_if_changed,
        status=row.status,  # type: ignore[arg-type]
        outcome=row.outcome,
        applied_version=row.applied_version,
        created_by=row.created_by,
        created_at=row.created_at,
        ran_at=row.ran_at,
    )


def _dump(schedule: ScheduleOut) -> dict[str, Any]:
    """A schedule as the audit log records it, before and after a change."""
    return schedule.model_dump(mode="json")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
