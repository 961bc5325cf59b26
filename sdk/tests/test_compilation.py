"""Compiling a snapshot: shared work is shared, and sharing never mixes up clauses that only look alike."""

from __future__ import annotations

from typing import Any

import flagstaff


def _flag(key: str, clause: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": key,
        "kind": "boolean",
        "variations": [True, False],
        "enabled": True,
        "version": 1,
        "rules": [{"id": "r", "clauses": [clause], "serve": {"variation": 0}}],
        "fallthrough": {"variation": 1},
    }


def test_identical_clauses_in_different_flags_share_one_matcher() -> None:
    clause = {"attribute": "country", "op": "in", "values": ["NL", "BE"]}
    snapshot = flagstaff.load_snapshot(
        {
            "format": 1,
            "revision": 1,
            "segments": {},
            "flags": {"a": _flag("a", clause), "b": _flag("b", dict(clause))},
        }
    )
    ((a_rule, _),) = snapshot.flags["a"].rules
    ((b_rule, _),) = snapshot.flags["b"].rules
    assert a_rule is b_rule  # a one-clause rule is its clause's matcher


def test_clauses_equal_in_python_but_not_in_a_flag_are_kept_apart() -> None:
    flags = {
        "one": _flag("one", {"attribute": "n", "op": "in", "values": [1]}),
        "true": _flag("true", {"attribute": "n", "op": "in", "values": [True]}),
        "nocase": _flag("nocase", {"attribute": "n", "op": "in", "values": ["a"], "case_insensitive": True}),
        "case": _flag("case", {"attribute": "n", "op": "in", "values": ["a"]}),
    }
    snapshot = flagstaff.load_snapshot({"format": 1, "revision": 1, "segments": {}, "flags": flags})

    assert snapshot.evaluate("one", {"n": 1}).value is True
    assert snapshot.evaluate("true", {"n": 1}).value is False
    assert snapshot.evaluate("true", {"n": True}).value is True
    assert snapshot.evaluate("nocase", {"n": "A"}).value is True
    assert snapshot.evaluate("case", {"n": "A"}).value is False


def test_a_clause_with_a_problem_is_reported_every_time_it_appears() -> None:
    bad = {"attribute": "v", "op": "semver_gt", "values": ["not-a-version"]}
    problems = flagstaff.validate_snapshot(
        {
            "format": 1,
            "revision": 1,
            "segments": {},
            "flags": {"a": _flag("a", bad), "b": _flag("b", dict(bad))},
        }
    )
    assert {p.path for p in problems} == {
        "flags.a.rules[0].clauses[0].values",
        "flags.b.rules[0].clauses[0].values",
    }


def test_identical_results_in_different_flags_share_one_evaluation() -> None:
    clause = {"attribute": "country", "op": "in", "values": ["NL"]}
    snapshot = flagstaff.load_snapshot(
        {
            "format": 1,
            "revision": 1,
            "segments": {},
            "flags": {"a": _flag("a", clause), "b": _flag("b", clause)},
        }
    )
    a, b = snapshot.evaluate("a", {"country": "NL"}), snapshot.evaluate("b", {"country": "NL"})
    assert a is b and a.value is True and a.rule_id == "r"


def test_results_equal_in_python_but_not_in_a_flag_are_kept_apart() -> None:
    values: list[Any] = [1, 1.0, True, 0.0, -0.0, "1", {"a": 1}]
    flags = {
        f"v{i}": {
            "key": f"v{i}",
            "kind": "json",
            "variations": [value],
            "enabled": True,
            "version": 1,
            "fallthrough": {"variation": 0},
        }
        for i, value in enumerate(values)
    }
    snapshot = flagstaff.load_snapshot({"format": 1, "revision": 1, "segments": {}, "flags": flags})

    served = [snapshot.evaluate(f"v{i}").value for i in range(len(values))]
    assert [(type(v), repr(v)) for v in served] == [(type(v), repr(v)) for v in values]
