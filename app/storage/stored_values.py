"""What a row may hold so that it can always be sent back: text that is valid Unicode, and JSON values nested
at most `MAX_STORED_DEPTH` levels. Checked before every flush; values that older versions stored without the
check are repaired as they are read, so no stored row can make a read fail.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from flagstaff.json_values import unstorable, valid_text

MAX_STORED_DEPTH = 128
"""Levels of objects and lists in one stored JSON value. Responses wrap a stored value in a few levels more,
and the response serializer stops at 254."""
MAX_READ_DEPTH = MAX_STORED_DEPTH - 8
"""Levels a value keeps when read back. Fewer than may be stored: a row built of values read from others (a
flag of its columns, an audit entry of a flag) is a level or two deeper, and must still be storable."""
CUT = f"<nested deeper than {MAX_READ_DEPTH} levels>"
"""What a read puts in place of a value nested deeper than that (only older versions could store one)."""


class UnstorableValue(ValueError):
    """A value that must not be stored; `path` names it within its row, like `after.variations[0]`."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path, self.message = path, message


def check_flushed_rows(session: Session, _context: object, _instances: object) -> None:
    """A `before_flush` listener: refuses new or changed text and JSON columns that could not be sent back."""
    for row in (*session.new, *session.dirty):
        state = inspect(row)
        for column in state.mapper.column_attrs:
            attribute = state.attrs[column.key]
            if row in session.dirty and not attribute.history.has_changes():
                continue  # stored already, and read through `readable_json`
            value = attribute.value
            if isinstance(value, str | dict | list):
                problem = unstorable(value, column.key, MAX_STORED_DEPTH)
                if problem is not None:
                    raise UnstorableValue(problem.path, problem.message)


def readable_json(stored: str | bytes) -> Any:
    """The JSON deserializer of every engine: `json.loads`, then a repair of what an older version stored that
    cannot be sent back (a lone surrogate becomes U+FFFD; a value nested too deeply becomes `CUT`)."""
    text = stored if isinstance(stored, str) else bytes(stored).decode("utf-8")  # psycopg hands over bytes
    value = json.loads(text)
    # Reads are many, so both checks start from the text: one with few brackets cannot nest deeply, and a
    # surrogate can only arrive as a \\udXXX escape (stored JSON is ASCII; PostgreSQL holds only valid UTF-8).
    if text.count("[") + text.count("{") > MAX_READ_DEPTH and _deeper_than(value, MAX_READ_DEPTH):
        return _repaired(value, 1)
    if ("\\ud" in text or "\\uD" in text) and not _encodable(value):
        return _repaired(value, 1)
    return value


def _encodable(value: Any) -> bool:
    """Whether `value` has a UTF-8 form: no lone surrogate anywhere (a pair of escapes is one character)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _deeper_than(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for item in node.values() if type(node) is dict else node:
            if type(item) is dict or type(item) is list:
                stack.append((item, depth + 1))
    return False


def _repaired(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return value if valid_text(value) else _replace_surrogates(value)
    if not isinstance(value, dict | list):
        return value
    if depth > MAX_READ_DEPTH:
        return CUT  # recursion stops here, so it is at most MAX_READ_DEPTH frames deep
    if isinstance(value, list):
        return [_repaired(item, depth + 1) for item in value]
    return {_repaired(key, depth): _repaired(item, depth + 1) for key, item in value.items()}


def _replace_surrogates(text: str) -> str:
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
