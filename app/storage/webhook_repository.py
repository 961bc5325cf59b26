"""Reads and writes outbound webhooks and their deliveries, and reads the audit log as their outbox.

Rows only: no validation, no audit; callers own the transaction. The claims lock with `SKIP LOCKED` (on
PostgreSQL; SQLite has one writer at a time anyway), so that replicas running the same job share the work.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.storage.models import AuditEntry, Environment, Project, Webhook, WebhookDelivery


class LiveWebhook(NamedTuple):
    webhook: Webhook
    project_key: str
    environment_key: str


class AuditMark(NamedTuple):
    """The few columns of an audit entry that decide whether a webhook wants it."""

    id: int
    at: datetime
    project_key: str | None
    environment_key: str | None
    action: str


def list_in_environment(session: Session, environment_id: int) -> Sequence[Webhook]:
    return session.scalars(
        select(Webhook).where(Webhook.environment_id == environment_id).order_by(Webhook.id)
    ).all()


def get(session: Session, environment_id: int, webhook_id: int, *, lock: bool = False) -> Webhook | None:
    query = select(Webhook).where(Webhook.id == webhook_id, Webhook.environment_id == environment_id)
    return session.scalar(query.with_for_update() if lock else query)


def last_audit_id(session: Session) -> int:
    return int(session.scalar(select(func.max(AuditEntry.id))) or 0)


def claim_live_webhooks(session: Session, limit: int) -> list[LiveWebhook]:
    """Webhooks not deleted, furthest behind first, locked until the transaction ends; those another replica
    holds are skipped."""
    rows = session.execute(
        select(Webhook, Project.key, Environment.key)
        .join(Environment, Environment.id == Webhook.environment_id)
        .join(Project, Project.id == Environment.project_id)
        .where(Webhook.revoked_at.is_(None))
        .order_by(Webhook.cursor, Webhook.id)
        .limit(limit)
        .with_for_update(of=Webhook, skip_locked=True)
    ).all()
    return [LiveWebhook(webhook, project, environment) for webhook, project, environment in rows]


def audit_marks_after(session: Session, after_id: int, limit: int) -> list[AuditMark]:
    """The entries of every project after `after_id`, in id order: all of them, so that a missing id shows."""
    rows = session.execute(
        select(
            AuditEntry.id,
            AuditEntry.at,
            AuditEntry.project_key,
            AuditEntry.environment_key,
            AuditEntry.action,
        )
        .where(AuditEntry.id > after_id)
        .order_by(AuditEntry.id)
        .limit(limit)
    ).all()
    return [AuditMark(*row) for row in rows]


def audit_entries(session: Session, ids: Collection[int]) -> Sequence[AuditEntry]:
    if not ids:
        return []
    return session.scalars(
        select(AuditEntry).where(AuditEntry.id.in_(list(ids))).order_by(AuditEntry.id)
    ).all()


def audit_ids_with_deliveries(session: Session, webhook_id: int, after_id: int) -> set[int]:
    rows = session.scalars(
        select(WebhookDelivery.audit_id).where(
            WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.audit_id > after_id
        )
    )
    return {int(audit_id) for audit_id in rows}


def claim_due_deliveries(
    session: Session, now: datetime, limit: int
) -> list[tuple[WebhookDelivery, Webhook]]:
    """Per webhook not deleted, its oldest pending delivery if it is due by `now`, locked (rows another
    replica holds are skipped). One at a time per webhook, in order: a delivery being sent or waiting for its
    retry holds back the webhook's later ones."""
    pending = WebhookDelivery.status == "pending"
    oldest = select(func.min(WebhookDelivery.id)).where(pending).group_by(WebhookDelivery.webhook_id)
    rows = session.execute(
        select(WebhookDelivery, Webhook)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(
            pending,
            WebhookDelivery.next_attempt_at <= now,
            WebhookDelivery.id.in_(oldest),
            Webhook.revoked_at.is_(None),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    ).all()
    return [(delivery, webhook) for delivery, webhook in rows]


def get_delivery(session: Session, delivery_id: int, *, lock: bool = False) -> WebhookDelivery | None:
    query = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def deliveries(
    session: Session, webhook_id: int, *, before_id: int | None, limit: int
) -> Sequence[WebhookDelivery]:
    """Newest first; `before_id` continues a previous page."""
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    return session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)).all()


def fail_pending(session: Session, webhook_id: int, error: str) -> None:
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == "pending")
        .values(status="failed", last_error=error)
        .execution_options(synchronize_session=False)
    )
