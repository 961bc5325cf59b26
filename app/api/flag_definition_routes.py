"""Routes for flag definitions (project-wide): `/api/v1/projects/{project}/flags`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from app.api.dependencies import actor, if_match_version, require, services
from app.api.errors import WRITE_RESPONSES, ErrorBody
from app.api.parameters import FlagKey, ProjectKey
from app.api.schemas import FlagDefinitionIn, FlagDefinitionOut, FlagDefinitionPage, FlagDefinitionPatch
from app.auth.roles import Permission, Principal
from app.services.flag_definition_service import DefinitionChanges, DefinitionInput, FlagDefinitionView

router = APIRouter(prefix="/api/v1/projects/{project}/flags", tags=["flags"], responses=WRITE_RESPONSES)
_read = Depends(require(Permission.READ))
_edit = Depends(require(Permission.EDIT))


def definition_out(view: FlagDefinitionView) -> FlagDefinitionOut:
    return FlagDefinitionOut.model_validate(view, from_attributes=True)


@router.get("", summary="List flag definitions, by key, optionally by tag")
def list_flags(
    request: Request,
    project: ProjectKey,
    tag: str | None = Query(None, max_length=200, description="only flags with this tag"),
    after: str | None = Query(None, max_length=200, description="the `next` of the previous page"),
    limit: int = Query(100, ge=1, le=1000, description="flags per page"),
    principal: Principal = _read,
) -> FlagDefinitionPage:
    views = services(request).flag_definitions.list(project, tag=tag, after=after, limit=limit + 1)
    items = [definition_out(view) for view in views[:limit]]
    return FlagDefinitionPage(items=items, next=items[-1].key if len(views) > limit else None)


@router.get("/{flag}", summary="Read a flag definition")
def get_flag(
    request: Request, project: ProjectKey, flag: FlagKey, principal: Principal = _read
) -> FlagDefinitionOut:
    return definition_out(services(request).flag_definitions.get(project, flag))


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
    request: Request,
    response: Response,
    project: ProjectKey,
    flag: FlagKey,
    body: FlagDefinitionIn,
    if_match: str | None = Header(None, description='the version you last read, e.g. "3"'),
    principal: Principal = _edit,
) -> FlagDefinitionOut:
    given = DefinitionInput(
        name=body.name,
        description=body.description,
        kind=body.kind,
        variations=body.variations,
        tags=body.tags,
        temporary=body.temporary,
        salt=body.salt,
        client_side=body.client_side,
    )
    view, created = services(request).flag_definitions.put(
        actor(request, principal),
        project,
        flag,
        given,
        if_match_version(if_match),
        may_replace=if_match is not None,
    )
    response.status_code = 201 if created else 200
    response.headers["ETag"] = f'"{view.version}"'
    return definition_out(view)


@router.patch(
    "/{flag}",
    summary="Change a flag's name, description, tags or temporary (nothing SDKs evaluate)",
    description="Fields left out are kept. Moves no environment's revision; audited as `flag.update`.",
)
def patch_flag(
    request: Request,
    response: Response,
    project: ProjectKey,
    flag: FlagKey,
    body: FlagDefinitionPatch,
    if_match: str | None = Header(None, description='the version you last read, e.g. "3"'),
    principal: Principal = _edit,
) -> FlagDefinitionOut:
    changes = DefinitionChanges(
        name=body.name, description=body.description, tags=body.tags, temporary=body.temporary
    )
    view = services(request).flag_definitions.patch(
        actor(request, principal), project, flag, changes, if_match_version(if_match)
    )
    response.headers["ETag"] = f'"{view.version}"'
    return definition_out(view)


@router.delete("/{flag}", status_code=204, summary="Delete a flag from every environment")
def delete_flag(
    request: Request,
    project: ProjectKey,
    flag: FlagKey,
    if_match: str | None = Header(None, description='the version you last read, e.g. "3"'),
    principal: Principal = _edit,
) -> Response:
    services(request).flag_definitions.delete(
        actor(request, principal), project, flag, if_match_version(if_match)
    )
    return Response(status_code=204)
