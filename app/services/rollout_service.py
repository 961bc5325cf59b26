"""Use cases of rollout plans: start one on a flag in an environment, read and list them, pause, resume and
abort. The steps after the first, the guard and the end are the runner's (`app.services.rollout_runner`).

A call that changes a plan locks its row first (waiting for a runner working on it), then checks its status
and `If-Match`: a plan is never changed by two writers at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.services import guards, lookups, rollout_plan, wire_format
from app.services.change_transaction import Actor, ChangeTransaction, ChangeWriter
from app.services.errors import Conflict, NotFound, check_version
from app.services.flag_checks import check_flag
from app.services.flag_config_service import FlagConfigService, FlagRef
from app.services.input_models import RolloutIn
from app.services.propagation import PropagationService
from app.services.read_models import PropagationOut, RolloutOut
from app.services.rollout_moves import PlanAt, PlanMoves
from app.services.rollout_runner import RolloutRunner
from app.settings import Settings
from app.storage import flag_repository, rollout_repository
from app.storage.database import Database
from app.storage.models import RolloutPlan, utcnow


@dataclass(frozen=True, slots=True)
class EnvironmentRef:
    """An environment of a project, by their keys: where a plan is."""

    project: str
    environment: str


@dataclass(frozen=True, slots=True)
class RolloutLimits:
    max_steps: int
    max_dwell_seconds: float

    @classmethod
    def of(cls, settings: Settings) -> RolloutLimits:
        return cls(settings.rollout_max_steps, settings.rollout_max_dwell_seconds)


class RolloutService:
    def __init__(
        self,
        database: Database,
        writer: ChangeWriter,
        flag_configs: FlagConfigService,
        propagation: PropagationService,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.writer = writer
        self.propagation = propagation
        self.limits = RolloutLimits.of(settings)
        self.clock = clock
        self.moves = PlanMoves(flag_configs, settings.rollout_guard_interval_seconds)
        self.runner = RolloutRunner(
            database,
            writer,
            self.moves,
            settings.guard_query_timeout_seconds,
            clock,
            metrics_bucket_seconds=settings.metrics_bucket_seconds,
        )

    def start(self, actor: Actor, where: EnvironmentRef, request: RolloutIn) -> RolloutOut:
        """Creates the plan and writes its first step; 409 if the flag already has an active plan here."""
        steps = rollout_plan.check_steps(request.steps, self.limits.max_steps, self.limits.max_dwell_seconds)
        guard = None if request.guard is None else guards.parse(request.guard).to_dict()
        with self.writer.begin(actor) as change:
            session = change.session
            project, environment = lookups.environment(session, where.project, where.environment)
            # Locked: two plans started at once for one flag queue here, and the second sees the first.
            definition = lookups.flag(session, project, request.flag, lock=True)
            config = flag_repository.get_config(session, definition.id, environment.id)
            if config is None:
                raise NotFound(f"flag {definition.key!r} has no configuration in {environment.key!r}", "flag")
            active = rollout_repository.active_for_flag(session, environment.id, definition.key)
            if active is not None:
                raise Conflict(
                    f"flag {definition.key!r} already has a {active.status} rollout plan ({active.id}) in "
                    f"{environment.key!r}: pause, resume or abort that one",
                    "flag",
                )
            variation, control = rollout_plan.check_variations(
                request.variation, request.control, definition.variations, config.fallthrough
            )
            now = self.clock()
            values = wire_format.config_values(config)
            plan = RolloutPlan(
                environment_id=environment.id,
                flag_key=definition.key,
                variation=variation,
                control=control,
                steps=[step.to_dict() for step in steps],
                guard=guard,
                status="running",
                current_step=-1,
                next_check_at=now,
                started_at=now,
                before=rollout_plan.fields_of(values),
                flag_version=config.version,
                created_by=actor.name,
                created_at=now,
                updated_at=now,
                version=1,
            )
            # Refused now, not at the first step: a flag whose targeting no longer passes today's checks.
            flag = {**wire_format.wire_flag(definition, config), **rollout_plan.step_changes(plan, 0)}
            check_flag({**flag, "version": config.version + 1})
            rollout_repository.add(session, plan)
            change.audit(
                "rollout.start",
                definition.key,
                project=where.project,
                environment=where.environment,
                after=rollout_plan.summary(plan),
                reason=request.reason,
            )
            plan_id = plan.id
        # The first step, as its own revision by the plan (a runner elsewhere may already have written it).
        self.runner.visit(plan_id)
        return self.get(where, plan_id)

    def get(self, where: EnvironmentRef, plan_id: int) -> RolloutOut:
        """The plan, with the SDK confirmations of the revision it last wrote."""
        with self.database.transaction() as session:
            plan = self._plan(session, where, plan_id)
            written = None
            if plan.flag_version is not None:
                written = flag_repository.get_version(
                    session, plan.environment_id, plan.flag_key, plan.flag_version
                )
        propagation: PropagationOut | None = None
        if written is not None:
            committed = written.created_at.timestamp()
            propagation = self.propagation.report(plan.environment_id, written.revision, committed)
        return rollout_plan.read_model(plan, where.project, where.environment, propagation)

    def confirmations(self, where: EnvironmentRef, plans: Sequence[RolloutOut]) -> dict[int, PropagationOut]:
        """The SDK confirmations of the revision each plan last wrote, by plan id, read in one transaction:
        what `get` adds to one plan, for a list of them."""
        with self.database.transaction() as session:
            _, environment = lookups.environment(session, where.project, where.environment)
            written = {
                plan.id: flag_repository.get_version(session, environment.id, plan.flag, plan.flag_version)
                for plan in plans
                if plan.flag_version is not None
            }
        return {
            plan_id: self.propagation.report(environment.id, row.revision, row.created_at.timestamp())
            for plan_id, row in written.items()
            if row is not None
        }

    def list(
        self,
        where: EnvironmentRef,
        *,
        flag: str | None,
        status: str | None,
        before: int | None,
        limit: int,
    ) -> list[RolloutOut]:
        with self.database.transaction() as session:
            _, environment = lookups.environment(session, where.project, where.environment)
            rows = rollout_repository.page(
                session, environment.id, flag_key=flag, status=status, before=before, limit=limit
            )
            return [rollout_plan.read_model(row, where.project, where.environment) for row in rows]

    def pause(
        self, actor: Actor, where: EnvironmentRef, plan_id: int, if_match: int | None, reason: str | None
    ) -> RolloutOut:
        with self.writer.begin(actor) as change:
            at = self._locked(change, where, plan_id, if_match, "paused", ("running",))
            self.moves.pause(change, at, _by("paused", actor, reason), self.clock(), note=reason)
        return self.get(where, plan_id)

    def resume(
        self, actor: Actor, where: EnvironmentRef, plan_id: int, if_match: int | None, reason: str | None
    ) -> RolloutOut:
        """Runs a paused plan again: the current step's dwell starts over, and if the flag was changed since
        the plan last wrote it, the current step is written again (as this caller's change)."""
        with self.writer.begin(actor) as change:
            at = self._locked(change, where, plan_id, if_match, "resumed", ("paused",))
            plan, now = at.plan, self.clock()
            before = rollout_plan.summary(plan)
            plan.status, plan.status_reason = "running", None
            current = self.moves.current(change.session, at)
            if current is None:
                raise NotFound(f"flag {plan.flag_key!r} no longer exists: abort the plan", "flag")
            if plan.current_step < 0 or current[0] != plan.flag_version:
                self.moves.write_step(change, at, max(plan.current_step, 0), now, if_match=None)
            self.moves.restart_dwell(plan, now)
            self.moves.schedule(plan, now)
            self.moves.record(change, at, "rollout.resume", before, reason, now)
        return self.get(where, plan_id)

    def abort(
        self, actor: Actor, where: EnvironmentRef, plan_id: int, if_match: int | None, reason: str | None
    ) -> RolloutOut:
        """Ends the plan and writes the flag's fields back as they were before it, in one revision."""
        with self.writer.begin(actor) as change:
            at = self._locked(change, where, plan_id, if_match, "aborted", rollout_repository.ACTIVE)
            plan, now = at.plan, self.clock()
            before = rollout_plan.summary(plan)
            note = _by("aborted", actor, reason)
            if plan.before is not None and plan.current_step >= 0:
                changes = rollout_plan.restore_changes(plan)
                write_reason = f"rollout {plan.id} aborted" + (f": {reason}" if reason else "")
                self.moves.write_back(
                    change, at, changes, action="flag.update", reason=write_reason, if_match=None
                )
            self.moves.finish(change, at, "aborted", "rollout.abort", before, note, now)
        return self.get(where, plan_id)

    def _plan(
        self, session: Session, where: EnvironmentRef, plan_id: int, *, lock: bool = False
    ) -> RolloutPlan:
        _, environment = lookups.environment(session, where.project, where.environment)
        plan = rollout_repository.get(session, environment.id, plan_id, lock=lock)
        if plan is None:
            raise NotFound(f"rollout plan {plan_id} does not exist in {where.environment!r}", "rollout")
        return plan

    def _locked(
        self,
        change: ChangeTransaction,
        where: EnvironmentRef,
        plan_id: int,
        if_match: int | None,
        done: str,
        allowed: tuple[str, ...],
    ) -> PlanAt:
        """The plan, its row locked, if `If-Match` names its version and its status allows the change."""
        plan = self._plan(change.session, where, plan_id, lock=True)
        check_version(f"rollout plan {plan_id}", plan.version, if_match)
        if plan.status not in allowed:
            raise Conflict(
                f"rollout plan {plan_id} is {plan.status}; only a {' or '.join(allowed)} plan can be {done}",
                "status",
            )
        return PlanAt(plan, FlagRef(where.project, where.environment, plan.flag_key))


def _by(what: str, actor: Actor, reason: str | None) -> str:
    return f"{what} by {actor.name}" + (f": {reason}" if reason else "")
