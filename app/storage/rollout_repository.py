"""Reads and writes rollout plans (`rollout_plans`), including the claim that lets one replica of several work
on a due plan while the others pass it by.

Rows only: what a plan does at each step, and its audit, are the services' job.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.storage.models import Environment, Project, RolloutPlan

RUNNING = "running"
PAUSED = "paused"
ACTIVE = (RUNNING, PAUSED)
"""A flag has at most one plan in these states per environment."""


def add(session: Session, plan: RolloutPlan) -> RolloutPlan:
    """Inserts `plan` and flushes, so that its id is known."""
    session.add(plan)
    session.flush()
    return plan


def active_for_flag(session: Session, environment_id: int, flag_key: str) -> RolloutPlan | None:
    return session.scalar(
        select(RolloutPlan).where(
            RolloutPlan.environment_id == environment_id,
            RolloutPlan.flag_key == flag_key,
            RolloutPlan.status.in_(ACTIVE),
        )
    )


def last_finished(
    session: Session, environment_id: int, flag_key: str, *, other_than: int
) -> datetime | None:
    """When the latest plan of the flag in the environment other than `other_than` ended; None if none did."""
    return session.scalar(
        select(func.max(RolloutPlan.finished_at)).where(
            RolloutPlan.environment_id == environment_id,
            RolloutPlan.flag_key == flag_key,
            RolloutPlan.id != other_than,
        )
    )


def get(session: Session, environment_id: int, plan_id: int, *, lock: bool = False) -> RolloutPlan | None:
    """The plan, if it belongs to this environment; `lock` holds its row until the transaction ends (a caller
    waits for a replica that is working on it)."""
    query = select(RolloutPlan).where(RolloutPlan.id == plan_id, RolloutPlan.environment_id == environment_id)
    return session.scalar(query.with_for_update() if lock else query)


def due_ids(session: Session, now: datetime) -> Sequence[int]:
    """Running plans whose next step or check is due, the longest waiting first."""
    return session.scalars(
        select(RolloutPlan.id)
        .where(RolloutPlan.status == RUNNING, RolloutPlan.next_check_at <= now)
        .order_by(RolloutPlan.next_check_at, RolloutPlan.id)
    ).all()


def claim(session: Session, plan_id: int, now: datetime) -> RolloutPlan | None:
    """The plan, locked, if it is still running and due; None if it is not, or if another transaction holds
    it (`SKIP LOCKED` on PostgreSQL: that replica is doing the work). PostgreSQL re-checks the conditions on
    the row's newest version when it locks it, so a step another replica just committed is never repeated."""
    return session.scalar(
        select(RolloutPlan)
        .where(RolloutPlan.id == plan_id, RolloutPlan.status == RUNNING, RolloutPlan.next_check_at <= now)
        .with_for_update(skip_locked=True)
    )


def page(
    session: Session,
    environment_id: int,
    *,
    flag_key: str | None,
    status: str | None,
    before: int | None,
    limit: int,
) -> Sequence[RolloutPlan]:
    """Newest first; `before` (a plan id) continues a previous page."""
    query = select(RolloutPlan).where(RolloutPlan.environment_id == environment_id)
    if flag_key is not None:
        query = query.where(RolloutPlan.flag_key == flag_key)
    if status is not None:
        query = query.where(RolloutPlan.status == status)
    if before is not None:
        query = query.where(RolloutPlan.id < before)
    return session.scalars(query.order_by(RolloutPlan.id.desc()).limit(limit)).all()


def where(session: Session, plan: RolloutPlan) -> tuple[Project, Environment]:
    """The project and environment a plan acts in."""
    environment = session.get_one(Environment, plan.environment_id)
    return session.get_one(Project, environment.project_id), environment
