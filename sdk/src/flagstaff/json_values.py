"""What a JSON value in flag data may hold: valid Unicode text, nested at most ``MAX_JSON_DEPTH`` levels.

JSON can carry a lone surrogate (``"\\ud800"``), which no UTF-8 document can hold, and any depth of nesting;
either makes a value that servers cannot store and send back. Pure and iterative: a value nested deeper than
Python's recursion limit is reported, never raised on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flagstaff.problems import Problem, join

MAX_JSON_DEPTH = 32
"""Levels of objects and lists in one flag or segment document, the document itself being the first."""


def valid_text(text: str) -> bool:
    """Whether ``text`` is made of Unicode scalar values only (no lone surrogate), so has a UTF-8 form."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable_path(text: str) -> str:
    """``text`` with each lone surrogate written as ``\\udXXX``: safe to show in a path or message."""
    return text if valid_text(text) else text.encode("utf-8", "backslashreplace").decode("utf-8")


def unstorable(value: object, path: str = "", max_depth: int = MAX_JSON_DEPTH) -> Problem | None:
    """The first string (or object key) that is not valid Unicode, or the first object or list nested deeper
    than ``max_depth``, in document order; ``None`` when there is none."""
    if _clean(value, max_depth):
        return None  # the common case, decided without building a single path
    return _locate(value, path, max_depth)


def _children(node: Any) -> Any:
    return node.values() if isinstance(node, Mapping) else node


def _is_container(value: object) -> bool:
    return isinstance(value, list | tuple | Mapping)


def _clean(value: object, max_depth: int) -> bool:
    if type(value) is str:
        return valid_text(value)
    if not _is_container(value):
        return True
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return False
        if isinstance(node, Mapping) and not all(type(k) is not str or valid_text(k) for k in node):
            return False
        for item in _children(node):
            kind = type(item)
            if kind is str:
                if not item.isascii() and not valid_text(item):
                    return False
            elif kind is list or kind is dict or _is_container(item):
                stack.append((item, depth + 1))
    return True


def _locate(value: object, path: str, max_depth: int) -> Problem | None:
    # Each entry: a value, its path, its depth, and whether it is an object key (checked as text only).
    stack: list[tuple[Any, str, int, bool]] = [(value, path, 0, False)]
    while stack:
        node, where, depth, is_key = stack.pop()
        if isinstance(node, str):
            if not valid_text(node):
                what = "object keys" if is_key else "text"
                return Problem(where, f"{what} must be valid Unicode (no lone surrogates)")
            continue
        if is_key or not _is_container(node):
            continue
        if depth + 1 > max_depth:
            return Problem(where, f"nests deeper than {max_depth} levels of objects and lists")
        children: list[tuple[Any, str, int, bool]] = []
        if isinstance(node, Mapping):
            for key, item in node.items():
                named = join(where, printable_path(str(key)))
                children.append((key, named, depth + 1, True))
                children.append((item, named, depth + 1, False))
        else:
            children.extend((item, join(where, i), depth + 1, False) for i, item in enumerate(node))
        stack.extend(reversed(children))  # reversed, so the first child is looked at first
    return None
