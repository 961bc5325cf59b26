"""Routes for rollout plans in one environment: start (edit), list and read (read), pause and abort (toggle:
break-glass, like the kill switch), resume (edit).

`/api/v1/projects/{project}/environments/{env}/rollouts/...`; HTTP only: the use cases are
`app.services.rollout_service`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Header, Path, Query, Response

from app.api.dependencies import Editor, Reader, ServicesDep, Toggler, if_match_version
from app.api.errors import WRITE_RESPONSES
from app.api.parameters import Before, EntriesPerPage, EnvironmentKey, ProjectKey
from app.api.schemas import RolloutPage, ToggleIn
from app.services.input_models import RolloutIn
from app.services.read_models import RolloutOut
from app.services.rollout_service import EnvironmentRef

router = APIRouter(
    prefix="/api/v1/projects/{project}/environments/{env}/rollouts",
    tags=["rollouts"],
    responses=WRITE_RESPONSES,
)
PlanId = Annotated[int, Path(ge=1, le=2**53, description="the plan's id, as listed")]
IfMatch = Annotated[str | None, Header(description='the plan version you last read, e.g. "3"')]
Status = Literal["running", "paused", "completed", "rolled_back", "aborted"]
_START_EXAMPLE = {
    "flag": "checkout",
    "variation": 0,
    "steps": [
        {"percent": 1, "dwell_seconds": 600},
        {"percent": 10, "dwell_seconds": 3600},
        {"percent": 50, "dwell_seconds": 3600},
        {"percent": 100, "dwell_seconds": 0},
    ],
    "guard": {"source": "sdk", "ratio": 1.5, "min_sample": 200, "failure_event": "error"},
    "reason": "release the new checkout",
}


def _plan(response: Response, plan: RolloutOut) -> RolloutOut:
    response.headers["ETag"] = f'"{plan.version}"'
    return plan


def _reason(body: ToggleIn | None) -> str | None:
    return body.reason if body else None


@router.get("", summary="List the environment's rollout plans, newest first")
def list_rollouts(
    services: ServicesDep,
    project: ProjectKey,
    env: EnvironmentKey,
    caller: Reader,
    flag: Annotated[str | None, Query(max_length=200, description="only this flag's plans")] = None,
    status: Annotated[Status | None, Query(description="only plans in this status")] = None,
    before: Before = None,
    limit: EntriesPerPage = 100,
) -> RolloutPage:
    where = EnvironmentRef(project, env)
    plans = services.rollouts.list(where, flag=flag, status=status, before=before, limit=limit + 1)
    return RolloutPage(items=plans[:limit], next=plans[limit - 1].id if len(plans) > limit else None)


@router.post("", status_code=201, summary="Start a rollout plan: its first step is written at once")
def start_rollout(
    services: ServicesDep,
    response: Response,
    project: ProjectKey,
    env: EnvironmentKey,
    caller: Editor,
    body: Annotated[RolloutIn, Body(examples=[_START_EXAMPLE])],
) -> RolloutOut:
    return _plan(response, services.rollouts.start(caller.actor, EnvironmentRef(project, env), body))


@router.get("/{plan}", summary="A plan: its step, percent, next step time, guard's last check, trip figures")
def get_rollout(
    services: ServicesDep,
    response: Response,
    project: ProjectKey,
    env: EnvironmentKey,
    plan: PlanId,
    caller: Reader,
) -> RolloutOut:
    return _plan(response, services.rollouts.get(EnvironmentRef(project, env), plan))


@router.post("/{plan}/pause", summary="Pause a running plan: the flag stays at the current step")
def pause_rollout(
    services: ServicesDep,
    response: Response,
    project: ProjectKey,
    env: EnvironmentKey,
    plan: PlanId,
    caller: Toggler,
    body: ToggleIn | None = None,
    if_match: IfMatch = None,
) -> RolloutOut:
    where, version = EnvironmentRef(project, env), if_match_version(if_match)
    return _plan(response, services.rollouts.pause(caller.actor, where, plan, version, _reason(body)))


@router.post("/{plan}/resume", summary="Resume a paused plan: the current step again, then onwards")
def resume_rollout(
    services: ServicesDep,
    response: Response,
    project: ProjectKey,
    env: EnvironmentKey,
    plan: PlanId,
    caller: Editor,
    body: ToggleIn | None = None,
    if_match: IfMatch = None,
) -> RolloutOut:
    where, version = EnvironmentRef(project, env), if_match_version(if_match)
    return _plan(response, services.rollouts.resume(caller.actor, where, plan, version, _reason(body)))


@router.post("/{plan}/abort", summary="Abort a plan: the flag back as it was before it, in one revision")
def abort_rollout(
    services: ServicesDep,
    response: Response,
    project: ProjectKey,
    env: EnvironmentKey,
    plan: PlanId,
    caller: Toggler,
    body: ToggleIn | None = None,
    if_match: IfMatch = None,
) -> RolloutOut:
    where, version = EnvironmentRef(project, env), if_match_version(if_match)
    return _plan(response, services.rollouts.abort(caller.actor, where, plan, version, _reason(body)))
