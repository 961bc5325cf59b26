"""`GET /sdk/v1/flags`: the SDK key's environment snapshot, from a per-revision cache of serialized bytes
(JSON and gzip); a poll naming its instance (`X-Flagstaff-Instance`) counts that instance as present in
propagation reports.

The hot path is `sdk_poll.SdkPollFront`, which answers from memory before a request reaches this route; the
route serves the rest (and documents the endpoint): one shared key check, then the answer from `sdk_poll`.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Header, Response
from starlette.concurrency import run_in_threadpool

from app.api.dependencies import ServicesDep, bearer_token, sdk_key_header
from app.api.errors import ErrorBody, error_response
from app.api.sdk_poll import accepts_gzip, note_instance, poll_answer
from app.services.snapshot_service import SdkTarget, SnapshotService

router = APIRouter(prefix="/sdk/v1", tags=["sdk"])


async def _shared_check(snapshots: SnapshotService, token: str) -> SdkTarget | None:
    """One database check of the key, shared by every poll that misses the cache while it runs.

    The cached revision expires for all polls at the same moment: without sharing, each poll in flight then
    took a worker thread and a pooled connection at once, and under load that stall set the p99 latency."""
    in_flight = snapshots.poll_cache.checks_in_flight
    check = in_flight.get(token)
    if check is None:
        check = asyncio.ensure_future(run_in_threadpool(snapshots.authenticate_sdk, token))
        in_flight[token] = check
        check.add_done_callback(lambda done: _finished(in_flight, token, done))
    # Shielded: a poll whose client goes away must not cancel the check the others are waiting for.
    return await asyncio.shield(check)


def _finished(
    in_flight: dict[str, asyncio.Future[SdkTarget | None]], token: str, done: asyncio.Future[SdkTarget | None]
) -> None:
    in_flight.pop(token, None)
    if not done.cancelled():
        done.exception()  # marks a failure as seen when every waiter has gone; the waiters re-raise it


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
    target = snapshots.poll_cache.target(token) if token else None
    if target is None and token:
        target = await _shared_check(snapshots, token)
    if target is None:
        return error_response(401, "unauthorized", "an SDK key is required: Authorization: Bearer fs_sdk_...")
    if token:
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
