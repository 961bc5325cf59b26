"""Routes for a flag in one environment: read, list, PATCH targeting, kill/on/off, history and revert.

`/api/v1/projects/{project}/environments/{env}/flags/...`
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Response

from app.api import wire_schemas
from app.api.dependencies import Editor, Reader, ServicesDep, Toggler, if_match_version
from app.api.errors import WRITE_RESPONSES, ApiError
from app.api.parameters import Before, EnvironmentKey, FlagPath, FlagsPage, ProjectKey, VersionsPerPage, Wait
from app.api.schemas import EnvironmentFlagPage, HistoryPage, KillIn, RevertIn, ToggleIn
from app.services.read_models import EnvironmentFlag

router = APIRouter(
    prefix="/api/v1/projects/{project}/environments/{env}/flags",
    tags=["targeting"],
    responses=WRITE_RESPONSES,
)
IfMatch = Annotated[
    str | None, Header(description='the flag version you last read in this environment, e.g. "7"')
]
_PATCH_EXAMPLE = {
    "rules": [
        {
            "id": "beta",
            "clauses": [{"attribute": "beta", "op": "in", "values": [True]}],
            "serve": {"variation": 0},
        }
    ],
    "reason": "open the beta",
}


def _state(response: Response, state: EnvironmentFlag) -> EnvironmentFlag:
    response.headers["ETag"] = f'"{state.flag["version"]}"'
    return state


def _reason(body: ToggleIn | None) -> str | None:
    return body.reason if body else None


@router.get("", summary="List the environment's flags in wire format")
def list_flags(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, caller: Reader, page: FlagsPage
) -> EnvironmentFlagPage:
    tag, after, limit = page.tag, page.after, page.limit
    items, revision = services.flag_configs.list(project, env, tag=tag, after=after, limit=limit + 1)
    return EnvironmentFlagPage(
        items=items[:limit], revision=revision, next=items[limit - 1]["key"] if len(items) > limit else None
    )


@router.get("/{flag}", summary="Read a flag's targeting in this environment")
def get_flag(services: ServicesDep, response: Response, at: FlagPath, caller: Reader) -> EnvironmentFlag:
    return _state(response, services.flag_configs.get(at))


@router.patch(
    "/{flag}",
    summary="Change targeting: rules, targets, rollout weights, off variation",
    openapi_extra=wire_schemas.request_body(wire_schemas.flag_patch_body()),
)
def patch_flag(
    services: ServicesDep,
    response: Response,
    at: FlagPath,
    caller: Editor,
    body: dict[str, Any] = Body(
        description="any of enabled, off_variation, targets, rules, fallthrough, prerequisites "
        "(wire format), and an optional reason for the audit log",
        examples=[_PATCH_EXAMPLE],
    ),
    if_match: IfMatch = None,
    wait: Wait = None,
) -> EnvironmentFlag:
    changes = dict(body)
    reason = changes.pop("reason", None)
    if reason is not None and (not isinstance(reason, str) or "\x00" in reason):
        raise ApiError(422, "invalid", "must be a string without NUL characters", "reason")
    version = if_match_version(if_match)
    return _state(
        response, services.flag_configs.patch(caller.actor, at, changes, version, reason, wait=wait)
    )


@router.post("/{flag}/kill", summary="Kill switch: turn the flag off here (reason required; idempotent)")
def kill_flag(
    services: ServicesDep, response: Response, at: FlagPath, body: KillIn, caller: Toggler, wait: Wait = None
) -> EnvironmentFlag:
    return _state(response, services.flag_configs.kill(caller.actor, at, body.reason, wait=wait))


@router.post("/{flag}/on", summary="Turn the flag on here (idempotent)")
def turn_on(
    services: ServicesDep,
    response: Response,
    at: FlagPath,
    caller: Toggler,
    body: ToggleIn | None = None,
    wait: Wait = None,
) -> EnvironmentFlag:
    return _state(response, services.flag_configs.turn_on(caller.actor, at, _reason(body), wait=wait))


@router.post("/{flag}/off", summary="Turn the flag off here (idempotent)")
def turn_off(
    services: ServicesDep,
    response: Response,
    at: FlagPath,
    caller: Toggler,
    body: ToggleIn | None = None,
    wait: Wait = None,
) -> EnvironmentFlag:
    return _state(response, services.flag_configs.turn_off(caller.actor, at, _reason(body), wait=wait))


@router.get("/{flag}/history", summary="Every version of the flag in this environment, newest first")
def history(
    services: ServicesDep, at: FlagPath, caller: Reader, before: Before = None, limit: VersionsPerPage = 50
) -> HistoryPage:
    versions = services.flag_configs.history(at, before=before, limit=limit + 1)
    items = list(versions[:limit])
    return HistoryPage(items=items, next=items[-1].version if len(versions) > limit else None)


@router.post("/{flag}/revert", summary="Restore an earlier version's targeting as a new version")
def revert(
    services: ServicesDep,
    response: Response,
    at: FlagPath,
    body: RevertIn,
    caller: Editor,
    if_match: IfMatch = None,
) -> EnvironmentFlag:
    state = services.flag_configs.revert(
        caller.actor, at, body.version, if_match_version(if_match), body.reason
    )
    return _state(response, state)
