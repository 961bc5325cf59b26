"""The OpenFeature Remote Evaluation Protocol (OFREP): `POST /ofrep/v1/evaluate/flags/{key}` (one flag) and
`POST /ofrep/v1/evaluate/flags` (every flag the key may see; `ETag` / `If-None-Match`), with OFREP's own
request, answer and error shapes, authenticated with `Authorization: Bearer` or `X-API-Key`; and
`GET /ofrep/v1/stream`, the "flags changed" notices a browser's `EventSource` reads (a client key may be given
in the query string, as EventSource sends no headers: client keys are public).

HTTP only: the key check and the compiled snapshot come from `OfrepService`, evaluation from the SDK's engine,
and `ofrep_answers` shapes the results.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from app.api import ofrep_answers
from app.api.dependencies import bearer_token, services
from app.api.event_stream_response import EventStreamResponse
from app.auth import api_keys
from app.services.errors import InvalidInput
from app.services.ofrep_service import OfrepAccess, OfrepService
from app.streaming.flag_change_notices import flag_change_notices
from app.streaming.runtime import Streaming

router = APIRouter(prefix="/ofrep/v1", tags=["ofrep"])
_JSON = "application/json"
_UNAUTHORIZED = b'{"errorDetails":"a key is required: Authorization: Bearer fs_sdk_... or X-API-Key"}'


def _token(request: Request) -> str | None:
    headers = request.headers
    return headers.get("x-api-key") or bearer_token(headers.get("authorization"))


async def _access(ofrep: OfrepService, token: str | None) -> OfrepAccess | None:
    if not token:
        return None
    access = ofrep.cached_access(token)
    if access is not None:
        return access
    in_flight = ofrep.checks_in_flight
    check = in_flight.get(token)
    if check is None:
        check = asyncio.ensure_future(run_in_threadpool(ofrep.authenticate, token))
        in_flight[token] = check
        check.add_done_callback(lambda done: _finished(in_flight, token, done))
    # Shielded: a request whose client goes away must not cancel the check the others are waiting for.
    return await asyncio.shield(check)


def _finished(
    in_flight: dict[str, asyncio.Future[OfrepAccess | None]],
    token: str,
    done: asyncio.Future[OfrepAccess | None],
) -> None:
    in_flight.pop(token, None)
    if not done.cancelled():
        done.exception()  # marks a failure as seen when every waiter has gone; the waiters re-raise it


async def _context(request: Request) -> dict[str, Any]:
    """The request's evaluation context as the engine reads it (`targetingKey` is the context's `key`);
    raises `ofrep_answers.BadRequest` for an unreadable body or an unacceptable context."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise ofrep_answers.BadRequest("PARSE_ERROR", f"the body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise ofrep_answers.BadRequest("INVALID_CONTEXT", 'the body must be an object: {"context": {...}}')
    given = body.get("context", {})
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise ofrep_answers.BadRequest("INVALID_CONTEXT", "context must be an object")
    context = dict(given)
    targeting_key = context.pop("targetingKey", None)
    if targeting_key is not None:
        context["key"] = targeting_key
    try:
        services(request).evaluations.check_context(context)
    except InvalidInput as error:
        raise ofrep_answers.BadRequest("INVALID_CONTEXT", f"{error.field}: {error.message}") from None
    return context


def _json(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type=_JSON, headers=headers)


@router.post(
    "/evaluate/flags/{key}",
    summary="OFREP: evaluate one flag for a context",
    response_class=Response,
    openapi_extra=ofrep_answers.SINGLE_OPENAPI,
)
async def evaluate_flag(
    request: Request, key: Annotated[str, Path(description="the flag's key")]
) -> Response:
    ofrep = services(request).ofrep
    access = await _access(ofrep, _token(request))
    if access is None:
        return _json(401, _UNAUTHORIZED)
    try:
        context = await _context(request)
    except ofrep_answers.BadRequest as error:
        return _json(400, ofrep_answers.dumps(error.body(key)))
    environment = ofrep.cached_environment(access)
    if environment is None:
        environment = await run_in_threadpool(ofrep.environment, access)
    status, answer = ofrep_answers.single(environment, access.client_only, key, context)
    return _json(status, ofrep_answers.dumps(answer))


@router.post(
    "/evaluate/flags",
    summary="OFREP: evaluate every flag the key may see; ETag / If-None-Match",
    response_class=Response,
    openapi_extra=ofrep_answers.BULK_OPENAPI,
)
async def evaluate_flags(request: Request) -> Response:
    ofrep = services(request).ofrep
    token = _token(request)
    access = await _access(ofrep, token)
    if access is None or token is None:
        return _json(401, _UNAUTHORIZED)
    try:
        context = await _context(request)
    except ofrep_answers.BadRequest as error:
        return _json(400, ofrep_answers.dumps(error.body(None)))
    environment = ofrep.cached_environment(access)
    if environment is None:
        environment = await run_in_threadpool(ofrep.environment, access)
    # Only a client key may travel in the stream's URL; server-side providers have no EventSource anyway.
    stream_uri = f"{router.prefix}/stream?key={quote(token, safe='')}" if access.client_only else None
    answer = ofrep_answers.bulk(environment, access.client_only, context, stream_uri)
    body = ofrep_answers.dumps(answer)
    # The tag names the answer's bytes: the same flags and context at the same revision, or a rule's result
    # changing with the time of day, give the tag their answer has, never one of another answer.
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return _json(200, body, headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    return any(tag.strip().removeprefix("W/") in (etag, "*") for tag in if_none_match.split(","))


@router.get(
    "/stream",
    summary="Server-sent 'flags_changed' notices for a browser's EventSource; re-fetch the bulk evaluation",
    response_class=Response,
    responses={
        200: {"description": 'text/event-stream: `flags_changed` events with `{"revision"}`'},
        401: {"description": "No key, an unknown or revoked one, or a server key in the query string"},
        503: {"description": "This process is shutting down; connect to another"},
    },
)
async def stream(
    request: Request,
    key: str | None = Query(
        None, max_length=200, description="a client key (fs_client_...); other keys go in a header"
    ),
) -> Response:
    ofrep = services(request).ofrep
    token = key or _token(request)
    # Only a public key may travel in a URL, which proxies and logs keep.
    if key is not None and not key.startswith(api_keys.CLIENT_PREFIX):
        token = None
    # Checked in the database every time, as SDK streams are: a stream lives long, a cache entry briefly.
    access = await run_in_threadpool(ofrep.authenticate, token) if token else None
    if access is None:
        return _json(401, _UNAUTHORIZED)
    runtime: Streaming = request.app.state.streaming
    if not runtime.hub.accepting:
        return _json(503, b'{"errorDetails":"this server is shutting down; reconnect to another"}')
    prefix = api_keys.CLIENT_PREFIX if access.client_only else api_keys.SDK_PREFIX
    assert token is not None
    subscriber = await runtime.hub.subscribe(access.environment_id, api_keys.key_id_of(token, prefix), None)
    notices = flag_change_notices(runtime.hub, subscriber, retry_ms=runtime.settings.stream_retry_ms)
    no_buffering = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Content-Encoding": "identity"}
    return EventStreamResponse(notices, subscriber, headers=no_buffering)
