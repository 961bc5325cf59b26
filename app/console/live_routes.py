"""`GET /console/projects/{project}/environments/{env}/live`: the event stream a console page's `EventSource`
reads, authenticated by the session cookie (never an SDK key). Each message names the environment's revision;
the page then fetches the rows changed since the one it shows.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from app.api.event_stream_response import EventStreamResponse
from app.console.console_route import ConsoleRoute
from app.console.signed_in import Reader, Refused, ServicesDep
from app.services import sdk_stream_service

router = APIRouter(prefix="/console/projects/{project}", route_class=ConsoleRoute, include_in_schema=False)
_NO_BUFFERING = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Content-Encoding": "identity"}


@router.get("/environments/{env}/live", summary="Revision notices for a console page")
async def live(services: ServicesDep, user: Reader, project: str, env: str) -> Response:
    try:
        opened = await services.console_streams.open(user.identity, project, env)
    except sdk_stream_service.Refused as refused:
        raise Refused(503, "Unavailable", refused.message) from None
    return EventStreamResponse(opened.chunks, opened.subscriber, headers=_NO_BUFFERING)
