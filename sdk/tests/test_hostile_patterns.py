"""A hostile regular expression in a flag cannot hang an evaluation (no catastrophic backtracking)."""

from __future__ import annotations

import flagstaff
from flagstaff.operators import MAX_STRING_ATTRIBUTE_LENGTH


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

    # With a backtracking engine this input takes longer than the age of the universe. It is as long as an
    # examined attribute may be: a longer one is not searched at all.
    longest = MAX_STRING_ATTRIBUTE_LENGTH
    result = snapshot.evaluate("f", {"key": "u", "email": "a" * (longest - 1) + "!"})

    assert result.value is False
    assert result.reason is flagstaff.Reason.DEFAULT
    assert snapshot.evaluate("f", {"key": "u", "email": "a" * longest}).value is True
