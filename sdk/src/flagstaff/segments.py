"""Compiled segments: reusable audiences that flags reference by key.

A segment is compiled once per snapshot and shared by every flag that references it, so its explicit key lists
are held once, as hash sets: membership costs O(1) however many flags use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flagstaff.bucketing import bucket_value
from flagstaff.clauses import NOW_ATTRIBUTE, all_of, compile_clause
from flagstaff.keys import check_key
from flagstaff.lookup import Lookup, Matcher
from flagstaff.problems import Problem, Reader, join

SEGMENT_FIELDS = frozenset({"key", "included", "excluded", "rules", "version"})
RULE_FIELDS = frozenset({"id", "clauses"})


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Segment:
    key: str
    version: int
    included: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()
    rules: tuple[Matcher, ...] = ()
    uses_now: bool = False
    """Whether a rule tests the clock: then every flag that tests segment membership needs it too."""

    def contains(self, value: Any, ctx: Mapping[str, Any], snap: Lookup, now: float | None) -> bool:
        if type(value) is list:  # an array attribute: a member if any element is one
            return any(self.contains(item, ctx, snap, now) for item in value if item is not None)
        key = value if type(value) is str else bucket_value(value)
        if key is not None:
            if key in self.excluded:
                return False
            if key in self.included:
                return True
        for matches in self.rules:  # noqa: SIM110 - a plain loop; a generator costs more than most rules
            if matches(ctx, snap, now):
                return True
        return False


def compile_segment(raw: object, path: str, problems: list[Problem]) -> Segment:
    r = Reader(raw, path, problems, SEGMENT_FIELDS)
    key: str = r.get("key", str, "", required=True)
    check_key(key, join(path, "key"), problems)
    version: int = r.get("version", int, 0, required=True)
    if version < 0:
        r.fail("version", "must be >= 0")
    included = _key_list(r, "included")
    excluded = _key_list(r, "excluded")
    rules: list[Matcher] = []
    seen_ids: set[str] = set()
    uses_now = False
    for i, raw_rule in enumerate(r.get("rules", list, [])):
        rule_path = join(join(path, "rules"), i)
        rr = Reader(raw_rule, rule_path, problems, RULE_FIELDS)
        rule_id: str | None = rr.get("id", str, required=True)
        if rule_id is not None:
            if rule_id in seen_ids:
                rr.fail("id", f"duplicate rule id {rule_id!r}")
            seen_ids.add(rule_id)
        clauses = rr.get("clauses", list, [], required=True)
        uses_now = uses_now or any(
            isinstance(c, Mapping) and c.get("attribute") == NOW_ATTRIBUTE for c in clauses
        )
        rules.append(
            all_of(
                tuple(
                    compile_clause(c, join(join(rule_path, "clauses"), j), problems, in_segment=True)
                    for j, c in enumerate(clauses)
                )
            )
        )
    return Segment(
        key=key, version=version, included=included, excluded=excluded, rules=tuple(rules), uses_now=uses_now
    )


def _key_list(r: Reader, name: str) -> frozenset[str]:
    values: list[Any] = r.get(name, list, [])
    keys: set[str] = set()
    for i, v in enumerate(values):
        if isinstance(v, str):
            keys.add(v)
        else:
            r.fail(name, f"item {i} must be a string context key")
    return frozenset(keys)
