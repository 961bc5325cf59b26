"""Routes for monitoring triggers: managed per environment (`.../environments/{env}/triggers`), fired at their
secret URL (`POST /api/v1/triggers/{secret}`), which takes no other credential."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Path, Request

from app.api.dependencies import Editor, Reader, ServicesDep
from app.api.errors import COMMON_RESPONSES, WRITE_RESPONSES, ErrorBody
from app.api.parameters import EnvironmentKey, ProjectKey, TriggerId
from app.api.schemas import TriggerList
from app.services.input_models import TriggerIn
from app.services.read_models import TriggerCreated, TriggerFired, TriggerOut

router = APIRouter(prefix="/api/v1", tags=["triggers"])
_TRIGGERS = "/projects/{project}/environments/{env}/triggers"
_FIRE_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: answer for status, answer in COMMON_RESPONSES.items() if status not in (401, 403)
} | {
    404: {
        "model": ErrorBody,
        "description": "No trigger has this URL: unknown or revoked (or its flag is gone)",
    },
    429: {"model": ErrorBody, "description": "Fired too often; retry after `Retry-After` seconds"},
}
_ALERTMANAGER_EXAMPLE = {
    "version": "4",
    "status": "firing",
    "groupKey": '{}:{alertname="CheckoutErrors"}',
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "CheckoutErrors", "severity": "page"},
            "annotations": {"summary": "checkout 5xx above 5%"},
        }
    ],
}


@router.get(
    _TRIGGERS, summary="List the environment's triggers (never their secrets)", responses=WRITE_RESPONSES
)
def list_triggers(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, caller: Reader
) -> TriggerList:
    return TriggerList(items=services.triggers.list(project, env))


@router.post(
    _TRIGGERS,
    status_code=201,
    summary="Create a trigger: a secret URL that kills, or turns on or off, one flag; shown once",
    responses=WRITE_RESPONSES,
)
def create_trigger(
    request: Request,
    services: ServicesDep,
    project: ProjectKey,
    env: EnvironmentKey,
    body: TriggerIn,
    caller: Editor,
) -> TriggerCreated:
    created = services.triggers.create(caller.actor, project, env, body)
    return created.model_copy(update={"url": str(request.url_for("fire_trigger", secret=created.secret))})


@router.get(_TRIGGERS + "/{trigger_id}", summary="Read one trigger", responses=WRITE_RESPONSES)
def get_trigger(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, trigger_id: TriggerId, caller: Reader
) -> TriggerOut:
    return services.triggers.get(project, env, trigger_id)


@router.delete(
    _TRIGGERS + "/{trigger_id}",
    summary="Revoke a trigger: its URL answers 404 from now on",
    responses=WRITE_RESPONSES,
)
def revoke_trigger(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, trigger_id: TriggerId, caller: Editor
) -> TriggerOut:
    return services.triggers.revoke(caller.actor, project, env, trigger_id)


@router.post(
    "/triggers/{secret}",
    name="fire_trigger",
    summary="Fire a trigger (no key: the URL is the credential); takes Alertmanager's webhook or plain JSON",
    responses=_FIRE_RESPONSES,
)
def fire_trigger(
    request: Request,
    services: ServicesDep,
    secret: str = Path(description="the secret the trigger's creation returned (`fs_trigger_...`)"),
    body: dict[str, Any] | None = Body(
        None,
        description="an Alertmanager notification (acts when `status` is firing), or "
        '`{"reason"?, "status"?}`, or nothing',
        examples=[_ALERTMANAGER_EXAMPLE, {"reason": "error budget exhausted"}],
    ),
) -> TriggerFired:
    return services.triggers.fire(secret, body, getattr(request.state, "request_id", None))
