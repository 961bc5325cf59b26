"""A flag's targeting reads as sentences, one per part, in evaluation order, and every value it quotes is a
token of its own (so a page escapes it), never part of the prose."""

from __future__ import annotations

from typing import Any

import pytest

from app.console.sentences import (
    SHOWN_VALUES,
    describe_clause,
    describe_flag,
    describe_rule,
    describe_serve,
    percent,
    plain,
    plain_targeting,
    value_text,
)
from flagstaff.operators import OPERATORS

BOOLEAN = [True, False]


def _flag(**fields: Any) -> dict[str, Any]:
    flag: dict[str, Any] = {
        "key": "new-checkout",
        "kind": "boolean",
        "variations": BOOLEAN,
        "enabled": True,
        "off_variation": 1,
        "targets": [],
        "rules": [],
        "fallthrough": {"variation": 0},
        "prerequisites": [],
        "salt": "new-checkout",
        "version": 1,
    }
    flag.update(fields)
    return flag


def _clause(op: str, values: list[Any], attribute: str | None = "country", **options: Any) -> str:
    clause: dict[str, Any] = {"op": op, "values": values, **options}
    if attribute is not None:
        clause["attribute"] = attribute
    return plain(describe_clause(clause))


def test_the_documented_example_reads_as_the_issue_words_it() -> None:
    flag = _flag(
        targets=[{"variation": 0, "values": ["user-1", "user-2"]}],
        rules=[
            {
                "id": "dutch-beta",
                "clauses": [
                    {"attribute": "country", "op": "in", "values": ["NL", "BE"]},
                    {"op": "segment_match", "values": ["beta-testers"]},
                ],
                "serve": {"variation": 0},
            }
        ],
        fallthrough={
            "rollout": {
                "algorithm": "mmh3-v1",
                "bucket_by": "key",
                "variations": [{"variation": 0, "weight": 10000}, {"variation": 1, "weight": 90000}],
            }
        },
    )

    assert plain_targeting(describe_flag(flag)) == [
        "The flag is on.",
        "Users user-1, user-2 get true",
        "If country is one of NL, BE and the user is in segment beta-testers, serve true",
        "Everyone else: true for 10%, false for 90%",
    ]


@pytest.mark.parametrize(
    ("op", "values", "expected"),
    [
        ("in", ["NL"], "country is NL"),
        ("in", ["NL", "BE"], "country is one of NL, BE"),
        ("starts_with", ["N"], "country starts with N"),
        ("ends_with", ["L", "E"], "country ends with one of L, E"),
        ("contains", ["ether"], "country contains ether"),
        ("matches", ["^N.$"], "country matches the pattern ^N.$"),
        ("matches", ["^N", "^B"], "country matches one of the patterns ^N, ^B"),
        ("lt", [18], "country is less than 18"),
        ("lte", [18], "country is at most 18"),
        ("gt", [18.5], "country is more than 18.5"),
        ("gte", [18, 21], "country is at least one of 18, 21"),
        ("before", ["2025-01-01T00:00:00Z"], "country is before 2025-01-01T00:00:00Z"),
        ("after", [1735689600], "country is after 1735689600"),
        ("semver_eq", ["1.2.3"], "country is version 1.2.3"),
        ("semver_lt", ["2.0.0"], "country is a version before 2.0.0"),
        ("semver_lte", ["2.0.0"], "country is version 2.0.0 or earlier"),
        ("semver_gt", ["2.0.0"], "country is a version after 2.0.0"),
        ("semver_gte", ["2.0.0"], "country is version 2.0.0 or later"),
        ("semver_gte", ["2.0.0", "1.9.4"], "country is a version from one of 2.0.0, 1.9.4"),
        ("in_cidr", ["10.0.0.0/8"], "country is in the network 10.0.0.0/8"),
        (
            "in_cidr",
            ["10.0.0.0/8", "2001:db8::/32"],
            "country is in one of the networks 10.0.0.0/8, 2001:db8::/32",
        ),
        ("exists", [], "country is set"),
        ("segment_match", ["beta"], "country is in segment beta"),
    ],
)
def test_each_operator_reads_as_a_condition(op: str, values: list[Any], expected: str) -> None:
    assert _clause(op, values) == expected


@pytest.mark.parametrize(
    ("op", "values", "expected"),
    [
        ("in", ["NL"], "country is not NL"),
        ("in", ["NL", "BE"], "country is not one of NL, BE"),
        ("starts_with", ["N"], "country does not start with N"),
        ("ends_with", ["L"], "country does not end with L"),
        ("contains", ["e"], "country does not contain e"),
        ("matches", ["^N"], "country does not match the pattern ^N"),
        ("lt", [3], "country is not less than 3"),
        ("semver_gte", ["2.0.0"], "country is not version 2.0.0 or later"),
        ("in_cidr", ["10.0.0.0/8"], "country is not in the network 10.0.0.0/8"),
        ("exists", [], "country is not set"),
        ("segment_match", ["beta"], "country is not in segment beta"),
    ],
)
def test_a_negated_condition_says_not(op: str, values: list[Any], expected: str) -> None:
    assert _clause(op, values, negate=True) == expected


def test_every_operator_of_the_engine_has_its_own_words() -> None:
    sentences = {op: _clause(op, ["x"]) for op in OPERATORS}

    assert all("does not know" not in sentence for sentence in sentences.values()), sentences
    assert len(set(sentences.values())) == len(OPERATORS)


def test_segment_membership_of_the_key_speaks_of_the_user() -> None:
    assert _clause("segment_match", ["a", "b"], attribute=None) == "the user is in one of the segments a, b"
    assert _clause("segment_match", ["a"], attribute="key", negate=True) == "the user is not in segment a"


def test_the_now_attribute_is_the_current_time() -> None:
    assert _clause("after", ["2030-01-01T00:00:00Z"], attribute="now") == (
        "the current time is after 2030-01-01T00:00:00Z"
    )


def test_clause_options_are_spelled_out() -> None:
    assert _clause("in", ["nl"], case_insensitive=True) == "country is nl (ignoring case)"
    assert (
        _clause("gt", [18], attribute="age", parse_numbers=True)
        == "age is more than 18 (text read as a number)"
    )
    assert _clause("in", ["NL"], negate=True, match_missing=True) == "country is not NL or is not set"


def test_an_operator_unknown_to_this_console_still_reads_with_its_name() -> None:
    assert _clause("near", ["Amsterdam"]) == "country near Amsterdam (an operator this console does not know)"


def test_a_long_value_list_is_abbreviated_with_the_count_left_out() -> None:
    keys = [f"user-{i}" for i in range(5_000 + SHOWN_VALUES - 5)]
    sentence = describe_clause({"attribute": "key", "op": "in", "values": keys})

    assert plain(sentence).endswith(", user-9 and 4,995 more")
    assert sum(token.kind == "value" for token in sentence) == SHOWN_VALUES
    assert [token.text for token in sentence if token.kind == "more"] == [" and 4,995 more"]


def test_values_are_tokens_apart_from_the_prose_so_a_page_escapes_them() -> None:
    sentence = describe_clause({"attribute": "<b>", "op": "in", "values": ["<script>alert(1)</script>"]})

    kinds = {token.text: token.kind for token in sentence}
    assert kinds["<b>"] == "attribute"
    assert kinds["<script>alert(1)</script>"] == "value"
    assert all("<" not in token.text for token in sentence if token.kind == "word")


def test_coverage_limits_a_rule_to_a_share_of_what_it_matches() -> None:
    rule = {
        "id": "r",
        "clauses": [{"attribute": "plan", "op": "in", "values": ["pro"]}],
        "coverage": {"weight": 25000},
        "serve": {"variation": 0},
    }
    assert plain(describe_rule(rule, BOOLEAN)) == "If plan is pro, for 25% of them, serve true"

    everyone = {
        "id": "r",
        "clauses": [],
        "coverage": {"weight": 12500, "bucket_by": "org"},
        "serve": {"variation": 1},
    }
    assert plain(describe_rule(everyone, BOOLEAN)) == "For 12.5% (by org) of everyone, serve false"


def test_a_rule_without_conditions_is_for_everyone() -> None:
    assert plain(describe_rule({"id": "all", "clauses": [], "serve": {"variation": 1}}, BOOLEAN)) == (
        "For everyone, serve false"
    )


def test_a_rule_may_serve_a_rollout() -> None:
    rule = {
        "id": "r",
        "clauses": [{"attribute": "beta", "op": "exists", "values": []}],
        "serve": {
            "rollout": {"variations": [{"variation": 0, "weight": 33333}, {"variation": 1, "weight": 66667}]}
        },
    }
    assert plain(describe_rule(rule, BOOLEAN)) == "If beta is set, serve true for 33.333%, false for 66.667%"


@pytest.mark.parametrize(
    ("weight", "expected"),
    [(0, "0%"), (1, "0.001%"), (10000, "10%"), (12500, "12.5%"), (33333, "33.333%"), (100000, "100%")],
)
def test_weights_read_as_percentages(weight: int, expected: str) -> None:
    assert percent(weight) == expected


def test_a_rollout_split_otherwise_than_by_key_says_how() -> None:
    serve = {
        "rollout": {
            "algorithm": "unleash",
            "bucket_by": "org",
            "variations": [{"variation": 0, "weight": 50000}, {"variation": 1, "weight": 50000}],
        }
    }
    assert plain(describe_serve(serve, BOOLEAN)) == "true for 50%, false for 50% (by org, unleash hashing)"


def test_without_targeting_the_fallthrough_is_for_everyone() -> None:
    assert plain_targeting(describe_flag(_flag())) == ["The flag is on.", "Everyone: true"]


def test_a_disabled_flag_says_what_everyone_gets_instead() -> None:
    text = describe_flag(_flag(enabled=False))
    assert not text.enabled
    assert plain(text.state) == "The flag is off: everyone gets false."

    default = describe_flag(_flag(enabled=False, off_variation=None))
    assert plain(default.state) == "The flag is off: everyone gets the caller's default value."


def test_a_single_target_is_one_user() -> None:
    text = describe_flag(_flag(targets=[{"variation": 1, "values": ["user-9"]}]))
    assert [plain(s) for s in text.targets] == ["User user-9 gets false"]


def test_prerequisites_name_the_variation_of_the_other_flag_when_it_is_known() -> None:
    flag = _flag(prerequisites=[{"flag": "payments", "variation": 1}])

    known = describe_flag(flag, {"payments": {"variations": ["old", "new"]}})
    unknown = describe_flag(flag)

    assert [plain(s) for s in known.prerequisites] == [
        "Only if flag payments serves new; otherwise everyone gets false"
    ]
    assert [plain(s) for s in unknown.prerequisites] == [
        "Only if flag payments serves variation #1; otherwise everyone gets false"
    ]


def test_segments_used_are_listed_once_in_order_of_appearance() -> None:
    flag = _flag(
        rules=[
            {
                "id": "a",
                "clauses": [{"op": "segment_match", "values": ["staff", "beta"]}],
                "serve": {"variation": 0},
            },
            {"id": "b", "clauses": [{"op": "segment_match", "values": ["beta"]}], "serve": {"variation": 0}},
            {
                "id": "c",
                "clauses": [{"op": "segment_match", "values": ["vip"], "negate": True}],
                "serve": {"variation": 1},
            },
        ]
    )
    assert describe_flag(flag).segments == ("staff", "beta", "vip")


def test_rules_keep_their_ids_and_order() -> None:
    flag = _flag(
        rules=[
            {"id": "second", "clauses": [], "serve": {"variation": 1}},
            {"id": "first", "clauses": [], "serve": {"variation": 0}},
        ]
    )
    assert [rule.id for rule in describe_flag(flag).rules] == ["second", "first"]


def test_variations_of_every_kind_read_as_values() -> None:
    assert value_text("blue") == "blue"
    assert value_text("") == '""'
    assert value_text(" padded ") == '" padded "'
    assert value_text(3.5) == "3.5"
    assert value_text(None) == "null"
    assert value_text({"theme": "dark", "items": [1, 2]}) == '{"theme": "dark", "items": [1, 2]}'
    long = value_text({"text": "x" * 500})
    assert len(long) == 80 and long.endswith("…")


def test_a_variation_index_outside_the_flag_reads_as_its_number() -> None:
    assert plain(describe_serve({"variation": 7}, BOOLEAN)) == "variation #7"


@pytest.mark.parametrize(
    "odd",
    [
        {},
        {"rules": "nope", "targets": [None, 3], "fallthrough": [], "variations": None},
        {
            "rules": [{"clauses": [None, {"op": 5}]}],
            "fallthrough": {"rollout": {"variations": [{"weight": "x"}]}},
        },
    ],
)
def test_an_odd_document_is_described_without_raising(odd: dict[str, Any]) -> None:
    assert plain_targeting(describe_flag(odd))
