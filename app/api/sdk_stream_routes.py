"""`GET /sdk/v1/stream` (the SSE stream of one SDK key's environment) and `POST /sdk/v1/acks` (which revision
an SDK instance that streams or polls with the same key has applied).

HTTP only: each route parses the request, asks `SdkStreamService`, and writes the response or maps its error.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, Field

from app.api.dependencies import bearer_token, sdk_key_header
from app.api.errors import ApiError, ErrorBody, error_response
from app.api.event_stream_response import EventStreamResponse
from app.services.sdk_stream_service import Refusal, Refused, SdkStreamService
from app.streaming.ack_registry import INSTANCE_ID

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


_STATUS = {
    Refusal.UNKNOWN_KEY: 401,
    Refusal.SHUTTING_DOWN: 503,
    Refusal.RATE_LIMITED: 429,
    Refusal.UNAVAILABLE: 503,
    Refusal.NOT_CONNECTED: 409,
}


def _sdk_streams(request: Request) -> SdkStreamService:
    found: SdkStreamService = request.app.state.sdk_streams
    return found


def _revision(last_event_id: str | None) -> int | None:
    """The revision a Last-Event-ID names; None for anything else, and the stream starts with a snapshot.
    ASCII digits only: headers arrive as Latin-1, whose "²" is a digit to `str.isdigit` but not to `int`."""
    text = (last_event_id or "").strip()
    return int(text) if text.isascii() and text.isdigit() else None


def _api_error(refused: Refused) -> ApiError:
    return ApiError(_STATUS[refused.reason], refused.code, refused.message, refused.field)


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
    # An id that is not well formed could never acknowledge (422): the stream is served, uncounted.
    counted = instance_id if instance_id is not None and INSTANCE_ID.fullmatch(instance_id) else None
    resume_from = _revision(last_event_id)
    try:
        opened = await _sdk_streams(request).open(
            bearer_token(authorization), resume_from=resume_from, instance_id=counted
        )
    except Refused as refused:
        raise _api_error(refused) from None
    return EventStreamResponse(
        opened.chunks,
        opened.subscriber,
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
    try:
        _sdk_streams(request).acknowledge(bearer_token(authorization), body.instance_id, body.revision)
    except Refused as refused:
        if refused.reason is not Refusal.RATE_LIMITED:
            raise _api_error(refused) from None
        limited = error_response(429, refused.code, refused.message)
        limited.headers["Retry-After"] = "1"
        return limited
    return Response(status_code=204)
