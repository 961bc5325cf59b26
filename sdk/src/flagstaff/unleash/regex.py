"""Unleash ``REGEX`` patterns (Rust ``regex`` syntax) rewritten for Flagstaff's ``matches`` operator.

Only syntax is rewritten (POSIX classes, inline flags after the start); a pattern that still cannot be
compiled by the linear-time engine is reported by the importer, never guessed at.
"""

from __future__ import annotations

import re
import warnings

from flagstaff.linear_regex import UnsupportedPattern, compile_pattern

POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7F",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1F\\x7F",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_POSIX = re.compile(r"\[:(\^?)([a-z]+):\]")
_INLINE_FLAGS = re.compile(r"\(\?([imsx]+)\)")


class PatternNotMapped(ValueError):
    """The pattern is invalid, or uses what Flagstaff's linear-time engine refuses."""


def translate(pattern: str) -> str:
    """The Python spelling of a Rust ``regex`` pattern; raises ``PatternNotMapped`` if it cannot run."""
    translated = _INLINE_FLAGS.sub(_flag_group_start, _POSIX.sub(_posix_class, pattern))
    translated += ")" * translated.count("\0")
    translated = translated.replace("\0", "")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "possible nested set" and friends: syntax we do not understand
            compile_pattern(translated)
    except (UnsupportedPattern, re.error, FutureWarning, DeprecationWarning) as exc:
        raise PatternNotMapped(str(exc)) from exc
    return translated


def _posix_class(m: re.Match[str]) -> str:
    ranges = POSIX_CLASSES.get(m.group(2))
    if ranges is None or m.group(1):
        raise PatternNotMapped(f"unsupported POSIX class {m.group(0)!r}")
    return ranges


def _flag_group_start(m: re.Match[str]) -> str:
    # Rust applies "(?i)" from where it stands to the end of the pattern; Python allows global flags only at
    # the start, so the rest of the pattern becomes a scoped group "(?i:...)", closed at the end (marked \0).
    if m.start() == 0:
        return m.group(0)
    if _depth(m.string, m.start()) != 0:
        raise PatternNotMapped("inline flags inside a group")
    return f"(?{m.group(1)}:\0"


def _depth(pattern: str, end: int) -> int:
    depth = 0
    escaped = False
    in_class = False
    for ch in pattern[:end]:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
    return depth
