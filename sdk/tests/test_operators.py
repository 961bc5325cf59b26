"""The string operators: one case-insensitive rule for all five, and the cap on the text they examine."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flagstaff
from flagstaff.operators import MAX_STRING_ATTRIBUTE_LENGTH, OPERATORS

STRING_OPS = ("in", "starts_with", "ends_with", "contains", "matches")


def _flag(*clauses: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": "f",
        "kind": "boolean",
        "variations": [True, False],
        "enabled": True,
        "version": 1,
        "rules": [{"id": "r", "clauses": list(clauses), "serve": {"variation": 0}}],
        "fallthrough": {"variation": 1},
    }


def _matches(clause: dict[str, Any], value: Any) -> bool:
    snapshot = flagstaff.load_snapshot(
        {"format": 1, "revision": 1, "flags": {"f": _flag(clause)}, "segments": {}}
    )
    result = snapshot.evaluate("f", {"key": "u", "a": value})
    assert result.error_code is None
    return result.value is True


def _clause(op: str, value: str, *, ci: bool = True, **options: Any) -> dict[str, Any]:
    """``op`` with ``value``; for ``matches``, the pattern that means what ``contains`` means."""
    pattern = re.escape(value) if op == "matches" else value
    return {"attribute": "a", "op": op, "values": [pattern], "case_insensitive": ci, **options}


# What each string operator means, written as the equivalent regular expression around an escaped value.
AS_PATTERN = {"in": r"\A{}\Z", "starts_with": r"\A{}", "ends_with": r"{}\Z", "contains": "{}"}


@pytest.mark.parametrize("op", STRING_OPS)
@pytest.mark.parametrize(
    ("value", "attribute"),
    [
        ("straße", "STRASSE"),  # case folding would turn ß into ss
        ("STRASSE", "straße"),
        ("ﬁle", "FILE"),  # and the ligature ﬁ into fi
    ],
)
def test_case_insensitive_never_turns_one_character_into_several(op: str, value: str, attribute: str) -> None:
    assert not _matches(_clause(op, value), attribute)


@pytest.mark.parametrize("op", STRING_OPS)
@pytest.mark.parametrize(
    ("value", "attribute"),
    [
        ("NL", "nl"),
        ("straße", "STRAẞE"),  # the capital sharp s is the uppercase of ß
        ("i", "I"),
        ("\u0131", "I"),  # dotless i and I share an uppercase
        ("i", "İ"),  # İ lowercases to i
        ("s", "\u017f"),  # long s and s share an uppercase
        ("k", "\u212a"),  # the Kelvin sign lowercases to k
        ("\u03c3", "\u03c2"),  # medial and final sigma
        ("\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c2"),  # lowercased, the last is a final sigma
        ("\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c3"),
    ],
)
def test_case_insensitive_equality_is_the_same_for_every_string_operator(
    op: str, value: str, attribute: str
) -> None:
    assert _matches(_clause(op, value), attribute)


# Letters, ligatures and symbols whose case relations differ between lower(), casefold() and re.
TRICKY = (
    "aAsS\u017fiI\u0131\u0130kK\u212a\u03c3\u03c2\u03a3\u00df\u1e9e\ufb01\ufb05\ufb06"
    "\u00b5\u03bc\u0345\u03b9\u1fbe"
)


@settings(max_examples=300, deadline=None)
@given(value=st.text(TRICKY, min_size=1, max_size=3), attribute=st.text(TRICKY, max_size=5))
def test_every_string_operator_agrees_with_its_regular_expression_ignoring_case(
    value: str, attribute: str
) -> None:
    for op, template in AS_PATTERN.items():
        as_regex = {"attribute": "a", "op": "matches", "values": [template.format(re.escape(value))]}
        for ci in (False, True):
            assert _matches(_clause(op, value, ci=ci), attribute) == _matches(
                {**as_regex, "case_insensitive": ci}, attribute
            ), (op, ci)


HUGE = "x" * 20_000


def test_a_20000_character_attribute_is_not_examined_by_a_regex_clause() -> None:
    assert len(HUGE) > MAX_STRING_ATTRIBUTE_LENGTH
    clause = {"attribute": "a", "op": "matches", "values": ["^x+$"]}
    assert _matches(clause, "x" * 100)
    assert not _matches(clause, HUGE)
    assert not _matches({**clause, "case_insensitive": True}, HUGE)


@pytest.mark.parametrize("op", STRING_OPS)
@pytest.mark.parametrize("ci", [False, True])
def test_a_string_just_over_the_cap_matches_no_string_operator(op: str, ci: bool) -> None:
    at_cap = "x" * MAX_STRING_ATTRIBUTE_LENGTH
    value = at_cap if op == "in" else "x"
    assert _matches(_clause(op, value, ci=ci), at_cap)
    assert not _matches(_clause(op, value, ci=ci), at_cap + "x")
    assert not _matches(_clause(op, value, ci=ci), [at_cap + "x"])
    assert _matches(_clause(op, value, ci=ci), [at_cap + "x", at_cap])


@pytest.mark.parametrize("op", STRING_OPS)
@pytest.mark.parametrize("options", [{"negate": True}, {"negate": True, "match_missing": True}])
def test_an_unexamined_string_satisfies_no_clause_not_even_a_negated_one(
    op: str, options: dict[str, Any]
) -> None:
    # As for a missing attribute: a value the engine did not look at cannot make a clause true.
    clause = _clause(op, "y", **options)
    assert _matches(clause, "x")
    assert not _matches(clause, HUGE)
    assert not _matches(clause, ["x", HUGE])
    assert _matches(clause, ["x", "z"])


def test_an_overlong_value_for_another_operator_is_not_capped_here() -> None:
    # Numbers, versions, times and addresses have their own short limits; the cap is about text search.
    assert not _matches({"attribute": "a", "op": "semver_gte", "values": ["1.0.0"], "negate": True}, "1.2.3")
    assert _matches({"attribute": "a", "op": "semver_gte", "values": ["1.0.0"], "negate": True}, HUGE)


@pytest.mark.parametrize("op", ["in", "starts_with", "ends_with", "contains"])
def test_a_clause_value_longer_than_the_cap_is_reported_as_never_matching(op: str) -> None:
    value = "x" * (MAX_STRING_ATTRIBUTE_LENGTH + 1)
    problems = flagstaff.validate_flag(_flag({"attribute": "a", "op": op, "values": ["ok", value]}))

    assert [(p.path, p.fatal) for p in problems] == [("rules[0].clauses[0].values[1]", False)]
    assert "never" in problems[0].message
    assert _matches({"attribute": "a", "op": op, "values": ["ok", value]}, "ok")


def test_the_operator_table_is_what_the_schema_and_its_descriptions_say() -> None:
    clause = flagstaff.SNAPSHOT_SCHEMA["$defs"]["clause"]["properties"]
    assert set(OPERATORS) == set(clause["op"]["enum"])
    assert {name for name, op in OPERATORS.items() if op.on_strings} == set(STRING_OPS)
    parsing = {name for name, op in OPERATORS.items() if op.parses_numbers}
    described = clause["parse_numbers"]["description"].split(":")[0].removeprefix("for ")
    assert parsing == set(described.split(", "))
