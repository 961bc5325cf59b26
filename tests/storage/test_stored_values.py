"""Reading back what an older version stored: a lone surrogate becomes U+FFFD, a value nested too deeply is
cut, and everything else reads exactly as `json.loads` would."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.storage.stored_values import CUT, MAX_READ_DEPTH, readable_json
from flagstaff.json_values import unstorable


def _nested(levels: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value",
    [
        {"rules": [{"id": "r", "clauses": [{"attribute": "a", "op": "in", "values": ["NL", 1, True]}]}]},
        ["caf\u00e9", "\U0001f600", {"\u65e5\u672c": "\u8a9e"}],  # stored as \\u escapes and surrogate pairs
        ["\\ud800 is text here: a backslash, then ud800"],
        _nested(MAX_READ_DEPTH),
        None,
        "text",
    ],
)
def test_values_that_can_be_sent_back_read_exactly_as_stored(value: Any) -> None:
    assert readable_json(json.dumps(value)) == value
    assert readable_json(json.dumps(value).encode()) == value  # PostgreSQL's driver hands over bytes


def test_a_lone_surrogate_reads_back_as_the_replacement_character() -> None:
    stored = json.dumps({"values": ["x\ud800y", "\udfff"], "\ud83d": "\U0001f600"})
    assert readable_json(stored) == {"values": ["x\ufffdy", "\ufffd"], "\ufffd": "\U0001f600"}


@pytest.mark.parametrize("levels", [MAX_READ_DEPTH + 1, 300, 900])
def test_a_value_nested_too_deeply_reads_back_cut_at_the_read_depth(levels: int) -> None:
    read = readable_json(json.dumps({"after": _nested(levels)}))
    assert read == {"after": _nested(MAX_READ_DEPTH - 1, CUT)}
    assert unstorable(read, "", MAX_READ_DEPTH) is None
