"""The SSE wire encoding of stream events (docs/streaming.md): each event is encoded once and shared by every
stream that sends it.

Encoding only; which event a stream needs is the stream session's decision.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from app.streaming.change_source import Change


@dataclass(frozen=True, slots=True)
class Encoded:
    """One ready-to-send event that brings a client to `revision`."""

    revision: int
    body: bytes


def change_events(changes: Sequence[Change]) -> list[Encoded]:
    """One event per revision, oldest first, from changes ordered by revision."""
    return [change_event(revision, list(group)) for revision, group in groupby(changes, lambda c: c.revision)]


def change_event(revision: int, changes: Sequence[Change]) -> Encoded:
    """Every change of one revision in one event, so that `id:` always names a complete revision."""
    items = [{"kind": c.kind, "key": c.key, "version": c.version, "data": c.data} for c in changes]
    return Encoded(revision, _encode("change", {"revision": revision, "changes": items}, revision))


def resumed_event(revision: int) -> Encoded:
    """Nothing changed since the client's Last-Event-ID: an empty change confirms it is current."""
    return Encoded(revision, _encode("change", {"revision": revision, "changes": []}, revision))


def snapshot_event(revision: int, snapshot_json: bytes) -> Encoded:
    return Encoded(revision, b"event: snapshot\nid: %d\ndata: %s\n\n" % (revision, snapshot_json))


def reconnect_event(delay_ms: int) -> bytes:
    """The shutdown notice; its `retry:` field carries the same delay, so that a generic EventSource client,
    which knows nothing of this event, still spreads its reconnects."""
    return retry_hint(delay_ms) + _encode("reconnect", {"delay_ms": delay_ms}, None)


def error_event(code: str, message: str) -> bytes:
    return _encode("error", {"code": code, "message": message}, None)


HEARTBEAT_COMMENT = b": heartbeat\n\n"
"""A comment line: SSE clients ignore it, but it keeps proxies and the SDK's read timeout from closing an idle
stream."""


def retry_hint(retry_ms: int) -> bytes:
    """A field line to put before the first event's own lines: in a block of its own, some clients would
    report an empty event."""
    return b"retry: %d\n" % retry_ms


def _encode(event: str, data: dict[str, Any], revision: int | None) -> bytes:
    payload = json.dumps(data, separators=(",", ":"))  # never contains a newline, so one data: line suffices
    id_line = f"id: {revision}\n" if revision is not None else ""
    return f"event: {event}\n{id_line}data: {payload}\n\n".encode()
