"""Inputs at the edges: contexts and data that once crashed, raised, or broke an ordering promise."""

from __future__ import annotations

import json
from typing import Any

import pytest

import flagstaff
from flagstaff import Client, ErrorCode, FlagStore, Reason
from flagstaff.json_values import MAX_JSON_DEPTH
from flagstaff.testing import TestSource

LONE_SURROGATE = json.loads('"\\ud800"')  # valid JSON, not valid Unicode


def _flag(key: str = "f", **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "kind": "boolean",
        "variations": [True, False],
        "enabled": True,
        "version": 1,
        "fallthrough": {"variation": 1},
        **fields,
    }


def _snapshot(
    *flags: dict[str, Any], segments: dict[str, Any] | None = None, revision: int = 1
) -> dict[str, Any]:
    return {
        "format": 1,
        "revision": revision,
        "flags": {f["key"]: f for f in flags},
        "segments": segments or {},
    }


ROLLOUT = {
    "rollout": {"variations": [{"variation": 0, "weight": 50_000}, {"variation": 1, "weight": 50_000}]}
}


def test_a_lone_surrogate_in_the_context_is_not_hashed_it_counts_as_missing() -> None:
    # The hash library crashes the process on such text instead of raising, so it must never reach it.
    client = Client.from_dict(_snapshot(_flag(fallthrough=ROLLOUT)))

    result = client.evaluate("f", {"key": LONE_SURROGATE}, default=True)

    assert (result.value, result.error_code) == (False, ErrorCode.TARGETING_KEY_MISSING)
    assert client.is_enabled("f", {"key": "ok-" + LONE_SURROGATE}) is False


def test_bucket_refuses_text_that_is_not_valid_unicode() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        flagstaff.bucket("salt", LONE_SURROGATE)


def test_a_salt_that_is_not_valid_unicode_is_a_problem() -> None:
    problems = flagstaff.validate_flag(_flag(salt=LONE_SURROGATE, fallthrough=ROLLOUT))
    assert [p.path for p in problems] == ["salt"]


def test_a_prerequisite_on_the_clock_is_evaluated_with_the_clock_on_every_path() -> None:
    clock = _flag(
        "clock",
        rules=[
            {
                "id": "past",
                "clauses": [{"attribute": "now", "op": "after", "values": [0]}],
                "serve": {"variation": 0},
            }
        ],
    )
    child = _flag("child", prerequisites=[{"flag": "clock", "variation": 0}], fallthrough={"variation": 0})
    client = Client.from_dict(_snapshot(clock, child))

    assert client.is_enabled("child", {"key": "u"}) is True
    assert client.evaluate("child", {"key": "u"}).value is True


def test_a_late_upsert_cannot_resurrect_a_flag_deleted_before_a_full_snapshot() -> None:
    store = FlagStore()
    store.replace(_snapshot(_flag("x", version=4), revision=8))
    store.apply("flag", "x", None, 5, 9)
    store.replace(_snapshot(revision=10))

    store.apply("flag", "x", _flag("x", version=4), 4, 8)  # delayed, from before the delete

    assert "x" not in store.snapshot.flags


def test_a_broken_flag_keeps_its_version_against_older_updates() -> None:
    store = FlagStore()
    store.replace(_snapshot(revision=1))
    store.apply("flag", "f", _flag(version=5, fallthrough={"variation": 9}), 5, 2)

    store.apply("flag", "f", _flag(version=3), 3, 2)  # older, same revision

    assert store.snapshot.flags["f"].version == 5
    assert store.snapshot.evaluate("f").error_code is ErrorCode.PARSE_ERROR


def _rule(clause: dict[str, Any]) -> dict[str, Any]:
    return _flag(rules=[{"id": "r", "clauses": [clause], "serve": {"variation": 0}}])


@pytest.mark.parametrize(
    ("clause", "context", "matches"),
    [
        ({"attribute": "a", "op": "in", "values": ["NL", 1, True], "case_insensitive": True}, {"a": 1}, True),
        (
            {"attribute": "a", "op": "in", "values": ["NL", 1, True], "case_insensitive": True},
            {"a": True},
            True,
        ),
        (
            {"attribute": "a", "op": "in", "values": ["NL", 1, True], "case_insensitive": True},
            {"a": "nl"},
            True,
        ),
        ({"attribute": "a", "op": "after", "values": [0]}, {"a": 10**400}, False),
        ({"attribute": "a", "op": "after", "values": [0]}, {"a": -(10**400)}, False),
        ({"attribute": "groups", "op": "segment_match", "values": ["s"]}, {"groups": ["x", "g1"]}, True),
        (
            {"attribute": "groups", "op": "segment_match", "values": ["s"]},
            {"groups": ["x", "blocked"]},
            False,
        ),
    ],
)
def test_operator_edges_follow_the_format_document(
    clause: dict[str, Any], context: Any, matches: bool
) -> None:
    segments = {"s": {"key": "s", "included": ["g1", "blocked"], "excluded": ["blocked"], "version": 1}}
    result = flagstaff.load_snapshot(_snapshot(_rule(clause), segments=segments)).evaluate("f", context)
    assert result.reason is not Reason.ERROR
    assert result.value is matches


@pytest.mark.parametrize(
    ("flag", "path"),
    [
        (_flag(key=""), "key"),
        (_rule({"op": "segment_match", "values": []}), "rules[0].clauses[0].values"),
        (_rule({"attribute": "ip", "op": "in_cidr", "values": [5]}), "rules[0].clauses[0].values[0]"),
    ],
)
def test_the_validator_refuses_what_the_format_document_forbids(flag: dict[str, Any], path: str) -> None:
    assert path in [p.path for p in flagstaff.validate_flag(flag)]


def test_the_test_source_keeps_true_and_1_apart() -> None:
    source = TestSource()
    client = Client(data_source=source)
    source.set("n", 1, for_keys={"u": True})
    assert client.variation("n", {"key": "u"}) is True
    assert client.variation("n", {"key": "v"}) == 1


def _nested(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("flag", "path"),
    [
        (_flag(targets=[{"variation": 0, "values": ["x" + LONE_SURROGATE]}]), "targets[0].values[0]"),
        (_flag(rules=[{"id": LONE_SURROGATE, "clauses": [], "serve": {"variation": 0}}]), "rules[0].id"),
        (_rule({"attribute": "a", "op": "in", "values": [LONE_SURROGATE]}), "rules[0].clauses[0].values[0]"),
        (
            _rule({"attribute": "a", "op": "matches", "values": [LONE_SURROGATE]}),
            "rules[0].clauses[0].values[0]",
        ),
        (_rule({"attribute": LONE_SURROGATE, "op": "exists"}), "rules[0].clauses[0].attribute"),
        (
            _flag(kind="string", variations=["a", LONE_SURROGATE], fallthrough={"variation": 0}),
            "variations[1]",
        ),
        (
            _flag(kind="json", variations=[{LONE_SURROGATE: 1}], fallthrough={"variation": 0}),
            "variations[0].\\ud800",
        ),
    ],
)
def test_text_that_is_not_valid_unicode_is_a_problem_wherever_it_is(flag: dict[str, Any], path: str) -> None:
    problems = flagstaff.validate_flag(flag)
    assert [p.path for p in problems] == [path], problems
    assert "Unicode" in problems[0].message


def test_a_segment_member_that_is_not_valid_unicode_is_a_problem() -> None:
    segment = {"key": "s", "version": 1, "included": ["ok", LONE_SURROGATE]}
    assert [p.path for p in flagstaff.validate_segment(segment)] == ["included[1]"]


def test_json_nested_deeper_than_the_limit_is_a_problem_however_deep() -> None:
    # The flag is level 1, `variations` level 2: a variation may nest MAX_JSON_DEPTH - 2 more levels.
    ok = _flag(kind="json", variations=[_nested(MAX_JSON_DEPTH - 2)], fallthrough={"variation": 0})
    assert flagstaff.validate_flag(ok) == []
    for levels in (MAX_JSON_DEPTH - 1, 300, 100_000):  # far past the recursion limit: reported, not raised
        deep = _flag(kind="json", variations=[_nested(levels)], fallthrough={"variation": 0})
        problems = flagstaff.validate_flag(deep)
        assert [p.path for p in problems] == ["variations[0]" + "[0]" * (MAX_JSON_DEPTH - 2)], levels
        assert f"{MAX_JSON_DEPTH} levels" in problems[0].message


def test_a_flag_with_unstorable_values_still_evaluates_when_loaded() -> None:
    # An SDK serves what an older server stored; only validators (and so servers) refuse it.
    flag = _flag(targets=[{"variation": 0, "values": [LONE_SURROGATE]}])
    client = Client.from_dict(_snapshot(flag))
    assert client.evaluate("f", {"key": LONE_SURROGATE}).value is True
