"""The limits of wire format v1: how much one flag or segment may hold, so that no evaluation of it is costly.

Servers and SDKs share these numbers (docs/flag-format.md, "Limits"). The validator reports a document over a
limit as a non-fatal problem: a server refuses it, and an SDK still evaluates one stored before the limit
existed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flagstaff.json_values import MAX_JSON_DEPTH, unstorable
from flagstaff.problems import Problem, join

MAX_VARIATIONS = 1000
"""Variations of one flag."""
MAX_RULES = 500
"""Rules of one flag or segment."""
MAX_CLAUSES = 1000
"""Clauses of one flag or segment, over all its rules."""
MAX_CLAUSE_VALUES = 5000
"""Values of one flag's or segment's clauses, over all its clauses (individual targets are not counted: a
target is a hash lookup whatever their number)."""
MAX_REGEX_PATTERNS = 50
"""Regular expressions (values of ``matches`` clauses) of one flag or segment: the costliest test there is."""

__all__ = [
    "MAX_CLAUSES",
    "MAX_CLAUSE_VALUES",
    "MAX_JSON_DEPTH",
    "MAX_REGEX_PATTERNS",
    "MAX_RULES",
    "MAX_VARIATIONS",
    "check_limits",
]


def check_limits(raw: object, path: str, problems: list[Problem], what: str) -> None:
    """Appends a problem for each limit ``raw`` (a ``what``: flag or segment) goes over, at the field where it
    does, and one for the first value that cannot be stored (see ``json_values``)."""
    stored = unstorable(raw, path)
    if stored is not None and all(p.path != stored.path for p in problems):  # not twice (a salt, say)
        problems.append(Problem(stored.path, stored.message, fatal=False))
    rules = raw.get("rules") if isinstance(raw, Mapping) else None
    if not isinstance(rules, list):
        return
    rules_path = join(path, "rules")
    if len(rules) > MAX_RULES:
        _over(problems, rules_path, f"a {what} holds at most {MAX_RULES} rules, not {len(rules)}")
    counts = _Counts()
    for i, rule in enumerate(rules):
        clauses = rule.get("clauses") if isinstance(rule, Mapping) else None
        if isinstance(clauses, list):
            _count_clauses(clauses, join(join(rules_path, i), "clauses"), problems, counts, what)


class _Counts:
    __slots__ = ("clauses", "patterns", "values")

    def __init__(self) -> None:
        self.clauses = self.values = self.patterns = 0


def _count_clauses(
    clauses: list[Any], path: str, problems: list[Problem], counts: _Counts, what: str
) -> None:
    before = counts.clauses
    counts.clauses += len(clauses)
    if before <= MAX_CLAUSES < counts.clauses:
        _over(problems, path, f"a {what} holds at most {MAX_CLAUSES} clauses over all its rules")
    for j, clause in enumerate(clauses):
        values = clause.get("values") if isinstance(clause, Mapping) else None
        if not isinstance(values, list):
            continue
        values_path = join(join(path, j), "values")
        before = counts.values
        counts.values += len(values)
        if before <= MAX_CLAUSE_VALUES < counts.values:
            _over(problems, values_path, f"a {what} holds at most {MAX_CLAUSE_VALUES} clause values in all")
        if clause.get("op") == "matches":
            before = counts.patterns
            counts.patterns += len(values)
            if before <= MAX_REGEX_PATTERNS < counts.patterns:
                _over(
                    problems, values_path, f"a {what} holds at most {MAX_REGEX_PATTERNS} regular expressions"
                )


def _over(problems: list[Problem], path: str, message: str) -> None:
    problems.append(Problem(path, message, fatal=False))
