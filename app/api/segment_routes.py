"""Routes for segments of one environment: `/api/v1/projects/{project}/environments/{env}/segments`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response

from app.api import wire_schemas
from app.api.dependencies import actor, if_match_version, require, services
from app.api.errors import WRITE_RESPONSES
from app.api.parameters import EnvironmentKey, ProjectKey, SegmentKey
from app.api.schemas import SegmentOut, SegmentPage
from app.auth.roles import Permission, Principal
from app.services.segment_service import SegmentView

router = APIRouter(
    prefix="/api/v1/projects/{project}/environments/{env}/segments",
    tags=["segments"],
    responses=WRITE_RESPONSES,
)
_read = Depends(require(Permission.READ))
_edit = Depends(require(Permission.EDIT))
_IF_MATCH = Header(None, description='the segment version you last read, e.g. "2"')


def _out(view: SegmentView) -> SegmentOut:
    return SegmentOut.model_validate(view, from_attributes=True)


@router.get("", summary="List segments")
def list_segments(
    request: Request,
    project: ProjectKey,
    env: EnvironmentKey,
    after: str | None = Query(None, max_length=200, description="the `next` of the previous page"),
    limit: int = Query(100, ge=1, le=1000, description="segments per page"),
    principal: Principal = _read,
) -> SegmentPage:
    views = services(request).segments.list(project, env, after=after, limit=limit + 1)
    items = [_out(view) for view in views[:limit]]
    return SegmentPage(items=items, next=items[-1].key if len(views) > limit else None)


@router.get("/{segment}", summary="Read a segment")
def get_segment(
    request: Request,
    project: ProjectKey,
    env: EnvironmentKey,
    segment: SegmentKey,
    principal: Principal = _read,
) -> SegmentOut:
    return _out(services(request).segments.get(project, env, segment))


@router.put(
    "/{segment}",
    summary="Create or replace a segment",
    responses={201: {"model": SegmentOut, "description": "Created"}},
    openapi_extra=wire_schemas.request_body(wire_schemas.segment_put_body()),
)
def put_segment(
    request: Request,
    response: Response,
    project: ProjectKey,
    env: EnvironmentKey,
    segment: SegmentKey,
    body: dict[str, Any] = Body(
        description="included, excluded, rules (wire format), plus optional name and description",
        examples=[{"name": "Beta testers", "included": ["user-7"], "excluded": [], "rules": []}],
    ),
    if_match: str | None = _IF_MATCH,
    principal: Principal = _edit,
) -> SegmentOut:
    view, created = services(request).segments.put(
        actor(request, principal), project, env, segment, body, if_match_version(if_match)
    )
    response.status_code = 201 if created else 200
    response.headers["ETag"] = f'"{view.version}"'
    return _out(view)


@router.delete("/{segment}", status_code=204, summary="Delete a segment no flag uses")
def delete_segment(
    request: Request,
    project: ProjectKey,
    env: EnvironmentKey,
    segment: SegmentKey,
    if_match: str | None = _IF_MATCH,
    principal: Principal = _edit,
) -> Response:
    services(request).segments.delete(
        actor(request, principal), project, env, segment, if_match_version(if_match)
    )
    return Response(status_code=204)
