"""Unleash constraints (operators, ``inverted``, ``caseInsensitive``) as Flagstaff clauses.

A constraint becomes one clause, or ``ALWAYS`` / ``NEVER`` when its outcome does not depend on the context
(an empty ``IN`` list, an unparsable value). Unleash negations match a context without the attribute, so
negated clauses carry ``match_missing``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from enum import Enum
from typing import Any

from flagstaff.operators import to_epoch
from flagstaff.unleash.context import attribute_for
from flagstaff.unleash.regex import PatternNotMapped, translate
from flagstaff.unleash.report import Notes

Clause = dict[str, Any]


class Constant(Enum):
    ALWAYS = "always"
    NEVER = "never"


ALWAYS = Constant.ALWAYS
NEVER = Constant.NEVER

STRING_OPS = {"STR_STARTS_WITH": "starts_with", "STR_ENDS_WITH": "ends_with", "STR_CONTAINS": "contains"}
NUMBER_OPS = {"NUM_EQ": "in", "NUM_LT": "lt", "NUM_LTE": "lte", "NUM_GT": "gt", "NUM_GTE": "gte"}
DATE_OPS = {"DATE_AFTER": "after", "DATE_BEFORE": "before"}
SEMVER_OPS = {
    "SEMVER_EQ": "semver_eq",
    "SEMVER_LT": "semver_lt",
    "SEMVER_LTE": "semver_lte",
    "SEMVER_GT": "semver_gt",
    "SEMVER_GTE": "semver_gte",
}
# Unleash parses constraint versions strictly (no leading "v", all three parts); Flagstaff is lenient.
STRICT_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)


def convert_constraint(raw: Mapping[str, Any], notes: Notes, where: str) -> Clause | Constant:
    """One Unleash constraint as a clause, or a constant outcome. Anything lost is noted."""
    operator = str(raw.get("operator", ""))
    context_name = str(raw.get("contextName", ""))
    values = _values(raw)
    label = f"{where} constraint {context_name} {operator}"
    base = _base_clause(
        operator, attribute_for(context_name), values, bool(raw.get("caseInsensitive")), notes, label
    )
    if base is None:
        # Unleash evaluates an unknown operator to false before looking at "inverted".
        return NEVER
    negated = bool(raw.get("inverted")) != (operator == "NOT_IN")
    if isinstance(base, Constant):
        if not negated:
            return base
        return ALWAYS if base is NEVER else NEVER
    if negated:
        base["negate"] = True
        base["match_missing"] = True
    return base


def _values(raw: Mapping[str, Any]) -> list[Any]:
    values = raw.get("values")
    if isinstance(values, list) and values:
        return [v for v in values if v is not None]
    value = raw.get("value")
    return [] if value is None else [value]


def _base_clause(
    operator: str, attribute: str, values: list[Any], ci: bool, notes: Notes, label: str
) -> Clause | Constant | None:
    if operator in ("IN", "NOT_IN"):
        strings = [str(v) for v in values]
        return {"attribute": attribute, "op": "in", "values": strings} if strings else NEVER
    if operator in STRING_OPS:
        strings = [str(v) for v in values]
        if not strings:
            return NEVER
        clause: Clause = {"attribute": attribute, "op": STRING_OPS[operator], "values": strings}
        if ci:
            clause["case_insensitive"] = True
        return clause
    if operator in NUMBER_OPS:
        return _number_clause(operator, attribute, values, notes, label)
    if operator in DATE_OPS:
        return _date_clause(operator, attribute, values, notes, label)
    if operator in SEMVER_OPS:
        versions = [str(v) for v in values if STRICT_SEMVER.fullmatch(str(v))]
        if len(versions) != len(values):
            notes.add(label, f"{values!r} is not a strict semantic version; Unleash never matches it")
        if not versions:
            return NEVER
        return {"attribute": attribute, "op": SEMVER_OPS[operator], "values": versions[:1]}
    if operator == "REGEX":
        return _regex_clause(attribute, values, ci, notes, label)
    if operator == "IN_CIDR":
        return _cidr_clause(attribute, values, notes, label)
    notes.add(label, "unknown operator; Unleash evaluates it as false, so the strategy never matches")
    return None


def _number_clause(
    operator: str, attribute: str, values: list[Any], notes: Notes, label: str
) -> Clause | Constant:
    if not values:
        return NEVER
    try:
        number = float(str(values[0]))
    except ValueError:
        notes.add(label, f"{values[0]!r} is not a number; Unleash never matches it")
        return NEVER
    value: int | float = int(number) if number.is_integer() and abs(number) < 2**53 else number
    # Unleash context values are strings; parse_numbers compares "12.0" as the number 12.
    return {"attribute": attribute, "op": NUMBER_OPS[operator], "values": [value], "parse_numbers": True}


def _date_clause(
    operator: str, attribute: str, values: list[Any], notes: Notes, label: str
) -> Clause | Constant:
    if not values:
        return NEVER
    text = str(values[0])
    if to_epoch(text) is None:
        with_zone = text + "Z"
        if to_epoch(with_zone) is None:
            notes.add(label, f"{text!r} is not a date; Unleash never matches it")
            return NEVER
        notes.add(label, f"{text!r} has no time zone; imported as UTC")
        text = with_zone
    return {"attribute": attribute, "op": DATE_OPS[operator], "values": [text]}


def _regex_clause(attribute: str, values: list[Any], ci: bool, notes: Notes, label: str) -> Clause | Constant:
    if not values:
        return NEVER
    try:
        pattern = translate(str(values[0]))
    except PatternNotMapped as exc:
        notes.add(label, f"pattern {values[0]!r} cannot be used ({exc}); it never matches, as in Unleash")
        return NEVER
    clause: Clause = {"attribute": attribute, "op": "matches", "values": [pattern]}
    if ci:
        clause["case_insensitive"] = True
    return clause


def _cidr_clause(attribute: str, values: list[Any], notes: Notes, label: str) -> Clause | Constant:
    valid = [str(v).strip() for v in values if _is_network(str(v).strip())]
    invalid = [v for v in values if not _is_network(str(v).strip())]
    if invalid:
        notes.add(label, f"ignored invalid blocks {invalid!r}, as Unleash does")
    return {"attribute": attribute, "op": "in_cidr", "values": valid} if valid else NEVER


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True
