"""Routes for scheduled changes of one environment's flags: create, list, show and cancel.

`/api/v1/projects/{project}/environments/{env}/schedules`; the schedule service's periodic job runs them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query

from app.api.dependencies import Editor, Reader, ServicesDep
from app.api.errors import WRITE_RESPONSES
from app.api.parameters import EntriesPerPage, EnvironmentKey, ProjectKey
from app.api.schemas import SchedulePage, ToggleIn
from app.services.input_models import ScheduleIn
from app.services.read_models import ScheduleOut, ScheduleStatus

router = APIRouter(
    prefix="/api/v1/projects/{project}/environments/{env}/schedules",
    tags=["schedules"],
    responses=WRITE_RESPONSES,
)
# Ids are the table's 32-bit integer keys; a larger one could name none.
MAX_ID = 2**31 - 1
ScheduleId = Annotated[int, Path(alias="id", ge=1, le=MAX_ID, description="the scheduled change's `id`")]
_EXAMPLE = {
    "flag": "checkout",
    "at": "2026-12-01T09:00:00Z",
    "action": "patch",
    "changes": {
        "enabled": True,
        "fallthrough": {
            "rollout": {"variations": [{"variation": 0, "weight": 50000}, {"variation": 1, "weight": 50000}]}
        },
    },
    "reason": "half of everyone at launch",
}


@router.post("", status_code=201, summary="Schedule a change of one flag: a PATCH body, or on, off or kill")
def create_schedule(
    services: ServicesDep,
    project: ProjectKey,
    env: EnvironmentKey,
    body: Annotated[ScheduleIn, Body(examples=[_EXAMPLE])],
    caller: Editor,
) -> ScheduleOut:
    return services.schedules.create(caller.actor, project, env, body)


@router.get("", summary="Scheduled changes by due time, soonest first")
def list_schedules(
    services: ServicesDep,
    project: ProjectKey,
    env: EnvironmentKey,
    caller: Reader,
    flag: str | None = Query(None, max_length=200, description="only this flag's changes"),
    status: ScheduleStatus | None = Query(None, description="only changes with this status"),
    after: int | None = Query(None, ge=1, le=MAX_ID, description="the `next` of the previous page"),
    limit: EntriesPerPage = 100,
) -> SchedulePage:
    found = services.schedules.list(project, env, flag=flag, status=status, after=after, limit=limit + 1)
    items = found[:limit]
    return SchedulePage(items=items, next=items[-1].id if len(found) > limit else None)


@router.get("/{id}", summary="One scheduled change, and how it ended")
def get_schedule(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, schedule_id: ScheduleId, caller: Reader
) -> ScheduleOut:
    return services.schedules.get(project, env, schedule_id)


@router.post("/{id}/cancel", summary="Cancel a pending scheduled change")
def cancel_schedule(
    services: ServicesDep,
    project: ProjectKey,
    env: EnvironmentKey,
    schedule_id: ScheduleId,
    caller: Editor,
    body: ToggleIn | None = None,
) -> ScheduleOut:
    reason = body.reason if body else None
    return services.schedules.cancel(caller.actor, project, env, schedule_id, reason)
