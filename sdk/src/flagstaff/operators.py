"""Clause operators: for each, a test of one attribute value, built once from the clause's values.

Tests never raise on odd values: a value of the wrong type, or one that does not parse, simply does not match.
The string operators examine no string longer than ``MAX_STRING_ATTRIBUTE_LENGTH``.
"""

from __future__ import annotations

import ipaddress
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import methodcaller
from types import MappingProxyType
from typing import Any, Final

from flagstaff.ignore_case import fold
from flagstaff.linear_regex import UnsupportedPattern, compile_pattern
from flagstaff.problems import Reader, join, type_name
from flagstaff.semver import parse_semver

Test = Callable[[Any], bool]
Builder = Callable[[list[Any], bool, Reader], "Test | None"]
"""(the clause's values, ``case_insensitive``, a reader for problems) -> the test, or ``None`` if invalid."""
StringTest = Callable[[list[Any], bool], "tuple[Test, bool] | None"]
"""(values, ``case_insensitive``) -> a faster test for a string attribute, and whether the caller must itself
refuse a string over ``MAX_STRING_ATTRIBUTE_LENGTH``; ``None`` where the operator has none for these values.
Matchers run for every rule of every flag check; skipping a Python frame per clause is most of their cost."""

MAX_STRING_ATTRIBUTE_LENGTH: Final = 4096
"""The longest string the string operators examine. A longer one matches none of them, and a clause over it is
false even when negated: a regex search costs time in proportion to the text, so a huge attribute must not
reach one. 4,096 characters holds any email address, user agent or ordinary URL."""


def _no_string_test(values: list[Any], ci: bool) -> tuple[Test, bool] | None:
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Operator:
    """One entry of ``OPERATORS``: how a clause with this ``op`` is compiled."""

    test: Builder | None
    """Builds the test of one attribute value; ``None`` for the operators a clause decides by itself, on the
    attribute's presence (``exists``) or on segment membership (``segment_match``)."""
    string_test: StringTest = _no_string_test
    on_strings: bool = False
    """A string operator: ``case_insensitive`` applies, and no string over the cap is examined."""
    parses_numbers: bool = False
    """``parse_numbers`` applies: a string attribute is read as the number it spells."""


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


def _affix_test(method: Callable[[str, tuple[str, ...]], bool]) -> Builder:
    """``starts_with`` (``str.startswith``) or ``ends_with`` (``str.endswith``) any of the values."""

    def build(values: list[Any], ci: bool, r: Reader) -> Test | None:
        needles = _needles(values, ci, r)
        if needles is None:
            return None
        limit = MAX_STRING_ATTRIBUTE_LENGTH
        if ci:
            return lambda v: isinstance(v, str) and len(v) <= limit and method(fold(v), needles)
        return lambda v: isinstance(v, str) and len(v) <= limit and method(v, needles)

    return build


def _contains_test(values: list[Any], ci: bool, r: Reader) -> Test | None:
    needles = _needles(values, ci, r)
    if needles is None:
        return None
    limit = MAX_STRING_ATTRIBUTE_LENGTH

    def contains(v: Any) -> bool:
        if not isinstance(v, str) or len(v) > limit:
            return False
        text = fold(v) if ci else v
        return any(n in text for n in needles)

    return contains


def _needles(values: list[Any], ci: bool, r: Reader) -> tuple[str, ...] | None:
    needles = strings(values, r)
    if needles is None:
        return None
    _report_unmatchable(needles, r)
    return tuple(fold(n) for n in needles) if ci else tuple(needles)


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


def _cidr_test(values: list[Any], ci: bool, r: Reader) -> Test | None:
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


def _in_string_test(values: list[Any], ci: bool) -> tuple[Test, bool] | None:
    if ci or not all(isinstance(v, str) for v in values):
        return None
    # No longer string is held, so a longer attribute is not found: no length check needed.
    return frozenset(v for v in values if len(v) <= MAX_STRING_ATTRIBUTE_LENGTH).__contains__, False


def _affix_string_test(name: str) -> StringTest:
    def string_test(values: list[Any], ci: bool) -> tuple[Test, bool] | None:
        if ci or not all(isinstance(v, str) for v in values):
            return None
        return methodcaller(name, tuple(values)), True

    return string_test


def _contains_string_test(values: list[Any], ci: bool) -> tuple[Test, bool] | None:
    if ci or len(values) != 1 or not isinstance(values[0], str):
        return None
    return methodcaller("__contains__", values[0]), True


def unexamined(v: object) -> bool:
    """Whether the string operators leave ``v`` unexamined: a string over the cap, or a list holding one."""
    if isinstance(v, str):
        return len(v) > MAX_STRING_ATTRIBUTE_LENGTH
    if type(v) is list:
        return any(isinstance(x, str) and len(x) > MAX_STRING_ATTRIBUTE_LENGTH for x in v)
    return False


def _numbers(op: str, cmp: Callable[[Any, Any], bool]) -> Builder:
    def build(values: list[Any], ci: bool, r: Reader) -> Test | None:
        numbers = [v for v in values if _is_number(v)]
        if len(numbers) != len(values):
            r.fail("values", f"{op!r} compares numbers; every value must be a number")
            return None
        return _compare(_number_or_none, cmp, numbers)

    return build


def _times(op: str, cmp: Callable[[Any, Any], bool]) -> Builder:
    def build(values: list[Any], ci: bool, r: Reader) -> Test | None:
        stamps = [to_epoch(v) for v in values]
        if any(s is None for s in stamps):
            r.fail("values", f"{op!r} needs RFC 3339 timestamps with a zone, or epoch seconds")
            return None
        return _compare(to_epoch, cmp, [s for s in stamps if s is not None])

    return build


def _versions(cmp: Callable[[Any, Any], bool]) -> Builder:
    def build(values: list[Any], ci: bool, r: Reader) -> Test | None:
        versions = [parse_semver(v) for v in values]
        bad = [v for v, k in zip(values, versions, strict=True) if k is None]
        if bad:
            r.fail("values", f"not a semantic version: {bad[0]!r}")
            return None
        return _compare(cached_semver, cmp, [k for k in versions if k is not None])

    return build


def _semver(cmp: Callable[[Any, Any], bool]) -> Operator:
    return Operator(test=_versions(cmp), string_test=_version_string_test(cmp))


def _version_string_test(cmp: Callable[[Any, Any], bool]) -> StringTest:
    """One comparison against one version, with the cached parse inline: the usual minimum-version rule."""

    def string_test(values: list[Any], ci: bool) -> tuple[Test, bool] | None:
        target = parse_semver(values[0]) if len(values) == 1 else None
        if target is None:
            return None
        return (lambda v: (k := _semver_of(v)) is not None and cmp(k, target)), False

    return string_test


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


OPERATORS: Final[Mapping[str, Operator]] = MappingProxyType(
    {
        "in": Operator(test=_in_test, string_test=_in_string_test, on_strings=True, parses_numbers=True),
        "starts_with": Operator(
            test=_affix_test(str.startswith), string_test=_affix_string_test("startswith"), on_strings=True
        ),
        "ends_with": Operator(
            test=_affix_test(str.endswith), string_test=_affix_string_test("endswith"), on_strings=True
        ),
        "contains": Operator(test=_contains_test, string_test=_contains_string_test, on_strings=True),
        "matches": Operator(test=_regex_test, on_strings=True),
        "lt": Operator(test=_numbers("lt", operator.lt), parses_numbers=True),
        "lte": Operator(test=_numbers("lte", operator.le), parses_numbers=True),
        "gt": Operator(test=_numbers("gt", operator.gt), parses_numbers=True),
        "gte": Operator(test=_numbers("gte", operator.ge), parses_numbers=True),
        "before": Operator(test=_times("before", operator.lt)),
        "after": Operator(test=_times("after", operator.gt)),
        "semver_eq": _semver(operator.eq),
        "semver_lt": _semver(operator.lt),
        "semver_lte": _semver(operator.le),
        "semver_gt": _semver(operator.gt),
        "semver_gte": _semver(operator.ge),
        "in_cidr": Operator(test=_cidr_test),
        "exists": Operator(test=None),
        "segment_match": Operator(test=None),
    }
)
"""Every operator a clause may use, by name: adding one touches this table and the functions it names."""
