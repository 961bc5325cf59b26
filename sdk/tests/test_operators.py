"""The string operators: one case-insensitive rule for all five."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flagstaff

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
