"""`GET /sdk/v1/flags`: the SDK key's environment snapshot, from a per-revision cache of serialized bytes.

The hot path: a cached key and revision answer 304 from memory; otherwise one indexed query, then bytes.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request, Response
from starlette.concurrency import run_in_threadpool

from app.api.dependencies import bearer_token, sdk_key_header, services
from app.api.errors import ErrorBody, error_response

router = APIRouter(prefix="/sdk/v1", tags=["sdk"])


def _matches(if_none_match: str | None, revision: int) -> bool:
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or f'"{revision}"' in tags


@router.get(
    "/flags",
    summary="The environment's snapshot in wire format; ETag is the revision",
    response_class=Response,
    responses={
        200: {
            "description": "The snapshot (docs/flag-format.md)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Snapshot"}}},
        },
        304: {"description": "Unchanged since the revision in If-None-Match"},
        401: {"model": ErrorBody, "description": "No SDK key, or an unknown or revoked one"},
    },
)
async def get_flags(
    request: Request,
    authorization: str | None = Depends(sdk_key_header),
    if_none_match: str | None = Header(None, description='the ETag of the snapshot you hold, e.g. "42"'),
) -> Response:
    # Async with explicit thread hops only on a cache miss: the common 304 answer never leaves the event loop.
    token = bearer_token(authorization)
    snapshots = services(request).snapshots
    target = snapshots.poll_cache.target(token) if token else None
    if target is None and token:
        target = await run_in_threadpool(snapshots.authenticate_sdk, token)
    if target is None:
        return error_response(401, "unauthorized", "an SDK key is required: Authorization: Bearer fs_sdk_...")
    headers = {"Cache-Control": "no-cache"}
    if _matches(if_none_match, target.revision):
        return Response(status_code=304, headers={**headers, "ETag": f'"{target.revision}"'})
    found = snapshots.cached_body(target.environment_id, target.revision)
    if found is None:
        found = await run_in_threadpool(snapshots.serialized, target.environment_id, target.revision)
    revision, body = found
    return Response(body, media_type="application/json", headers={**headers, "ETag": f'"{revision}"'})
