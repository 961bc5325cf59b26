"""Routes for outbound webhooks of one environment (`.../environments/{env}/webhooks`) and their delivery log.
The signing secret appears only in the response that creates a webhook."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.dependencies import Editor, Reader, ServicesDep
from app.api.errors import WRITE_RESPONSES
from app.api.parameters import Before, EntriesPerPage, EnvironmentKey, ProjectKey, WebhookId
from app.api.schemas import WebhookDeliveryPage, WebhookList
from app.services.input_models import WebhookIn
from app.services.read_models import WebhookCreated, WebhookOut

router = APIRouter(
    prefix="/api/v1/projects/{project}/environments/{env}/webhooks",
    tags=["webhooks"],
    responses=WRITE_RESPONSES,
)


@router.get("", summary="List the environment's webhooks (never their secrets)")
def list_webhooks(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, caller: Reader
) -> WebhookList:
    return WebhookList(items=services.webhooks.list(project, env))


@router.post("", status_code=201, summary="Register a webhook; its signing secret is shown once")
def create_webhook(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, body: WebhookIn, caller: Editor
) -> WebhookCreated:
    return services.webhooks.create(caller.actor, project, env, body)


@router.get("/{webhook_id}", summary="Read one webhook")
def get_webhook(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, webhook_id: WebhookId, caller: Reader
) -> WebhookOut:
    return services.webhooks.get(project, env, webhook_id)


@router.delete("/{webhook_id}", summary="Delete a webhook: nothing more is sent; its delivery log stays")
def delete_webhook(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, webhook_id: WebhookId, caller: Editor
) -> WebhookOut:
    return services.webhooks.delete(caller.actor, project, env, webhook_id)


@router.get("/{webhook_id}/deliveries", summary="The webhook's deliveries, newest first")
def list_deliveries(
    services: ServicesDep,
    project: ProjectKey,
    env: EnvironmentKey,
    webhook_id: WebhookId,
    caller: Reader,
    before: Before = None,
    limit: EntriesPerPage = 100,
) -> WebhookDeliveryPage:
    found = services.webhooks.deliveries(project, env, webhook_id, before=before, limit=limit + 1)
    items = list(found[:limit])
    return WebhookDeliveryPage(items=items, next=items[-1].id if len(found) > limit else None)
