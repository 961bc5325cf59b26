"""Compiles one targeting clause into a matcher: a closure that tests a context.

The operator's test comes from ``operators.py``; this module adds what holds for every operator (the attribute
lookup, missing and array attributes, ``negate``), segment membership, and sharing of identical clauses.
Matchers never raise on odd context values: they do not match.
"""

from __future__ import annotations

from typing import Any

from flagstaff.clause_options import matching_missing, parsing_numbers
from flagstaff.lookup import Context, Lookup, Matcher
from flagstaff.operators import MAX_STRING_ATTRIBUTE_LENGTH, OPERATORS, Test, strings, unexamined
from flagstaff.problems import Problem, Reader

CLAUSE_FIELDS = frozenset(
    {"attribute", "op", "values", "negate", "case_insensitive", "match_missing", "parse_numbers"}
)
NOW_ATTRIBUTE = "now"
SEGMENT_MATCH = "segment_match"
_PARSING_NUMBERS = sorted(name for name, operator in OPERATORS.items() if operator.parses_numbers)


def never(ctx: Context, snap: Lookup, now: float | None) -> bool:
    return False


def always(ctx: Context, snap: Lookup, now: float | None) -> bool:
    return True


def all_of(matchers: tuple[Matcher, ...]) -> Matcher:
    """One matcher for a rule's clauses: one call per rule, and no loop for the usual single clause."""
    if not matchers:
        return always
    if len(matchers) == 1:
        return matchers[0]

    def every(ctx: Context, snap: Lookup, now: float | None) -> bool:
        for match in matchers:  # noqa: SIM110 - a plain loop; a generator costs more than most clauses
            if not match(ctx, snap, now):
                return False
        return True

    return every


_INTERNED_MAX = 20_000
_interned: dict[tuple[Any, ...], Matcher] = {}
"""Matchers of clauses already compiled without a problem, by content. Flags repeat the same clauses (the
same country list, the same plan check) many times; sharing one immutable matcher saves compile time and
memory. Bounded: once full, further clauses are compiled without being kept."""


def compile_clause(raw: object, path: str, problems: list[Problem], *, in_segment: bool = False) -> Matcher:
    """A matcher for ``raw``; problems are appended (after a fatal one the matcher is meaningless)."""
    key = _content_key(raw, in_segment)
    if key is not None:
        known = _interned.get(key)
        if known is not None:
            return known
    before = len(problems)
    matcher = _compile_clause(raw, path, problems, in_segment)
    if key is not None and len(problems) == before and len(_interned) < _INTERNED_MAX:
        _interned[key] = matcher
    return matcher


def _content_key(raw: object, in_segment: bool) -> tuple[Any, ...] | None:
    """A hashable identity of a clause, or ``None`` when it has odd content (that is compiled every time)."""
    if type(raw) is not dict or not raw.keys() <= CLAUSE_FIELDS:
        return None
    values = raw.get("values")
    if type(values) is not list:
        return None
    typed: list[tuple[type, Any]] = []
    for v in values:
        t = type(v)
        if t is not str and t is not int and t is not float and t is not bool:
            return None
        typed.append((t, v))  # the type too: 1, 1.0 and True are equal keys in Python, not in a flag
    return (
        in_segment,
        raw.get("attribute"),
        raw.get("op"),
        tuple(typed),
        raw.get("negate"),
        raw.get("case_insensitive"),
        raw.get("match_missing"),
        raw.get("parse_numbers"),
    )


def _compile_clause(raw: object, path: str, problems: list[Problem], in_segment: bool) -> Matcher:
    r = Reader(raw, path, problems, CLAUSE_FIELDS)
    op: str | None = r.get("op", str, required=True)
    negate: bool = r.get("negate", bool, False)
    ci: bool = r.get("case_insensitive", bool, False)
    match_missing: bool = r.get("match_missing", bool, False)
    parse_numbers: bool = r.get("parse_numbers", bool, False)
    values: list[Any] | None = r.get("values", list, required=op != "exists")
    attribute: str | None = r.get(
        "attribute", str, "key" if op == SEGMENT_MATCH else None, required=op != SEGMENT_MATCH
    )
    if op is None or attribute is None:
        return never
    if values is None:
        values = []
    operator = OPERATORS.get(op)
    if operator is None:
        r.fail("op", f"unknown operator {op!r}; a clause with it never matches", fatal=False)
        return never
    if ci and not operator.on_strings:
        r.fail("case_insensitive", f"only applies to string operators, not {op!r}")
    if parse_numbers and not operator.parses_numbers:
        r.fail("parse_numbers", f"only applies to {', '.join(_PARSING_NUMBERS)}, not {op!r}")
    if match_missing and operator.test is None:
        r.fail("match_missing", f"does not apply to {op!r}")
    if operator.test is None:
        return _own_matcher(op, attribute, values, negate, in_segment, r)
    if not values:
        r.fail("values", "must hold at least one value")
        return never
    test = operator.test(values, ci, r)
    if test is None:
        return never
    if parse_numbers:  # strings are read as numbers, within their own short limit, not searched
        test = parsing_numbers(test)
        matcher = _attribute_matcher(attribute, test, test, negate, capped=False, check_length=False)
    else:
        string_test, check_length = operator.string_test(values, ci) or (test, False)
        matcher = _attribute_matcher(
            attribute, test, string_test, negate, capped=operator.on_strings, check_length=check_length
        )
    return matching_missing(matcher, attribute, attribute == NOW_ATTRIBUTE) if match_missing else matcher


def _own_matcher(
    op: str, attribute: str, values: list[Any], negate: bool, in_segment: bool, r: Reader
) -> Matcher:
    """The operators that test no value: segment membership and the attribute's presence."""
    if op == "exists":
        return _exists_matcher(attribute, negate)
    if in_segment:
        r.fail("op", "segments cannot reference other segments")
        return never
    if not values:
        r.fail("values", "must name at least one segment")
        return never
    return _segment_matcher(attribute, strings(values, r), negate)


def _attribute_matcher(
    attribute: str, test: Test, string_test: Test, negate: bool, *, capped: bool, check_length: bool
) -> Matcher:
    """``capped``: a string operator, which examines no string over the cap; ``check_length``: ``string_test``
    does not refuse such a string itself (``test`` always does)."""
    use_now = attribute == NOW_ATTRIBUTE
    refuse_unexamined = capped and negate
    limit = MAX_STRING_ATTRIBUTE_LENGTH

    def match(ctx: Context, snap: Lookup, now: float | None) -> bool:
        v = ctx.get(attribute)
        if v is None:
            if not use_now or now is None:
                return False  # missing attribute: false whatever ``negate`` says
            v = now
        matched = (_any(test, v) if type(v) is list else test(v)) != negate
        if matched and refuse_unexamined and (len(v) > limit if type(v) is str else unexamined(v)):
            return False  # like a missing attribute: what was not examined cannot satisfy a negation
        return matched

    if negate or use_now:
        return match

    if check_length:

        def plain_within_limit(ctx: Context, snap: Lookup, now: float | None) -> bool:
            # As ``plain`` below, with the length check the C-level ``string_test`` cannot make. Checked only
            # after a match, so the usual miss costs nothing more: these C tests cost at most a C-speed scan.
            # A second closure rather than a branch in ``plain``: that branch would run on every check.
            v = ctx.get(attribute)
            if type(v) is str:
                return string_test(v) and len(v) <= limit
            if v is None:
                return False
            if type(v) is list:
                return _any(test, v)
            return test(v)

        return plain_within_limit

    def plain(ctx: Context, snap: Lookup, now: float | None) -> bool:
        # The common shape (no negate, no clock) in the fewest steps: it runs for every rule of every check.
        v = ctx.get(attribute)
        if type(v) is str:
            return string_test(v)
        if v is None:
            return False
        if type(v) is list:
            return _any(test, v)
        return test(v)

    return plain


def _any(test: Test, values: list[Any]) -> bool:
    return any(test(x) for x in values if x is not None)


def _exists_matcher(attribute: str, negate: bool) -> Matcher:
    if negate:
        return lambda ctx, snap, now: ctx.get(attribute) is None
    return lambda ctx, snap, now: ctx.get(attribute) is not None


def _segment_matcher(attribute: str, keys: list[str] | None, negate: bool) -> Matcher:
    if keys is None:
        return never
    segment_keys = tuple(keys)

    if len(segment_keys) == 1 and not negate:
        only = segment_keys[0]

        def member_of_one(ctx: Context, snap: Lookup, now: float | None) -> bool:
            v = ctx.get(attribute)
            if v is None:
                return False
            segment = snap.segments.get(only)
            return segment is not None and segment.contains(v, ctx, snap, now)

        return member_of_one

    def match(ctx: Context, snap: Lookup, now: float | None) -> bool:
        v = ctx.get(attribute)
        if v is None:
            return False
        member = False
        for key in segment_keys:
            segment = snap.segments.get(key)
            if segment is not None and segment.contains(v, ctx, snap, now):
                member = True
                break
        return member != negate

    return match
