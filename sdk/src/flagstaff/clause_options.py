"""Opt-in clause behaviours for imported data: ``match_missing`` and ``parse_numbers``.

Each wraps a compiled test or matcher, so clauses that do not use an option pay nothing for it.
"""

from __future__ import annotations

import math
import re
from typing import Any

from flagstaff.lookup import Context, Lookup, Matcher
from flagstaff.operators import Test

MAX_NUMBER_TEXT = 64
# JSON's number grammar (RFC 8259), the spelling of the clause's own values: ASCII digits, no "+", no leading
# zero, no bare "." at either end, nothing around it. Python's float() reads far more ("1_000", " 12", other
# scripts' digits, "nan", "infinity"), none of which an attribute should match by accident.
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def parsing_numbers(test: Test) -> Test:
    """``test`` on the number a string attribute spells (``"12.0"`` -> ``12.0``); other values as they are."""

    def parsed(v: Any) -> bool:
        if type(v) is str:
            return test(parse_number(v))
        return test(v)

    return parsed


def parse_number(text: str) -> int | float | None:
    """The finite number ``text`` spells as a JSON number, or ``None``. An integer is exact, not a float."""
    if len(text) > MAX_NUMBER_TEXT or not text.isascii():
        return None
    digits = text[1:] if text[:1] == "-" else text
    if digits.isdigit():  # the usual integer, without the regex
        return int(text) if digits[0] != "0" or len(digits) == 1 else None
    if _JSON_NUMBER.fullmatch(text) is None:
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def matching_missing(matcher: Matcher, attribute: str, use_now: bool) -> Matcher:
    """``matcher``, but true for a context without ``attribute`` (the clock stands in for ``now``)."""

    def match(ctx: Context, snap: Lookup, now: float | None) -> bool:
        if ctx.get(attribute) is None and (not use_now or now is None):
            return True
        return matcher(ctx, snap, now)

    return match
