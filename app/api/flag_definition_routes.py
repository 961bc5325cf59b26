"""Routes for flag definitions (project-wide): `/api/v1/projects/{project}/flags`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from app.api.dependencies import Editor, Reader, ServicesDep, if_match_version
from app.api.errors import WRITE_RESPONSES, ErrorBody
from app.api.parameters import FlagKey, FlagsPage, ProjectKey
from app.api.schemas import FlagDefinitionPage
from app.services.input_models import FlagDefinitionIn, FlagDefinitionPatch
from app.services.read_models import FlagDefinitionOut

router = APIRouter(prefix="/api/v1/projects/{project}/flags", tags=["flags"], responses=WRITE_RESPONSES)
IfMatch = Annotated[str | None, Header(description='the version you last read, e.g. "3"')]


@router.get("", summary="List flag definitions, by key, optionally by tag")
def list_flags(
    services: ServicesDep, project: ProjectKey, caller: Reader, page: FlagsPage
) -> FlagDefinitionPage:
    tag, after, limit = page.tag, page.after, page.limit
    found = services.flag_definitions.list(project, tag=tag, after=after, limit=limit + 1)
    items = found[:limit]
    return FlagDefinitionPage(items=items, next=items[-1].key if len(found) > limit else None)


@router.get("/{flag}", summary="Read a flag definition")
def get_flag(services: ServicesDep, project: ProjectKey, flag: FlagKey, caller: Reader) -> FlagDefinitionOut:
    return services.flag_definitions.get(project, flag)


@router.put(
    "/{flag}",
    summary="Create or replace a flag definition (new flags start off everywhere)",
    description="Replacing an existing flag resets every field the body leaves out, so it needs `If-Match` "
    "(the version replaced, or `*`); re-sending the same definition needs none. A flag's kind never changes "
    "while it exists. To change single fields, PATCH.",
    responses={
        201: {"model": FlagDefinitionOut, "description": "Created"},
        428: {"model": ErrorBody, "description": "The flag exists and If-Match is missing; nothing changed"},
    },
)
def put_flag(
    services: ServicesDep,
    response: Response,
    project: ProjectKey,
    flag: FlagKey,
    body: FlagDefinitionIn,
    caller: Editor,
    if_match: IfMatch = None,
) -> FlagDefinitionOut:
    definition, created = services.flag_definitions.put(
        caller.actor, project, flag, body, if_match_version(if_match), may_replace=if_match is not None
    )
    response.status_code = 201 if created else 200
    response.headers["ETag"] = f'"{definition.version}"'
    return definition


@router.patch(
    "/{flag}",
    summary="Change a flag's name, description, tags or temporary (nothing SDKs evaluate)",
    description="Fields left out are kept. Moves no environment's revision; audited as `flag.update`.",
)
def patch_flag(
    services: ServicesDep,
    response: Response,
    project: ProjectKey,
    flag: FlagKey,
    body: FlagDefinitionPatch,
    caller: Editor,
    if_match: IfMatch = None,
) -> FlagDefinitionOut:
    definition = services.flag_definitions.patch(
        caller.actor, project, flag, body, if_match_version(if_match)
    )
    response.headers["ETag"] = f'"{definition.version}"'
    return definition


@router.delete("/{flag}", status_code=204, summary="Delete a flag from every environment")
def delete_flag(
    services: ServicesDep, project: ProjectKey, flag: FlagKey, caller: Editor, if_match: IfMatch = None
) -> Response:
    services.flag_definitions.delete(caller.actor, project, flag, if_match_version(if_match))
    return Response(status_code=204)
