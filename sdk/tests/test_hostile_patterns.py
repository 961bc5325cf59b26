"""A hostile regular expression in a flag cannot hang an evaluation (no catastrophic backtracking)."""

from __future__ import annotations

import flagstaff


def test_classic_redos_pattern_against_a_long_input_completes() -> None:
    flag = {
        "key": "f",
        "kind": "boolean",
        "variations": [True, False],
        "enabled": True,
        "version": 1,
        "rules": [
            {
                "id": "evil",
                "clauses": [{"attribute": "email", "op": "matches", "values": ["^(a+)+$"]}],
                "serve": {"variation": 0},
            }
        ],
        "fallthrough": {"variation": 1},
    }
    snapshot = flagstaff.load_snapshot({"format": 1, "revision": 1, "flags": {"f": flag}, "segments": {}})

    # With a backtracking engine this input takes longer than the age of the universe.
    result = snapshot.evaluate("f", {"key": "u", "email": "a" * 50_000 + "!"})

    assert result.value is False
    assert result.reason is flagstaff.Reason.DEFAULT
    assert snapshot.evaluate("f", {"key": "u", "email": "a" * 50_000}).value is True
