"""The validator names every problem by its field path: the server turns these into 422 responses."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import flagstaff
from flagstaff import FormatError, limits

GOOD: dict[str, Any] = {
    "key": "checkout",
    "kind": "boolean",
    "variations": [True, False],
    "enabled": True,
    "off_variation": 1,
    "version": 1,
    "rules": [
        {
            "id": "nl",
            "clauses": [{"attribute": "country", "op": "in", "values": ["NL"]}],
            "serve": {"variation": 0},
        }
    ],
    "fallthrough": {
        "rollout": {"variations": [{"variation": 0, "weight": 10_000}, {"variation": 1, "weight": 90_000}]}
    },
}


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    flag = copy.deepcopy(GOOD)
    target: Any = flag
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return flag


def _paths(problems: list[flagstaff.Problem]) -> list[str]:
    return [p.path for p in problems]


def test_a_good_flag_has_no_problems() -> None:
    assert flagstaff.validate_flag(GOOD) == []


@pytest.mark.parametrize(
    ("path", "value", "field", "words"),
    [
        (["off_variation"], 5, "off_variation", "out of range"),
        (["rules", 0, "serve", "variation"], 2, "rules[0].serve.variation", "out of range"),
        (
            ["fallthrough", "rollout", "variations", 1, "weight"],
            80_000,
            "fallthrough.rollout.variations",
            "sum to",
        ),
        (
            ["rules", 0, "clauses", 0],
            {"attribute": "email", "op": "matches", "values": ["(a"]},
            "rules[0].clauses[0].values[0]",
            "regular expression",
        ),
        (
            ["rules", 0, "clauses", 0],
            {"attribute": "email", "op": "matches", "values": [r"(a)\1"]},
            "rules[0].clauses[0].values[0]",
            "regular expression",
        ),
        (["variations", 1], "no", "variations[1]", "boolean"),
        (["kind"], "colour", "kind", "one of"),
        (["rules", 0, "clauses", 0, "op"], "near", "rules[0].clauses[0].op", "unknown operator"),
        (
            ["rules", 0, "clauses", 0],
            {"attribute": "v", "op": "semver_gt", "values": ["x.y"]},
            "rules[0].clauses[0].values",
            "semantic version",
        ),
        (
            ["rules", 0, "clauses", 0],
            {"attribute": "ip", "op": "in_cidr", "values": ["10.0.0.0/33"]},
            "rules[0].clauses[0].values[0]",
            "CIDR",
        ),
        (
            ["rules", 0, "clauses", 0],
            {"attribute": "t", "op": "before", "values": ["2024-01-01T00:00:00"]},
            "rules[0].clauses[0].values",
            "zone",
        ),
        (["enabled"], "yes", "enabled", "boolean"),
        (["colour"], "red", "colour", "unknown field"),
        (["fallthrough"], {"variation": 0, "rollout": {}}, "fallthrough", "exactly one"),
        (["key"], "has space", "key", "letters"),
    ],
)
def test_each_problem_names_its_field(path: list[Any], value: Any, field: str, words: str) -> None:
    problems = flagstaff.validate_flag(_with(path, value))

    assert field in _paths(problems), problems
    assert words in next(p.message for p in problems if p.path == field)


def test_missing_required_fields_are_each_reported() -> None:
    problems = flagstaff.validate_flag({})
    assert {"key", "kind", "variations", "enabled", "fallthrough", "version"} <= set(_paths(problems))


def test_unknown_operators_are_reported_but_do_not_break_loading() -> None:
    flag = _with(["rules", 0, "clauses", 0, "op"], "near")
    problems = flagstaff.validate_flag(flag)
    assert [p.fatal for p in problems] == [False]
    snapshot = flagstaff.load_snapshot(
        {"format": 1, "revision": 1, "flags": {"checkout": flag}, "segments": {}}
    )
    assert snapshot.evaluate("checkout", {"key": "k", "country": "NL"}).reason is not flagstaff.Reason.ERROR


def _snapshot(**flags: dict[str, Any]) -> dict[str, Any]:
    return {"format": 1, "revision": 3, "flags": flags, "segments": {}}


def test_prerequisite_cycles_are_reported_with_the_cycle() -> None:
    a = {**GOOD, "key": "a", "prerequisites": [{"flag": "b", "variation": 0}]}
    b = {**GOOD, "key": "b", "prerequisites": [{"flag": "a", "variation": 0}]}
    problems = flagstaff.validate_snapshot(_snapshot(a=a, b=b))
    assert any("cycle" in p.message and "a -> b -> a" in p.message for p in problems), problems


def test_references_to_unknown_flags_and_segments_are_reported() -> None:
    a = {
        **GOOD,
        "key": "a",
        "prerequisites": [{"flag": "gone", "variation": 0}],
        "rules": [
            {"id": "r", "clauses": [{"op": "segment_match", "values": ["nobody"]}], "serve": {"variation": 0}}
        ],
    }
    paths = _paths(flagstaff.validate_snapshot(_snapshot(a=a)))
    assert "flags.a.prerequisites[0].flag" in paths
    assert "flags.a.rules[0].clauses[0].values[0]" in paths


def test_a_snapshot_key_must_match_the_flag_key() -> None:
    assert "flags.other.key" in _paths(flagstaff.validate_snapshot(_snapshot(other=GOOD)))


def test_an_unknown_format_is_refused_whole() -> None:
    with pytest.raises(FormatError, match="format"):
        flagstaff.load_snapshot({"format": 2, "revision": 1, "flags": {}, "segments": {}})


def test_segments_are_validated() -> None:
    problems = flagstaff.validate_segment(
        {
            "key": "s",
            "version": 1,
            "included": [1],
            "rules": [{"id": "r", "clauses": [{"op": "segment_match", "values": ["s"]}]}],
        }
    )
    assert {"included", "rules[0].clauses[0].op"} <= set(_paths(problems))


def test_the_json_schema_describes_every_flag_field() -> None:
    from flagstaff.flags import FLAG_FIELDS

    assert set(flagstaff.FLAG_SCHEMA["properties"]) == FLAG_FIELDS
    assert flagstaff.SNAPSHOT_SCHEMA["properties"]["format"] == {"const": 1}


def test_the_json_schema_states_the_limits_it_can_express() -> None:
    assert flagstaff.FLAG_SCHEMA["properties"]["variations"]["maxItems"] == limits.MAX_VARIATIONS
    assert flagstaff.FLAG_SCHEMA["properties"]["rules"]["maxItems"] == limits.MAX_RULES
    assert flagstaff.SEGMENT_SCHEMA["properties"]["rules"]["maxItems"] == limits.MAX_RULES


def _rules(count: int, clause: dict[str, Any], clauses_per_rule: int = 1) -> list[dict[str, Any]]:
    return [
        {"id": f"r{i}", "clauses": [clause] * clauses_per_rule, "serve": {"variation": 0}}
        for i in range(count)
    ]


COUNTRY = {"attribute": "country", "op": "in", "values": ["NL"]}


@pytest.mark.parametrize(
    ("rules", "field", "words"),
    [
        (_rules(limits.MAX_RULES + 1, COUNTRY), "rules", f"at most {limits.MAX_RULES} rules"),
        (
            _rules(limits.MAX_CLAUSES // 4 + 1, COUNTRY, clauses_per_rule=4),
            f"rules[{limits.MAX_CLAUSES // 4}].clauses",
            f"at most {limits.MAX_CLAUSES} clauses",
        ),
        (
            _rules(
                2, {"attribute": "id", "op": "in", "values": list(range(limits.MAX_CLAUSE_VALUES // 2 + 1))}
            ),
            "rules[1].clauses[0].values",
            f"at most {limits.MAX_CLAUSE_VALUES} clause values",
        ),
        (
            _rules(limits.MAX_REGEX_PATTERNS + 1, {"attribute": "email", "op": "matches", "values": ["@x$"]}),
            f"rules[{limits.MAX_REGEX_PATTERNS}].clauses[0].values",
            f"at most {limits.MAX_REGEX_PATTERNS} regular expressions",
        ),
    ],
)
def test_a_flag_over_a_format_limit_is_reported_at_the_field_that_crosses_it(
    rules: list[dict[str, Any]], field: str, words: str
) -> None:
    problems = flagstaff.validate_flag(_with(["rules"], rules))

    assert [(p.path, p.fatal) for p in problems] == [(field, False)], problems
    assert words in problems[0].message


def test_a_flag_at_every_limit_has_no_problems() -> None:
    regex = {"attribute": "email", "op": "matches", "values": ["@x$"] * limits.MAX_REGEX_PATTERNS}
    many = {"attribute": "id", "op": "in", "values": list(range(limits.MAX_CLAUSE_VALUES - 50))}
    rules = _rules(limits.MAX_RULES - 1, {"attribute": "country", "op": "exists"}, clauses_per_rule=2)
    rules.append({"id": "last", "clauses": [regex, many], "serve": {"variation": 0}})
    assert sum(len(r["clauses"]) for r in rules) == limits.MAX_CLAUSES
    assert flagstaff.validate_flag(_with(["rules"], rules)) == []


def test_segments_have_the_same_limits() -> None:
    segment = {"key": "s", "version": 1, "rules": [{"id": f"r{i}", "clauses": []} for i in range(501)]}
    assert [p.path for p in flagstaff.validate_segment(segment)] == ["rules"]


def test_a_stored_flag_over_a_limit_still_evaluates() -> None:
    # Limits came after flags: an SDK keeps serving a flag that a server stored before them.
    flag = _with(["rules"], _rules(limits.MAX_RULES + 1, COUNTRY))
    snapshot = flagstaff.load_snapshot(
        {"format": 1, "revision": 1, "flags": {"checkout": flag}, "segments": {}}
    )
    result = snapshot.evaluate("checkout", {"key": "k", "country": "NL"})
    assert (result.reason, result.rule_id) == (flagstaff.Reason.TARGETING_MATCH, "r0")
    assert "flags.checkout.rules" in _paths(
        flagstaff.validate_snapshot({"format": 1, "revision": 1, "flags": {"checkout": flag}, "segments": {}})
    )
