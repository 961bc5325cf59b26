"""Use cases for outbound webhooks: create (the signing secret is returned once), list, show, delete, and the
delivery log. Sending is `webhook_outbox` (audit entries to deliveries) and `webhook_delivery` (the POSTs).

A webhook sends what is audited from its creation on: its cursor starts at the newest audit entry.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from app.services import lookups
from app.services.change_transaction import Actor, ChangeWriter
from app.services.errors import NotFound
from app.services.input_models import WebhookIn
from app.services.periodic import PeriodicJob
from app.services.read_models import WebhookCreated, WebhookDeliveryOut, WebhookOut
from app.services.webhook_delivery import DeliveryPolicy, WebhookSender
from app.services.webhook_outbox import WebhookOutbox
from app.settings import Settings
from app.storage import webhook_repository
from app.storage.database import Database
from app.storage.models import Webhook, WebhookDelivery, utcnow

SECRET_PREFIX = "fs_whsec_"


def _view(webhook: Webhook) -> WebhookOut:
    return WebhookOut.model_validate(webhook)


def _delivery_view(delivery: WebhookDelivery) -> WebhookDeliveryOut:
    view = WebhookDeliveryOut.model_validate(delivery)
    return view if delivery.status == "pending" else view.model_copy(update={"next_attempt_at": None})


class WebhookService:
    def __init__(self, database: Database, writer: ChangeWriter, settings: Settings) -> None:
        self.database = database
        self.writer = writer
        self.outbox = WebhookOutbox(database, settings.webhook_commit_grace_seconds)
        self.sender = WebhookSender(database, DeliveryPolicy.of(settings))
        self.poll_interval_seconds = settings.webhook_poll_interval_seconds

    def jobs(self) -> tuple[PeriodicJob, ...]:
        """Two jobs, so that receivers slow to answer never hold up turning new entries into deliveries."""
        interval = self.poll_interval_seconds
        return (
            PeriodicJob("webhook-outbox", interval, self.outbox.run_once),
            PeriodicJob("webhook-deliveries", interval, self.sender.run_once),
        )

    def create(self, actor: Actor, project_key: str, environment_key: str, new: WebhookIn) -> WebhookCreated:
        """The new webhook with its secret: the only time anything returns it."""
        secret = new.secret or SECRET_PREFIX + secrets.token_urlsafe(32)
        with self.writer.begin(actor) as change:
            _, environment = lookups.environment(change.session, project_key, environment_key)
            webhook = Webhook(
                environment_id=environment.id,
                name=new.name,
                url=new.url,
                secret=secret,
                events=new.events,
                created_by=actor.name,
                cursor=0,
            )
            change.session.add(webhook)
            change.session.flush()
            change.audit(
                "webhook.create",
                str(webhook.id),
                project=project_key,
                environment=environment_key,
                after=_described(webhook),
            )
            change.session.flush()
            # From here on; its own creation included in what it has seen.
            webhook.cursor = webhook_repository.last_audit_id(change.session)
        return WebhookCreated(**_view(webhook).model_dump(), secret=secret)

    def list(self, project_key: str, environment_key: str) -> list[WebhookOut]:
        with self.database.transaction() as session:
            _, environment = lookups.environment(session, project_key, environment_key)
            return [_view(row) for row in webhook_repository.list_in_environment(session, environment.id)]

    def get(self, project_key: str, environment_key: str, webhook_id: int) -> WebhookOut:
        with self.database.transaction() as session:
            _, environment = lookups.environment(session, project_key, environment_key)
            return _view(_webhook(webhook_repository.get(session, environment.id, webhook_id), webhook_id))

    def delete(self, actor: Actor, project_key: str, environment_key: str, webhook_id: int) -> WebhookOut:
        """Stops it at once: nothing more is sent, and pending deliveries fail. The webhook and its delivery
        log stay readable. Deleting again changes nothing and is not audited."""
        with self.writer.begin(actor) as change:
            _, environment = lookups.environment(change.session, project_key, environment_key)
            found = webhook_repository.get(change.session, environment.id, webhook_id, lock=True)
            webhook = _webhook(found, webhook_id)
            if webhook.revoked_at is None:
                webhook.revoked_at = utcnow()
                webhook_repository.fail_pending(change.session, webhook.id, "the webhook was deleted")
                change.audit(
                    "webhook.delete",
                    str(webhook.id),
                    project=project_key,
                    environment=environment_key,
                    before=_described(webhook),
                )
        return _view(webhook)

    def deliveries(
        self, project_key: str, environment_key: str, webhook_id: int, *, before: int | None, limit: int
    ) -> Sequence[WebhookDeliveryOut]:
        """Newest first; `before` (a delivery id) continues a previous page."""
        with self.database.transaction() as session:
            _, environment = lookups.environment(session, project_key, environment_key)
            _webhook(webhook_repository.get(session, environment.id, webhook_id), webhook_id)
            rows = webhook_repository.deliveries(session, webhook_id, before_id=before, limit=limit)
            return [_delivery_view(row) for row in rows]


def _webhook(found: Webhook | None, webhook_id: int) -> Webhook:
    if found is None:
        raise NotFound(f"webhook {webhook_id} does not exist in this environment", "webhook_id")
    return found


def _described(webhook: Webhook) -> dict[str, Any]:
    """A webhook as its audit entries record it: never its secret."""
    return {"name": webhook.name, "url": webhook.url, "events": webhook.events}
