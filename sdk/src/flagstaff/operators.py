"""Clause operators: for each, a test of one attribute value, built once from the clause's values.

Tests never raise on odd values: a value of the wrong type, or one that does not parse, simply does not match.
The string operators examine no string longer than ``MAX_STRING_ATTRIBUTE_LENGTH``.
"""

from __future__ import annotations

import ipaddress
import operator
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from operator import methodcaller
from typing import Any, Final

from flagstaff.ignore_case import fold
from flagstaff.linear_regex import UnsupportedPattern, compile_pattern
from flagstaff.problems import Reader, join, type_name
from flagstaff.semver import parse_semver

Test = Callable[[Any], bool]

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

MAX_STRING_ATTRIBUTE_LENGTH: Final = 4096
"""The longest string the string operators examine. A longer one matches none of them, and a clause over it is
false even when negated: a regex search costs time in proportion to the text, so a huge attribute must not
reach one. 4,096 characters holds any email address, user agent or ordinary URL."""


def build_test(op: str, values: list[Any], ci: bool, r: Reader) -> Test | None:
    if op == "in":
        return _in_test(values, ci, r)
    if op in ("starts_with", "ends_with", "contains"):
        needles = strings(values, r)
        if needles is None:
            return None
        _report_unmatchable(needles, r)
        return _string_test(op, tuple(fold(s) for s in needles) if ci else tuple(needles), ci)
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


def _report_unmatchable(values: list[Any], r: Reader) -> None:
    for i, v in enumerate(values):
        if isinstance(v, str) and len(v) > MAX_STRING_ATTRIBUTE_LENGTH:
            r.fail(
                join("values", i),
                f"longer than the {MAX_STRING_ATTRIBUTE_LENGTH} characters a string operator examines;"
                " it can never match",
                fatal=False,
            )


def _in_test(values: list[Any], ci: bool, r: Reader) -> Test | None:
    _report_unmatchable(values, r)
    strings: set[str] = set()
    numbers: set[int | float] = set()
    booleans: set[bool] = set()
    limit = MAX_STRING_ATTRIBUTE_LENGTH
    for i, v in enumerate(values):
        if isinstance(v, str):
            if len(v) <= limit:  # no examined attribute can equal a longer one, so it need not be held
                strings.add(fold(v) if ci else v)
        elif isinstance(v, bool):
            booleans.add(v)
        elif _is_number(v):
            numbers.add(v)
        else:
            r.fail(join("values", i), f"'in' compares strings, numbers and booleans, not {type_name(v)}")
            return None
    frozen_strings, frozen_numbers = frozenset(strings), frozenset(numbers)
    if not numbers and not booleans:
        if ci:
            return lambda v: isinstance(v, str) and len(v) <= limit and fold(v) in frozen_strings
        return lambda v: type(v) is str and v in frozen_strings

    def test(v: Any) -> bool:
        if isinstance(v, str):
            if ci:
                return len(v) <= limit and fold(v) in frozen_strings
            return v in frozen_strings
        if isinstance(v, bool):  # before numbers: True == 1 in Python, never in a flag
            return v in booleans
        return _is_number(v) and v in frozen_numbers

    return test


def _string_test(op: str, needles: tuple[str, ...], ci: bool) -> Test:
    limit = MAX_STRING_ATTRIBUTE_LENGTH
    if op == "contains":

        def contains(v: Any) -> bool:
            if not isinstance(v, str) or len(v) > limit:
                return False
            text = fold(v) if ci else v
            return any(n in text for n in needles)

        return contains
    method = str.startswith if op == "starts_with" else str.endswith
    if ci:
        return lambda v: isinstance(v, str) and len(v) <= limit and method(fold(v), needles)
    return lambda v: isinstance(v, str) and len(v) <= limit and method(v, needles)


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
    limit = MAX_STRING_ATTRIBUTE_LENGTH
    return lambda v: isinstance(v, str) and len(v) <= limit and any(p.search(v) for p in patterns)


def _cidr_test(values: list[Any], r: Reader) -> Test | None:
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for i, v in enumerate(values):
        try:
            if not isinstance(v, str):
                raise TypeError(v)  # ip_network would read an integer as an address
            networks.append(ipaddress.ip_network(v, strict=False))
        except (ValueError, TypeError):
            r.fail(join("values", i), f"not an IP network in CIDR notation: {v!r}")
            return None
    return _compare(cached_address, _in_network, networks)


def _in_network(address: Any, network: Any) -> bool:
    return address in network


def strings(values: list[Any], r: Reader) -> list[str] | None:
    for i, v in enumerate(values):
        if not isinstance(v, str):
            r.fail(join("values", i), f"must be a string, not {type_name(v)}")
            return None
    return values


def string_test_in_c(op: str, values: list[Any], ci: bool) -> tuple[Test, bool] | None:
    """For a string attribute, a test made only of C-level calls where the operator allows one, and whether
    the caller must itself refuse a string longer than ``MAX_STRING_ATTRIBUTE_LENGTH`` (C-level calls
    cannot).

    Matchers run for every rule of every flag check; skipping a Python frame per clause is most of their cost.
    """
    if ci or not all(isinstance(v, str) for v in values):
        return None
    if op == "in":
        # No longer string is held, so a longer attribute is not found: no length check needed.
        return frozenset(v for v in values if len(v) <= MAX_STRING_ATTRIBUTE_LENGTH).__contains__, False
    if op in ("starts_with", "ends_with"):
        return methodcaller("startswith" if op == "starts_with" else "endswith", tuple(values)), True
    if op == "contains" and len(values) == 1:
        return methodcaller("__contains__", values[0]), True
    return None


def unexamined(v: object) -> bool:
    """Whether the string operators leave ``v`` unexamined: a string over the cap, or a list holding one."""
    if isinstance(v, str):
        return len(v) > MAX_STRING_ATTRIBUTE_LENGTH
    if type(v) is list:
        return any(isinstance(x, str) and len(x) > MAX_STRING_ATTRIBUTE_LENGTH for x in v)
    return False


def semver_string_test(op: str, values: list[Any]) -> Test | None:
    """One comparison against one version, with the cached parse inline: the usual minimum-version rule."""
    target = parse_semver(values[0]) if len(values) == 1 else None
    if op not in SEMVER_OPS or target is None:
        return None
    cmp = SEMVER_OPS[op]
    return lambda v: (k := _semver_of(v)) is not None and cmp(k, target)


def _number_or_none(v: object) -> Any:
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def to_epoch(v: object) -> float | None:
    """Epoch seconds of an RFC 3339 timestamp (with a zone) or a number of epoch seconds."""
    if _is_number(v):
        try:
            return float(v)  # type: ignore[arg-type]
        except OverflowError:  # an integer beyond any float: no time at all
            return None
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
