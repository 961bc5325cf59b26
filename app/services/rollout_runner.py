"""The rollout runner: one round finds the running plans whose step or check is due, and moves each on in a
transaction of its own, as actor `rollout:<id>`.

Every process runs it (`Services.jobs`). A plan is claimed with `FOR UPDATE SKIP LOCKED`, and the claim
re-checks that it is still due, so with several replicas each step is written once; a replica killed half-way
leaves its transaction uncommitted and the plan due, so the next round anywhere does the step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from app.services import guard_sources, guards, lookups, rollout_plan
from app.services.change_transaction import Actor, ChangeTransaction, ChangeWriter
from app.services.errors import ServiceError, VersionMismatch
from app.services.flag_config_service import FlagRef
from app.services.guards import GuardPolicy, Sample
from app.services.rollout_moves import PlanAt, PlanMoves, touch
from app.storage import rollout_repository
from app.storage.database import Database
from app.storage.models import RolloutPlan

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def plan_actor(plan_id: int) -> Actor:
    """Who a plan's own changes are audited as."""
    return Actor(f"rollout:{plan_id}")


class RolloutRunner:
    def __init__(
        self,
        database: Database,
        writer: ChangeWriter,
        moves: PlanMoves,
        guard_timeout: float,
        clock: Clock,
        *,
        metrics_bucket_seconds: int = 60,
    ) -> None:
        self.database = database
        self.writer = writer
        self.moves = moves
        self.guard_timeout = guard_timeout
        self.metrics_bucket_seconds = metrics_bucket_seconds
        self.clock = clock

    def run_once(self) -> int:
        """One round; returns how many plans were due."""
        with self.database.transaction() as session:
            due = list(rollout_repository.due_ids(session, self.clock()))
        for plan_id in due:
            self.visit(plan_id)
        return len(due)

    def visit(self, plan_id: int) -> None:
        """Moves one plan on, if it is due and no other transaction holds it."""
        try:
            with self.writer.begin(plan_actor(plan_id)) as change:
                now = self.clock()
                plan = rollout_repository.claim(change.session, plan_id, now)
                if plan is None:
                    change.discard()
                    return
                self._move(change, plan, now)
        except VersionMismatch:
            # The flag changed between the check and the write: the next round finds it changed, and pauses.
            log.info("rollout %s: the flag changed while a step was being written", plan_id)
        except ServiceError as error:
            self._hold(plan_id, f"paused: the plan's change could not be written: {error.message}")

    def _move(self, change: ChangeTransaction, plan: RolloutPlan, now: datetime) -> None:
        session = change.session
        project, environment = rollout_repository.where(session, plan)
        at = PlanAt(plan, FlagRef(project.key, environment.key, plan.flag_key))
        if plan.current_step < 0:  # started, first step not yet written (its writer failed, or died)
            self.moves.write_step(change, at, 0, now, if_match=None)
            return
        current = self.moves.current(session, at)
        if current is None:
            self.moves.finish(
                change,
                at,
                "aborted",
                "rollout.abort",
                rollout_plan.summary(plan),
                "the flag was deleted",
                now,
            )
            return
        version, actor = current
        if version != plan.flag_version:
            reason = f"paused: the flag was changed outside the plan (version {version}, by {actor})"
            self.moves.pause(change, at, reason, now)
            return
        healthy = True
        if plan.guard is not None:
            policy = guards.from_stored(plan.guard)
            check = guard_sources.check(policy, lambda: self._samples(change, plan, policy), now)
            plan.last_check = check.to_dict()
            if check.outcome == "tripped":
                self.moves.roll_back(change, at, check, now, kill=policy.on_trip == "kill")
                return
            healthy = check.outcome == "healthy"
            plan.status_reason = None if healthy else check.message
        assert plan.next_step_at is not None
        if healthy and now >= plan.next_step_at:
            if plan.current_step + 1 < len(plan.steps):
                self.moves.write_step(change, at, plan.current_step + 1, now, if_match=plan.flag_version)
            else:
                self.moves.complete(change, at, now)
            return
        self.moves.schedule(plan, now)
        if plan.guard is not None:
            touch(plan, now)  # its last check changed

    def _samples(
        self, change: ChangeTransaction, plan: RolloutPlan, policy: GuardPolicy
    ) -> tuple[Sample, Sample]:
        assert plan.started_at is not None
        if policy.source == "prometheus":
            project, _ = rollout_repository.where(change.session, plan)
            variations = lookups.flag(change.session, project, plan.flag_key).variations
            return guard_sources.prometheus_samples(
                policy, variations, plan.variation, plan.control, self.guard_timeout
            )
        since = guard_sources.counting_from(
            plan.started_at,
            self.metrics_bucket_seconds,
            attributed_before=bool((plan.before or {}).get("track_events")),
            other_plan_ended=rollout_repository.last_finished(
                change.session, plan.environment_id, plan.flag_key, other_than=plan.id
            ),
        )
        return guard_sources.sdk_samples(
            change.session, plan.environment_id, plan.flag_key, plan.variation, policy, since
        )

    def _hold(self, plan_id: int, reason: str) -> None:
        """Pauses a plan whose move failed for good (a flag whose targeting no longer passes the checks), so
        that it does not fail every round; a person resumes or aborts it."""
        with self.writer.begin(plan_actor(plan_id)) as change:
            now = self.clock()
            plan = rollout_repository.claim(change.session, plan_id, now)
            if plan is None:
                change.discard()
                return
            project, environment = rollout_repository.where(change.session, plan)
            at = PlanAt(plan, FlagRef(project.key, environment.key, plan.flag_key))
            self.moves.pause(change, at, reason, now)
        log.warning("rollout %s %s", plan_id, reason)
