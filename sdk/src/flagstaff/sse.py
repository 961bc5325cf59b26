"""A server-sent events parser (the WHATWG event-stream grammar): bytes to lines, lines to events.

Pure: no I/O, no threads. The live data source feeds it the bytes of an HTTP response. Both steps are bounded,
so a broken or hostile server cannot make the SDK buffer without end.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_BOM = "\ufeff"


class SseLimitError(ValueError):
    """A line or an event is larger than its bound; the stream must be dropped rather than buffered."""


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: str
    id: str | None
    """The last event id seen on the stream so far (ids carry over to later events that have none)."""
    retry_ms: int | None = None
    """The stream's reconnection time in milliseconds, as its last ``retry:`` field set it (like an id, it
    holds for every later event; a block of its own sets it too); ``None`` until one arrives."""


def iter_lines(chunks: Iterable[bytes], max_line_bytes: int) -> Iterator[str]:
    """The lines of a byte stream, split at CRLF, LF or CR; raises ``SseLimitError`` for a longer line."""
    partial: list[bytes] = []  # the pieces of a line that has not ended yet
    size = 0
    after_cr = False  # a CR ended the last chunk: an LF opening the next one belongs to it
    first = True
    for chunk in chunks:
        if not chunk:
            continue
        if after_cr and chunk[:1] == b"\n":
            chunk = chunk[1:]
            if not chunk:
                after_cr = False
                continue
        after_cr = chunk[-1:] == b"\r"
        lines = chunk.splitlines()  # bytes split at exactly the event stream's line endings
        tail = b"" if chunk[-1:] in (b"\n", b"\r") else lines.pop()
        for line in lines:
            if partial:
                partial.append(line)
                line = b"".join(partial)
                partial, size = [], 0
            if len(line) > max_line_bytes:
                raise SseLimitError(_line_too_long(max_line_bytes))
            text = line.decode("utf-8", "replace")
            if first:
                text, first = text.removeprefix(_BOM), False
            yield text
        if tail:
            partial.append(tail)
            size += len(tail)
            if size > max_line_bytes:
                raise SseLimitError(_line_too_long(max_line_bytes))


def iter_events(lines: Iterable[str], max_event_bytes: int | None = None) -> Iterator[SseEvent]:
    """Yields each complete event; comments (heartbeats) and events without data are skipped.

    Raises ``SseLimitError`` once an event's data (counted in characters, one per line ending too) passes
    ``max_event_bytes``."""
    event_type = ""
    data: list[str] = []
    size = 0
    last_id: str | None = None
    retry: int | None = None
    for line in lines:
        if line == "":
            if data:
                yield SseEvent(event_type or "message", "\n".join(data), last_id, retry)
            event_type, data, size = "", [], 0
            continue
        if line.startswith(":"):
            continue
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "event":
            event_type = value
        elif name == "data":
            size += len(value) + 1
            if max_event_bytes is not None and size > max_event_bytes:
                raise SseLimitError(f"an event is larger than max_event_bytes ({max_event_bytes})")
            data.append(value)
        elif name == "id":
            if "\x00" not in value:
                last_id = value
        elif name == "retry" and value.isascii() and value.isdigit() and len(value) <= 10:
            retry = int(value)


def _line_too_long(max_line_bytes: int) -> str:
    return f"a line of the event stream is longer than max_line_bytes ({max_line_bytes})"
