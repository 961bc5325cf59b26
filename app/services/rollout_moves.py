"""The moves of a rollout plan, each made inside a ChangeTransaction its caller opened and holding the plan's
row lock: write a step, write back the flag as it was (abort, rollback, completion), pause, finish. The flag
write and the plan's own row commit together, so each move happens exactly once.

The API's use cases (started by a person) and the runner (actor `rollout:<id>`) share these, so a step
written on resume is the same write as one the runner makes. Every move is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.services import lookups, rollout_plan
from app.services.change_transaction import ChangeTransaction
from app.services.flag_config_service import FlagConfigService, FlagRef
from app.services.guard_sources import GuardCheck
from app.storage import flag_repository
from app.storage.models import FlagConfig, RolloutPlan


@dataclass(frozen=True, slots=True)
class PlanAt:
    """A locked plan, with the keys of the flag it acts on."""

    plan: RolloutPlan
    ref: FlagRef


class PlanMoves:
    def __init__(self, flag_configs: FlagConfigService, guard_interval_seconds: float) -> None:
        self.flag_configs = flag_configs
        self.guard_interval = timedelta(seconds=guard_interval_seconds)

    def write_step(
        self, change: ChangeTransaction, at: PlanAt, index: int, now: datetime, *, if_match: int | None
    ) -> None:
        """Writes step `index` into the flag and starts its dwell. The first step also records the plan's
        fields of the flag as they are under the environment's lock: what abort and rollback restore."""
        plan = at.plan
        before = rollout_plan.summary(plan)

        def changes(_session: Session, config: FlagConfig) -> dict[str, Any]:
            if plan.current_step < 0:
                plan.before = {name: getattr(config, name) for name in rollout_plan.PLAN_FIELDS}
            return rollout_plan.step_changes(plan, index)

        step = rollout_plan.steps_of(plan)[index]
        reason = f"rollout {plan.id}: step {index + 1} of {len(plan.steps)}, {step.percent:g}%"
        state = self.flag_configs.write_in(change, at.ref, "flag.update", if_match, reason, changes)
        plan.flag_version = state.flag["version"]
        plan.current_step = index
        plan.step_started_at = now
        plan.next_step_at = now + timedelta(seconds=step.dwell_seconds)
        self.schedule(plan, now)
        self.record(change, at, "rollout.step", before, reason, now)

    def restart_dwell(self, plan: RolloutPlan, now: datetime) -> None:
        step = rollout_plan.steps_of(plan)[plan.current_step]
        plan.step_started_at = now
        plan.next_step_at = now + timedelta(seconds=step.dwell_seconds)

    def write_back(
        self,
        change: ChangeTransaction,
        at: PlanAt,
        changes: dict[str, Any],
        *,
        action: str,
        reason: str,
        if_match: int | None,
    ) -> None:
        """Writes `changes` (fields of `before`) into the flag as one revision. A flag deleted meanwhile has
        nothing to restore."""
        if self.current(change.session, at) is None:
            return
        state = self.flag_configs.write_in(change, at.ref, action, if_match, reason, lambda _s, _c: changes)
        at.plan.flag_version = state.flag["version"]

    def roll_back(
        self, change: ChangeTransaction, at: PlanAt, check: GuardCheck, now: datetime, kill: bool
    ) -> None:
        """The guard tripped: the flag back as it was (or killed) in one revision, the figures kept."""
        plan = at.plan
        before = rollout_plan.summary(plan)
        reason = f"rollout {plan.id} rolled back at {rollout_plan.percent_at(plan, plan.current_step):g}%: "
        reason += check.message
        self.write_back(
            change,
            at,
            rollout_plan.restore_changes(plan, kill=kill),
            action="flag.kill" if kill else "flag.update",
            reason=reason,
            if_match=plan.flag_version,
        )
        plan.trip = {
            **(check.figures or {}),
            "at": check.at.isoformat(),
            "step": plan.current_step,
            "percent": rollout_plan.percent_at(plan, plan.current_step),
            "on_trip": "kill" if kill else "restore",
        }
        plan.last_check = check.to_dict()
        self.finish(change, at, "rolled_back", "rollout.rollback", before, reason, now)

    def complete(self, change: ChangeTransaction, at: PlanAt, now: datetime) -> None:
        """After the last step's dwell: the plan ends where its last step left the flag; only `track_events`
        goes back to what it was."""
        plan = at.plan
        before = rollout_plan.summary(plan)
        assert plan.before is not None
        reason = f"rollout {plan.id} completed at {rollout_plan.percent_at(plan, plan.current_step):g}%"
        restore = {"track_events": plan.before["track_events"]}
        self.write_back(change, at, restore, action="flag.update", reason=reason, if_match=plan.flag_version)
        self.finish(change, at, "completed", "rollout.complete", before, None, now)

    def pause(
        self, change: ChangeTransaction, at: PlanAt, reason: str, now: datetime, *, note: str | None = None
    ) -> None:
        plan = at.plan
        before = rollout_plan.summary(plan)
        plan.status = "paused"
        plan.status_reason = reason
        plan.next_check_at = None
        self.record(change, at, "rollout.pause", before, note or reason, now)

    def finish(
        self,
        change: ChangeTransaction,
        at: PlanAt,
        status: str,
        action: str,
        before: dict[str, Any],
        reason: str | None,
        now: datetime,
    ) -> None:
        plan = at.plan
        plan.status = status
        plan.status_reason = reason
        plan.finished_at = now
        plan.next_check_at = None
        self.record(change, at, action, before, reason, now)

    def schedule(self, plan: RolloutPlan, now: datetime) -> None:
        """The next visit: when the step's dwell ends, or sooner for the guard and the flag's check."""
        assert plan.next_step_at is not None
        plan.next_check_at = min(plan.next_step_at, now + self.guard_interval)

    def record(
        self,
        change: ChangeTransaction,
        at: PlanAt,
        action: str,
        before: dict[str, Any],
        reason: str | None,
        now: datetime,
    ) -> None:
        """A new version of the plan, audited as `action` (`rollout.<verb>`) on the flag's key."""
        touch(at.plan, now)
        change.audit(
            action,
            at.plan.flag_key,
            project=at.ref.project,
            environment=at.ref.environment,
            before=before,
            after=rollout_plan.summary(at.plan),
            reason=reason,
        )

    @staticmethod
    def current(session: Session, at: PlanAt) -> tuple[int, str] | None:
        """The flag's current version here and who wrote it; None if the flag was deleted."""
        project, environment = lookups.environment(session, at.ref.project, at.ref.environment)
        definition = flag_repository.get_definition(session, project.id, at.ref.flag)
        config = (
            None if definition is None else flag_repository.get_config(session, definition.id, environment.id)
        )
        if definition is None or definition.deleted or config is None:
            return None
        row = flag_repository.get_version(session, environment.id, at.ref.flag, config.version)
        return config.version, row.actor if row is not None else "unknown"


def touch(plan: RolloutPlan, now: datetime) -> None:
    plan.version += 1
    plan.updated_at = now
