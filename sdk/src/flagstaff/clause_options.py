"""Opt-in clause behaviours for imported data: ``match_missing`` and ``parse_numbers``.

Each wraps a compiled test or matcher, so clauses that do not use an option pay nothing for it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flagstaff.clauses import Context, Matcher
    from flagstaff.operators import Test
    from flagstaff.snapshot import Snapshot

PARSE_NUMBER_OPS = frozenset({"in", "lt", "lte", "gt", "gte"})
MAX_NUMBER_TEXT = 64


def parsing_numbers(test: Test) -> Test:
    """``test`` on the number a string attribute spells (``"12.0"`` -> ``12.0``); other values as they are."""

    def parsed(v: Any) -> bool:
        if type(v) is str:
            return test(parse_number(v))
        return test(v)

    return parsed


def parse_number(text: str) -> float | None:
    """The finite decimal number ``text`` spells, or ``None``."""
    if len(text) > MAX_NUMBER_TEXT:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def matching_missing(matcher: Matcher, attribute: str, use_now: bool) -> Matcher:
    """``matcher``, but true for a context without ``attribute`` (the clock stands in for ``now``)."""

    def match(ctx: Context, snap: Snapshot, now: float | None) -> bool:
        if ctx.get(attribute) is None and (not use_now or now is None):
            return True
        return matcher(ctx, snap, now)

    return match
