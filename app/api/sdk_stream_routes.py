"""`GET /sdk/v1/stream` (the SSE stream of one SDK key's environment) and `POST /sdk/v1/acks` (which revision
an SDK instance that streams or polls with the same key has applied).

HTTP only: authentication, headers and the response; the stream's content comes from `app.streaming`.
"""

from __future__ import annotations

import time

import anyio
from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, Field

from app.api.dependencies import bearer_token, sdk_key_header, services
from app.api.errors import ApiError, ErrorBody, error_response
from app.api.event_stream_response import EventStreamResponse
from app.auth import api_keys
from app.services.snapshot_service import SdkTarget
from app.streaming.ack_registry import INSTANCE_ID
from app.streaming.runtime import Streaming
from app.streaming.stream_session import stream_events

router = APIRouter(prefix="/sdk/v1", tags=["sdk"])
_INSTANCE = Header(
    None,
    alias="X-Flagstaff-Instance",
    max_length=64,
    description="the SDK instance's id (letters, digits, `_.:-`): counts it in propagation reports",
)


class AckIn(BaseModel):
    instance_id: str = Field(
        pattern=f"^{INSTANCE_ID.pattern}$",
        description="the id the instance streams or polls with (`X-Flagstaff-Instance`), under the same key",
    )
    revision: int = Field(ge=0)


def _streaming(request: Request) -> Streaming:
    found: Streaming = request.app.state.streaming
    return found


def _authenticate(request: Request, authorization: str | None) -> tuple[SdkTarget, str]:
    token = bearer_token(authorization)
    target = services(request).snapshots.authenticate_sdk(token) if token else None
    if token is None or target is None:
        raise ApiError(401, "unauthorized", "an SDK key is required: Authorization: Bearer fs_sdk_...")
    return target, api_keys.key_id_of(token, api_keys.SDK_PREFIX)


@router.get(
    "/stream",
    summary="Server-sent events: the snapshot, then every change; resumes with Last-Event-ID",
    response_class=Response,
    responses={
        200: {"description": "An event stream", "content": {"text/event-stream": {}}},
        401: {"model": ErrorBody, "description": "No SDK key, or an unknown or revoked one"},
        503: {"model": ErrorBody, "description": "This process is shutting down; connect to another"},
    },
)
async def stream(
    request: Request,
    authorization: str | None = Depends(sdk_key_header),
    last_event_id: str | None = Header(
        None,
        alias="Last-Event-ID",
        max_length=32,
        description="the revision of the last event received; the stream resumes after it",
    ),
    instance_id: str | None = _INSTANCE,
) -> Response:
    runtime = _streaming(request)
    target, key_id = await anyio.to_thread.run_sync(_authenticate, request, authorization)
    if not runtime.hub.accepting:
        raise ApiError(503, "shutting_down", "this server is shutting down; reconnect to another")
    settings = runtime.settings
    snapshots = services(request).snapshots

    async def read_snapshot(revision: int) -> tuple[int, bytes]:
        found = await anyio.to_thread.run_sync(snapshots.serialized, target.environment_id, revision)
        return found.revision, found.identity

    # Subscribe first, read second: every revision after the subscription reaches the queue.
    # An id that is not well formed could never acknowledge (422): the stream is served, uncounted.
    counted = instance_id if instance_id is not None and INSTANCE_ID.fullmatch(instance_id) else None
    subscriber = await runtime.hub.subscribe(target.environment_id, key_id, counted)
    resume_from = int(last_event_id) if last_event_id and last_event_id.strip().isdigit() else None
    events = stream_events(
        runtime.hub,
        runtime.source,
        subscriber,
        read_snapshot,
        last_event_id=resume_from,
        resume_max_changes=settings.stream_resume_max_changes,
        retry_ms=settings.stream_retry_ms,
    )
    return EventStreamResponse(
        events,
        subscriber,
        # Proxies must neither buffer nor compress the stream, or changes would sit in their buffers.
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Content-Encoding": "identity"},
    )


@router.post(
    "/acks",
    status_code=204,
    summary="Report the revision this SDK instance has applied (for the confirmed kill switch)",
    responses={
        401: {"model": ErrorBody, "description": "No SDK key, or an unknown or revoked one"},
        409: {
            "model": ErrorBody,
            "description": "No stream or recent poll from this instance with this key; nothing was stored",
        },
        429: {"model": ErrorBody, "description": "Over the key's acknowledgement rate; retry after a second"},
        503: {"model": ErrorBody, "description": "Acknowledgements cannot be stored right now; retry"},
    },
)
def acknowledge(
    request: Request, body: AckIn, authorization: str | None = Depends(sdk_key_header)
) -> Response:
    target, key_id = _authenticate(request, authorization)
    runtime = _streaming(request)
    if not runtime.ack_limiter.allow(key_id):
        limited = error_response(
            429, "rate_limited", "too many acknowledgements for this SDK key; retry in a second"
        )
        limited.headers["Retry-After"] = "1"
        return limited
    try:
        # No SDK can be ahead of the database; a larger number is a client bug, not a confirmation.
        revision = min(body.revision, target.revision)
        stored = runtime.registry.record_ack(
            target.environment_id, key_id, body.instance_id, revision, time.time()
        )
    except Exception as exc:
        raise ApiError(
            503, "unavailable", f"acknowledgements cannot be stored: {type(exc).__name__}"
        ) from exc
    if not stored:
        # Refused rather than ignored: an SDK whose stream registration has not landed yet retries.
        raise ApiError(
            409,
            "not_connected",
            "no stream or recent poll from this instance with this SDK key; connect before acknowledging",
            "instance_id",
        )
    return Response(status_code=204)
