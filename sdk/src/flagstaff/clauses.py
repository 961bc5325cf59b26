"""Compiles one targeting clause into a matcher: a closure that tests a context.

Everything that can be decided once (sets for ``in``, parsed versions, networks, compiled patterns) is decided
here, so a matcher does little per call. Matchers never raise on odd context values: they do not match.
"""

from __future__ import annotations

import ipaddress
import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from operator import methodcaller
from typing import TYPE_CHECKING, Any

from flagstaff.clause_options import PARSE_NUMBER_OPS, matching_missing, parsing_numbers
from flagstaff.linear_regex import UnsupportedPattern, compile_pattern
from flagstaff.problems import Problem, Reader, join, type_name
from flagstaff.semver import parse_semver

if TYPE_CHECKING:
    from flagstaff.snapshot import Snapshot

Context = Mapping[str, Any]
Matcher = Callable[[Context, "Snapshot", float | None], bool]
Test = Callable[[Any], bool]

CLAUSE_FIELDS = frozenset(
    {"attribute", "op", "values", "negate", "case_insensitive", "match_missing", "parse_numbers"}
)
STRING_OPS = frozenset({"in", "starts_with", "ends_with", "contains", "matches"})
NUMBER_OPS = {"lt": operator.lt, "lte": operator.le, "gt": operator.gt, "gte": operator.ge}
TIME_OPS = {"before": operator.lt, "after": operator.gt}
SEMVER_OPS = {
    "semver_eq": operator.eq,
    "semver_lt": operator.lt,
    "semver_lte": operator.le,
    "semver_gt": operator.gt,
    "semver_gte": operator.ge,
}
OPERATORS = frozenset(
    {*STRING_OPS, *NUMBER_OPS, *TIME_OPS, *SEMVER_OPS, "in_cidr", "exists", "segment_match"}
)
NOW_ATTRIBUTE = "now"


def never(ctx: Context, snap: Snapshot, now: float | None) -> bool:
    return False


def always(ctx: Context, snap: Snapshot, now: float | None) -> bool:
    return True


def all_of(matchers: tuple[Matcher, ...]) -> Matcher:
    """One matcher for a rule's clauses: one call per rule, and no loop for the usual single clause."""
    if not matchers:
        return always
    if len(matchers) == 1:
        return matchers[0]

    def every(ctx: Context, snap: Snapshot, now: float | None) -> bool:
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
        "attribute", str, "key" if op == "segment_match" else None, required=op != "segment_match"
    )
    if op is None or attribute is None:
        return never
    if values is None:
        values = []
    if op not in OPERATORS:
        r.fail("op", f"unknown operator {op!r}; a clause with it never matches", fatal=False)
        return never
    if ci and op not in STRING_OPS:
        r.fail("case_insensitive", f"only applies to string operators, not {op!r}")
    if parse_numbers and op not in PARSE_NUMBER_OPS:
        r.fail("parse_numbers", f"only applies to {', '.join(sorted(PARSE_NUMBER_OPS))}, not {op!r}")
    if match_missing and op in ("exists", "segment_match"):
        r.fail("match_missing", f"does not apply to {op!r}")
    if op == "segment_match":
        if in_segment:
            r.fail("op", "segments cannot reference other segments")
            return never
        return _segment_matcher(attribute, _strings(values, r), negate)
    if op == "exists":
        return _exists_matcher(attribute, negate)
    if not values:
        r.fail("values", "must hold at least one value")
        return never
    test = _build_test(op, values, ci, r)
    if test is None:
        return never
    if parse_numbers:
        test = parsing_numbers(test)
        matcher = _attribute_matcher(attribute, test, test, negate)
    else:
        string_test = _string_test_in_c(op, values, ci) or _semver_string_test(op, values) or test
        matcher = _attribute_matcher(attribute, test, string_test, negate)
    return matching_missing(matcher, attribute, attribute == NOW_ATTRIBUTE) if match_missing else matcher


def _build_test(op: str, values: list[Any], ci: bool, r: Reader) -> Test | None:
    if op == "in":
        return _in_test(values, ci, r)
    if op in ("starts_with", "ends_with", "contains"):
        strings = _strings(values, r)
        if strings is None:
            return None
        return _string_test(op, tuple(s.casefold() for s in strings) if ci else tuple(strings), ci)
    if op == "matches":
        return _regex_test(values, ci, r)
    if op in NUMBER_OPS:
        numbers = [v for v in values if _is_number(v)]
        if len(numbers) != len(values):
            r.fail("values", f"{op!r} compares numbers; every value must be a number")
            return None
        return _compare(_number_or_none, NUMBER_OPS[op], numbers)
    if op in TIME_OPS:
        stamps = [to_epoch(v) for v in values]
        if any(s is None for s in stamps):
            r.fail("values", f"{op!r} needs RFC 3339 timestamps with a zone, or epoch seconds")
            return None
        return _compare(to_epoch, TIME_OPS[op], [s for s in stamps if s is not None])
    if op in SEMVER_OPS:
        versions = [parse_semver(v) for v in values]
        bad = [v for v, k in zip(values, versions, strict=True) if k is None]
        if bad:
            r.fail("values", f"not a semantic version: {bad[0]!r}")
            return None
        return _compare(cached_semver, SEMVER_OPS[op], [k for k in versions if k is not None])
    return _cidr_test(values, r)


def _compare(convert: Callable[[Any], Any], cmp: Callable[[Any, Any], bool], targets: list[Any]) -> Test:
    """``convert(v) cmp t`` for any target ``t``, with no generator on the single-target path."""
    if len(targets) == 1:
        target = targets[0]

        def one(v: Any) -> bool:
            x = convert(v)
            return x is not None and cmp(x, target)

        return one

    def many(v: Any) -> bool:
        x = convert(v)
        if x is None:
            return False
        return any(cmp(x, target) for target in targets)

    return many


def _in_test(values: list[Any], ci: bool, r: Reader) -> Test | None:
    strings: set[str] = set()
    numbers: set[int | float] = set()
    booleans: set[bool] = set()
    for i, v in enumerate(values):
        if isinstance(v, str):
            strings.add(v.casefold() if ci else v)
        elif isinstance(v, bool):
            booleans.add(v)
        elif _is_number(v):
            numbers.add(v)
        else:
            r.fail(join("values", i), f"'in' compares strings, numbers and booleans, not {type_name(v)}")
            return None
    frozen_strings, frozen_numbers = frozenset(strings), frozenset(numbers)
    if ci:
        return lambda v: isinstance(v, str) and v.casefold() in frozen_strings
    if not numbers and not booleans:
        return lambda v: type(v) is str and v in frozen_strings

    def test(v: Any) -> bool:
        if isinstance(v, str):
            return v in frozen_strings
        if isinstance(v, bool):  # before numbers: True == 1 in Python, never in a flag
            return v in booleans
        return _is_number(v) and v in frozen_numbers

    return test


def _string_test(op: str, needles: tuple[str, ...], ci: bool) -> Test:
    if op == "contains":
        if ci:
            return lambda v: isinstance(v, str) and any(n in v.casefold() for n in needles)
        return lambda v: isinstance(v, str) and any(n in v for n in needles)
    method = str.startswith if op == "starts_with" else str.endswith
    if ci:
        return lambda v: isinstance(v, str) and method(v.casefold(), needles)
    return lambda v: isinstance(v, str) and method(v, needles)


def _regex_test(values: list[Any], ci: bool, r: Reader) -> Test | None:
    patterns = []
    for i, v in enumerate(values):
        if not isinstance(v, str):
            r.fail(join("values", i), f"must be a regular expression string, not {type_name(v)}")
            return None
        try:
            patterns.append(compile_pattern(v, ignore_case=ci))
        except UnsupportedPattern as exc:
            r.fail(join("values", i), f"invalid regular expression: {exc}")
            return None
    return lambda v: isinstance(v, str) and any(p.search(v) for p in patterns)


def _cidr_test(values: list[Any], r: Reader) -> Test | None:
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for i, v in enumerate(values):
        try:
            networks.append(ipaddress.ip_network(v, strict=False))
        except (ValueError, TypeError):
            r.fail(join("values", i), f"not an IP network in CIDR notation: {v!r}")
            return None
    return _compare(cached_address, _in_network, networks)


def _in_network(address: Any, network: Any) -> bool:
    return address in network


def _strings(values: list[Any], r: Reader) -> list[str] | None:
    for i, v in enumerate(values):
        if not isinstance(v, str):
            r.fail(join("values", i), f"must be a string, not {type_name(v)}")
            return None
    return values


def _string_test_in_c(op: str, values: list[Any], ci: bool) -> Test | None:
    """For a string attribute, a test made only of C-level calls where the operator allows one.

    Matchers run for every rule of every flag check; skipping a Python frame per clause is most of their cost.
    """
    if ci or not all(isinstance(v, str) for v in values):
        return None
    if op == "in":
        return frozenset(values).__contains__
    if op in ("starts_with", "ends_with"):
        return methodcaller("startswith" if op == "starts_with" else "endswith", tuple(values))
    if op == "contains" and len(values) == 1:
        return methodcaller("__contains__", values[0])
    return None


def _semver_string_test(op: str, values: list[Any]) -> Test | None:
    """One comparison against one version, with the cached parse inline: the usual minimum-version rule."""
    target = parse_semver(values[0]) if len(values) == 1 else None
    if op not in SEMVER_OPS or target is None:
        return None
    cmp = SEMVER_OPS[op]
    return lambda v: (k := _semver_of(v)) is not None and cmp(k, target)


def _attribute_matcher(attribute: str, test: Test, string_test: Test, negate: bool) -> Matcher:
    use_now = attribute == NOW_ATTRIBUTE

    def match(ctx: Context, snap: Snapshot, now: float | None) -> bool:
        v = ctx.get(attribute)
        if v is None:
            if not use_now or now is None:
                return False  # missing attribute: false whatever ``negate`` says
            v = now
        if type(v) is list:
            return _any(test, v) != negate
        return test(v) != negate

    if negate or use_now:
        return match

    def plain(ctx: Context, snap: Snapshot, now: float | None) -> bool:
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

        def member_of_one(ctx: Context, snap: Snapshot, now: float | None) -> bool:
            v = ctx.get(attribute)
            if v is None:
                return False
            segment = snap.segments.get(only)
            return segment is not None and segment.contains(v, ctx, snap, now)

        return member_of_one

    def match(ctx: Context, snap: Snapshot, now: float | None) -> bool:
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


def _number_or_none(v: object) -> Any:
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def to_epoch(v: object) -> float | None:
    """Epoch seconds of an RFC 3339 timestamp (with a zone) or a number of epoch seconds."""
    if _is_number(v):
        return float(v)  # type: ignore[arg-type]
    if not isinstance(v, str) or len(v) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(v)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


@lru_cache(maxsize=4096)
def _semver_of(text: str) -> Any:
    return parse_semver(text)


def cached_semver(v: object) -> Any:
    # Contexts repeat the same few app versions; parsing each call would dominate the rule's cost.
    return _semver_of(v) if isinstance(v, str) else None


@lru_cache(maxsize=4096)
def _address_of(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def cached_address(v: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    return _address_of(v) if isinstance(v, str) else None
