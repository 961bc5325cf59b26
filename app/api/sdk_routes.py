"""`GET /sdk/v1/flags`: the SDK key's environment snapshot, from a per-revision cache of serialized bytes
(JSON and gzip); a poll naming its instance (`X-Flagstaff-Instance`) counts that instance as present in
propagation reports.

The hot path is `sdk_poll.SdkPollFront`, which answers from memory before a request reaches this route; the
route serves the rest (and documents the endpoint): the key checked by `SnapshotService.sdk_target`, then the
answer from `sdk_poll`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Response
from starlette.concurrency import run_in_threadpool

from app.api.dependencies import ServicesDep, bearer_token, sdk_key_header
from app.api.errors import ErrorBody, error_response
from app.api.sdk_poll import accepts_gzip, note_instance, poll_answer

router = APIRouter(prefix="/sdk/v1", tags=["sdk"])


@router.get(
    "/flags",
    summary="The environment's snapshot in wire format; ETag is the revision; gzip when accepted",
    response_class=Response,
    responses={
        200: {
            "description": "The snapshot (docs/flag-format.md); gzip-encoded when Accept-Encoding allows it",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Snapshot"}}},
        },
        304: {"description": "Unchanged since the revision in If-None-Match"},
        401: {"model": ErrorBody, "description": "No SDK key, or an unknown or revoked one"},
    },
)
async def get_flags(
    services: ServicesDep,
    authorization: str | None = Depends(sdk_key_header),
    if_none_match: str | None = Header(None, description='the ETag of the snapshot you hold, e.g. "42"'),
    instance_id: str | None = Header(
        None,
        alias="X-Flagstaff-Instance",
        description="the SDK instance's id: counts it in propagation reports (ignored unless well formed)",
    ),
    accept_encoding: str | None = Header(None, description="`gzip` for the compressed snapshot"),
) -> Response:
    # Async with explicit thread hops only on a cache miss.
    token = bearer_token(authorization)
    snapshots = services.snapshots
    target = await snapshots.sdk_target(token) if token else None
    if target is None or token is None:
        return error_response(401, "unauthorized", "an SDK key is required: Authorization: Bearer fs_sdk_...")
    note_instance(services.streaming, target, token, instance_id)
    gzip = accepts_gzip(accept_encoding)
    body = snapshots.cached_body(target.environment_id, target.revision)
    answer = poll_answer(target, body, if_none_match, gzip)
    if answer is None:
        body = await run_in_threadpool(snapshots.serialized, target.environment_id, target.revision)
        answer = poll_answer(target, body, if_none_match, gzip)
    assert answer is not None  # with a body there is always an answer
    response = Response(status_code=answer.status)
    response.body, response.raw_headers = answer.body, answer.headers
    return response
