"""Reading the server's answers (poll bodies, stream events, the cache file) before they reach the store.

Pure: no I/O. Whatever the bytes, the only exception is ``MalformedAnswer``: JSON that does not parse or is
nested too deeply, a revision that is not an integer, a change item of the wrong shape.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from flagstaff.problems import type_name

_MAX_REVISION = 2**63 - 1  # the server's revisions and versions are 64-bit database integers
_BRIEF = 60


class MalformedAnswer(ValueError):
    """The server's answer cannot be used; the data source keeps its last good data."""


@dataclass(frozen=True, slots=True)
class ChangeItem:
    kind: str
    key: str
    version: int
    data: dict[str, Any] | None
    """``None`` deletes the flag or segment."""


@dataclass(frozen=True, slots=True)
class Change:
    revision: int
    items: tuple[ChangeItem, ...]


def json_object(data: str | bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except RecursionError:
        raise MalformedAnswer(f"malformed {what}: JSON nested too deeply") from None
    except ValueError as exc:  # also invalid UTF-8 and integers too long to convert
        raise MalformedAnswer(f"malformed {what}: not JSON ({str(exc)[:_BRIEF]})") from None
    if not isinstance(value, dict):
        raise MalformedAnswer(f"malformed {what}: not a JSON object")
    return value


def snapshot_document(data: str | bytes, what: str) -> dict[str, Any]:
    """A snapshot document whose revision and tables can be trusted; the store checks the flags themselves."""
    return checked_snapshot(json_object(data, what), what)


def checked_snapshot(document: dict[str, Any], what: str) -> dict[str, Any]:
    _count(document.get("revision"), what, "revision")
    for table in ("flags", "segments"):
        value = document.get(table)
        if value is not None and not isinstance(value, dict):
            raise MalformedAnswer(f"malformed {what}: {table!r} is not an object")
    return document


def change_event(data: str) -> Change:
    what = "change event"
    change = json_object(data, what)
    revision = _count(change.get("revision"), what, "revision")
    raw_items = change.get("changes")
    if not isinstance(raw_items, list):
        raise MalformedAnswer(f"malformed {what}: 'changes' is not a list")
    items = []
    for item in raw_items:  # the whole event is checked before any of it is applied
        if not isinstance(item, dict):
            raise MalformedAnswer(f"malformed {what}: a change item is not an object")
        kind, key, content = item.get("kind"), item.get("key"), item.get("data")
        if kind not in ("flag", "segment") or not isinstance(key, str):
            raise MalformedAnswer(f"malformed {what}: an item needs a 'kind' (flag or segment) and a 'key'")
        if not (content is None or isinstance(content, dict)):
            raise MalformedAnswer(f"malformed {what}: the data of {brief(key)} is not an object")
        items.append(ChangeItem(kind, key, _count(item.get("version"), what, "version"), content))
    return Change(revision, tuple(items))


def reconnect_delay(data: str, cap: float) -> float | None:
    """The delay a ``reconnect`` event asks for, in seconds and at most ``cap``; ``None`` if it names none."""
    delay_ms = json_object(data, "reconnect event").get("delay_ms")
    if isinstance(delay_ms, bool) or not isinstance(delay_ms, int | float) or not delay_ms >= 0:
        return None  # NaN fails the comparison too
    if delay_ms >= cap * 1000 or math.isinf(delay_ms):  # compared before dividing: a huge int has no float
        return cap
    return delay_ms / 1000


def error_code(data: str) -> str:
    code = json_object(data, "error event").get("code")
    return code if isinstance(code, str) else brief(code)


def brief(value: object) -> str:
    """A value short enough for a status message or a log line, whatever the server sent."""
    if isinstance(value, str):
        return repr(value) if len(value) <= _BRIEF else repr(value[:_BRIEF]) + "..."
    if isinstance(value, list | dict):
        return type_name(value)  # its contents could be anything, of any size or depth
    shown = repr(value)
    return shown if len(shown) <= _BRIEF else shown[:_BRIEF] + "..."


def _count(value: object, what: str, name: str) -> int:
    if type(value) is not int or not 0 <= value <= _MAX_REVISION:
        raise MalformedAnswer(f"malformed {what}: {name!r} must be an integer >= 0, not {brief(value)}")
    return value
