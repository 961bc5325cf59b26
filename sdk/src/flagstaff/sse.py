"""A server-sent events parser (the WHATWG event-stream grammar) over already-split lines.

Pure: no I/O, no threads. The live data source feeds it the lines of an HTTP response.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: str
    id: str | None
    """The last event id seen on the stream so far (ids carry over to later events that have none)."""
    retry_ms: int | None = None


def iter_events(lines: Iterable[str]) -> Iterator[SseEvent]:
    """Yields each complete event; comments (heartbeats) and events without data are skipped."""
    event_type = ""
    data: list[str] = []
    last_id: str | None = None
    retry: int | None = None
    for line in lines:
        if line == "":
            if data:
                yield SseEvent(event_type or "message", "\n".join(data), last_id, retry)
            event_type, data, retry = "", [], None
            continue
        if line.startswith(":"):
            continue
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "event":
            event_type = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            if "\x00" not in value:
                last_id = value
        elif name == "retry" and value.isdigit():
            retry = int(value)
