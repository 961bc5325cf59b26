"""Routes for segments of one environment: `/api/v1/projects/{project}/environments/{env}/segments`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Response

from app.api import wire_schemas
from app.api.dependencies import Editor, Reader, ServicesDep, if_match_version
from app.api.errors import WRITE_RESPONSES
from app.api.parameters import After, EnvironmentKey, ProjectKey, SegmentKey, SegmentsPerPage
from app.api.schemas import SegmentPage
from app.services.read_models import SegmentOut

router = APIRouter(
    prefix="/api/v1/projects/{project}/environments/{env}/segments",
    tags=["segments"],
    responses=WRITE_RESPONSES,
)
IfMatch = Annotated[str | None, Header(description='the segment version you last read, e.g. "2"')]
SegmentBody = Annotated[
    dict[str, Any],
    Body(
        description="included, excluded, rules (wire format), plus optional name and description",
        examples=[{"name": "Beta testers", "included": ["user-7"], "excluded": [], "rules": []}],
    ),
]


@router.get("", summary="List segments")
def list_segments(
    services: ServicesDep,
    project: ProjectKey,
    env: EnvironmentKey,
    caller: Reader,
    after: After = None,
    limit: SegmentsPerPage = 100,
) -> SegmentPage:
    found = services.segments.list(project, env, after=after, limit=limit + 1)
    items = found[:limit]
    return SegmentPage(items=items, next=items[-1].key if len(found) > limit else None)


@router.get("/{segment}", summary="Read a segment")
def get_segment(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, segment: SegmentKey, caller: Reader
) -> SegmentOut:
    return services.segments.get(project, env, segment)


@router.put(
    "/{segment}",
    summary="Create or replace a segment",
    responses={201: {"model": SegmentOut, "description": "Created"}},
    openapi_extra=wire_schemas.request_body(wire_schemas.segment_put_body()),
)
def put_segment(
    services: ServicesDep,
    response: Response,
    project: ProjectKey,
    env: EnvironmentKey,
    segment: SegmentKey,
    body: SegmentBody,
    caller: Editor,
    if_match: IfMatch = None,
) -> SegmentOut:
    stored, created = services.segments.put(
        caller.actor, project, env, segment, body, if_match_version(if_match)
    )
    response.status_code = 201 if created else 200
    response.headers["ETag"] = f'"{stored.version}"'
    return stored


@router.delete("/{segment}", status_code=204, summary="Delete a segment no flag uses")
def delete_segment(
    services: ServicesDep,
    project: ProjectKey,
    env: EnvironmentKey,
    segment: SegmentKey,
    caller: Editor,
    if_match: IfMatch = None,
) -> Response:
    services.segments.delete(caller.actor, project, env, segment, if_match_version(if_match))
    return Response(status_code=204)
