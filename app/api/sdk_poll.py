"""The answer to `GET /sdk/v1/flags` (status, headers, body), and the front that sends it from memory before
the framework sees the request, so the poll path costs about what a bare ASGI app does.

Only answers memory holds go out here; a poll that needs the database (an unknown key, an expired revision, a
snapshot not yet built) passes through to the route in `sdk_routes`, which builds its answer with the same
`poll_answer`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

from starlette.types import Scope, Send

from app.api.dependencies import bearer_token
from app.api.request_records import RequestRecorder, request_id
from app.auth import api_keys
from app.services.snapshot_bytes import SnapshotBytes
from app.services.snapshot_service import SdkTarget, SnapshotService
from app.streaming.ack_registry import INSTANCE_ID
from app.streaming.runtime import Streaming

POLL_PATH = "/sdk/v1/flags"
# Every answer depends on Accept-Encoding, the 304 too (its ETag names the encoding): caches must key on it.
_COMMON = ((b"cache-control", b"no-cache"), (b"vary", b"Accept-Encoding"))


@dataclass(frozen=True, slots=True)
class PollAnswer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def matches(if_none_match: str | None, revision: int) -> bool:
    """Weak comparison, as RFC 9110 prescribes for If-None-Match: `"7"` and `W/"7"` are the same revision."""
    if not if_none_match:
        return False
    tag = f'"{revision}"'
    for given in if_none_match.split(","):
        given = given.strip().removeprefix("W/")
        if given == tag or given == "*":
            return True
    return False


@lru_cache(maxsize=256)  # a fleet's SDKs send a handful of distinct values
def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether `Accept-Encoding` admits gzip (by name, `x-gzip` or `*`) with a quality above zero."""
    if not accept_encoding:
        return False
    wildcard = False
    for item in accept_encoding.split(","):
        coding, _, parameters = item.partition(";")
        coding = coding.strip().lower()
        if coding in ("gzip", "x-gzip"):
            return _quality(parameters) > 0
        if coding == "*":
            wildcard = _quality(parameters) > 0
    return wildcard


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value.strip())
            except ValueError:
                return 0.0  # unreadable: identity is always acceptable, so fall back to it
    return 1.0


def poll_answer(
    target: SdkTarget, body: SnapshotBytes | None, if_none_match: str | None, gzip: bool
) -> PollAnswer | None:
    """The answer for a key at `target`, or None when it needs the snapshot's bytes and `body` is None.

    The identity body's ETag is `"R"` (R the revision) and the gzip body's `W/"R"`: a strong tag names one
    sequence of bytes, and the two encodings of a revision are equivalent but not the same bytes."""
    if matches(if_none_match, target.revision):
        return PollAnswer(304, [(b"etag", _etag(target.revision, gzip)), *_COMMON], b"")
    if body is None:
        return None
    content = body.gzip if gzip else body.identity
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(content)),
        (b"etag", _etag(body.revision, gzip)),
        *_COMMON,
    ]
    if gzip:
        headers.append((b"content-encoding", b"gzip"))
    return PollAnswer(200, headers, content)


def note_instance(streaming: Streaming, target: SdkTarget, token: str, instance_id: str | None) -> None:
    """A poll naming its SDK instance (`X-Flagstaff-Instance`) counts that instance as present with this key
    in propagation reports, so that its acknowledgements count; a malformed id is ignored."""
    if instance_id is not None and INSTANCE_ID.fullmatch(instance_id):
        key_id = api_keys.key_id_of(token, api_keys.SDK_PREFIX)
        streaming.hub.polls.polled(target.environment_id, key_id, instance_id)


def _etag(revision: int, gzip: bool) -> bytes:
    return b'W/"%d"' % revision if gzip else b'"%d"' % revision


class SdkPollFront:
    """Answers the polls memory can answer, with the request's id and records as the middleware would give
    them; `answer` returns False for everything else, untouched, for the application to serve."""

    def __init__(self, snapshots: SnapshotService, recorder: RequestRecorder, streaming: Streaming) -> None:
        self.snapshots = snapshots
        self.recorder = recorder
        self.streaming = streaming

    async def answer(self, scope: Scope, send: Send) -> bool:
        if scope["type"] != "http" or scope["path"] != POLL_PATH or scope["method"] != "GET":
            return False
        started = time.perf_counter()
        authorization = if_none_match = accept_encoding = instance_id = None
        given = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
            elif name == b"accept-encoding":
                accept_encoding = value.decode("latin-1")
            elif name == b"x-request-id":
                given = value.decode("latin-1")
            elif name == b"x-flagstaff-instance":
                instance_id = value.decode("latin-1")
        token = bearer_token(authorization)
        target = self.snapshots.poll_cache.target(token) if token else None
        if target is None or token is None:
            return False
        note_instance(self.streaming, target, token, instance_id)
        body = self.snapshots.cached_body(target.environment_id, target.revision)
        found = poll_answer(target, body, if_none_match, accepts_gzip(accept_encoding))
        if found is None:
            return False
        identifier = request_id(given)
        headers = [*found.headers, (b"x-request-id", identifier.encode())]
        await send({"type": "http.response.start", "status": found.status, "headers": headers})
        await send({"type": "http.response.body", "body": found.body})
        self.recorder.record(scope, POLL_PATH, found.status, time.perf_counter() - started, identifier)
        return True
