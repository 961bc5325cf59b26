"""References between flags and segments, checked in the raw document: the whole snapshot, or one flag."""

from __future__ import annotations

from typing import Any

import pytest

import flagstaff


def _flag(key: str, *prerequisites: tuple[str, int], segments: tuple[str, ...] = ()) -> dict[str, Any]:
    rules = [
        {"id": f"r{i}", "clauses": [{"op": "segment_match", "values": [s]}], "serve": {"variation": 0}}
        for i, s in enumerate(segments)
    ]
    return {
        "key": key,
        "kind": "boolean",
        "variations": [True, False],
        "enabled": True,
        "version": 1,
        "prerequisites": [{"flag": f, "variation": v} for f, v in prerequisites],
        "rules": rules,
        "fallthrough": {"variation": 1},
    }


def _snapshot(*flags: dict[str, Any], segments: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "format": 1,
        "revision": 1,
        "flags": {f["key"]: f for f in flags},
        "segments": {s: {"key": s, "version": 1} for s in segments},
    }


def _found(problems: list[flagstaff.Problem]) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in problems]


def test_references_from_one_flag_are_checked_and_others_are_not() -> None:
    data = _snapshot(
        _flag("a", ("gone", 0), ("b", 5), segments=("beta", "nobody")),
        _flag("b"),
        _flag("c", ("also-gone", 0), segments=("nobody-either",)),
        segments=("beta",),
    )
    assert _found(flagstaff.validate_references(data, "a")) == [
        ("flags.a.prerequisites[0].flag", "unknown flag 'gone'"),
        ("flags.a.prerequisites[1].variation", "flag 'b' has no variation 5"),
        ("flags.a.rules[1].clauses[0].values[0]", "unknown segment 'nobody'"),
    ]
    assert flagstaff.validate_references(data, "b") == []
    assert len(flagstaff.validate_references(data)) == 5


def test_a_cycle_through_the_flag_is_reported_at_its_prerequisite() -> None:
    data = _snapshot(_flag("a", ("b", 0)), _flag("b", ("c", 0)), _flag("c", ("a", 0)))
    assert _found(flagstaff.validate_references(data, "b")) == [
        ("flags.b.prerequisites[0].flag", "prerequisite cycle: b -> c -> a -> b")
    ]


def test_a_flag_that_is_its_own_prerequisite_is_a_cycle() -> None:
    data = _snapshot(_flag("a", ("a", 0)))
    expected = [("flags.a.prerequisites[0].flag", "prerequisite cycle: a -> a")]
    assert _found(flagstaff.validate_references(data, "a")) == expected
    assert _found(flagstaff.validate_references(data)) == expected


def test_a_cycle_elsewhere_is_not_reported_when_scoped() -> None:
    # "a" leads into the cycle b -> c -> b but is not on it: its change cannot have made that cycle.
    data = _snapshot(_flag("a", ("b", 0)), _flag("b", ("c", 0)), _flag("c", ("b", 0)), _flag("d"))
    assert flagstaff.validate_references(data, "a") == []
    assert flagstaff.validate_references(data, "d") == []
    assert _found(flagstaff.validate_references(data)) == [
        ("flags.c.prerequisites[0].flag", "prerequisite cycle: b -> c -> b")
    ]


def test_every_cycle_through_the_flag_is_found_past_a_dead_end() -> None:
    data = _snapshot(
        _flag("a", ("x", 0), ("b", 0), ("c", 0)),
        _flag("x", ("y", 0)),
        _flag("y"),
        _flag("b", ("a", 0)),
        _flag("c", ("x", 0), ("b", 0)),
    )
    assert _found(flagstaff.validate_references(data, "a")) == [
        ("flags.a.prerequisites[1].flag", "prerequisite cycle: a -> b -> a"),
        ("flags.a.prerequisites[2].flag", "prerequisite cycle: a -> c -> b -> a"),
    ]


def test_a_long_prerequisite_chain_is_checked_without_recursion() -> None:
    n = 5_000
    chain = [_flag(f"f{i}", (f"f{i + 1}", 0)) for i in range(n)] + [_flag(f"f{n}", ("f0", 0))]
    data = _snapshot(*chain)
    assert [p.path for p in flagstaff.validate_references(data, "f0")] == ["flags.f0.prerequisites[0].flag"]
    assert [p.path for p in flagstaff.validate_references(data)] == [f"flags.f{n}.prerequisites[0].flag"]


def test_validate_snapshot_reports_the_same_references() -> None:
    data = _snapshot(_flag("a", ("b", 0), ("ghost", 0), segments=("nobody",)), _flag("b", ("a", 0)))
    assert flagstaff.validate_snapshot(data) == flagstaff.validate_references(data)


def test_an_unknown_flag_key_has_no_references() -> None:
    assert flagstaff.validate_references(_snapshot(_flag("a", ("ghost", 0))), "missing") == []


@pytest.mark.parametrize(
    "data",
    [
        None,
        42,
        "flags",
        [],
        {},
        {"flags": []},
        {"flags": {"a": None}, "segments": 3},
        {"flags": {"a": {"prerequisites": "b"}}},
        {
            "flags": {
                "a": {
                    "prerequisites": [None, 7, {"flag": 3, "variation": 0}, {"flag": "a", "variation": True}]
                }
            }
        },
        {"flags": {"a": {"prerequisites": [{"flag": "b", "variation": -1}]}, "b": {"variations": "xy"}}},
        {"flags": {"a": {"prerequisites": [{"flag": ["b"], "variation": 0}]}}},
        {
            "flags": {
                "a": {"rules": [None, {"clauses": "x"}, {"clauses": [{"op": "segment_match", "values": 7}]}]}
            }
        },
        {"flags": {"a": {"rules": [{"clauses": [{"op": "segment_match", "values": [None, 1, {"x": 1}]}]}]}}},
        {"flags": {1: {"prerequisites": [{"flag": "1", "variation": 0}]}, (2,): {}}},
    ],
)
def test_odd_shapes_never_raise(data: Any) -> None:
    for flag_key in (None, "a", "b"):
        assert isinstance(flagstaff.validate_references(data, flag_key), list)


def test_has_references_tells_whether_a_flag_names_prerequisites_or_segments() -> None:
    plain = {
        "key": "a",
        "rules": [{"id": "r", "clauses": [{"attribute": "c", "op": "in", "values": ["NL"]}]}],
    }
    with_segment = {"key": "a", "rules": [{"id": "r", "clauses": [{"op": "segment_match", "values": ["s"]}]}]}
    with_prerequisite = {"key": "a", "prerequisites": [{"flag": "b", "variation": 0}]}

    assert not flagstaff.has_references(plain)
    assert flagstaff.has_references(with_segment)
    assert flagstaff.has_references(with_prerequisite)
    assert not flagstaff.has_references(["not", "a", "flag"])
