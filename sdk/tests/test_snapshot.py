"""Snapshots: immutable once built, so an update never changes what an older snapshot or its flags answer."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from flagstaff import Client, FlagStore, load_snapshot
from flagstaff.flags import Flag
from flagstaff.segments import Segment

CLOCK_RULE = {"id": "live", "clauses": [{"attribute": "now", "op": "after", "values": [0]}]}


def _member_flag(key: str = "f") -> dict[str, Any]:
    return {
        "key": key,
        "kind": "boolean",
        "variations": [True, False],
        "enabled": True,
        "version": 1,
        "rules": [
            {
                "id": "members",
                "clauses": [{"attribute": "key", "op": "segment_match", "values": ["beta"]}],
                "serve": {"variation": 0},
            }
        ],
        "fallthrough": {"variation": 1},
    }


def _segment(version: int, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"key": "beta", "version": version, "included": [], "excluded": [], "rules": rules}


def _document(flags: dict[str, Any], segments: dict[str, Any]) -> dict[str, Any]:
    return {"format": 1, "revision": 1, "flags": flags, "segments": segments}


def test_a_segment_rule_on_the_clock_gives_the_clock_to_flags_testing_membership() -> None:
    client = Client.from_dict(_document({"f": _member_flag()}, {"beta": _segment(1, [CLOCK_RULE])}))

    assert client.is_enabled("f", {"key": "u"}) is True
    assert client.variation("f", {"key": "u"}, False) is True
    assert client.evaluate("f", {"key": "u"}).rule_id == "members"


def test_a_segment_change_leaves_the_flags_of_older_snapshots_untouched() -> None:
    store = FlagStore()
    store.replace(_document({"f": _member_flag()}, {"beta": _segment(1, [])}))
    older = store.snapshot
    flag = older.flags["f"]

    store.apply("segment", "beta", _segment(2, [CLOCK_RULE]), 2, 2)

    assert older.flags["f"] is flag and flag.uses_now is False
    assert store.snapshot.flags["f"].uses_now is True
    assert store.snapshot.evaluate("f", {"key": "u"}, now=1.0).value is True
    assert older.evaluate("f", {"key": "u"}, now=1.0).value is False


def test_a_segment_change_removing_the_clock_takes_it_away_again() -> None:
    store = FlagStore()
    store.replace(_document({"f": _member_flag()}, {"beta": _segment(1, [CLOCK_RULE])}))

    store.apply("segment", "beta", _segment(2, []), 2, 2)

    assert store.snapshot.flags["f"].uses_now is False


def test_engine_models_are_frozen_and_built_by_keyword() -> None:
    snapshot = load_snapshot(_document({"f": _member_flag()}, {"beta": _segment(1, [])}))
    for model, instance in ((Flag, snapshot.flags["f"]), (Segment, snapshot.segments["beta"])):
        with pytest.raises(TypeError):
            model("f", "boolean", 1)
        with pytest.raises(dataclasses.FrozenInstanceError):
            instance.version = 9  # type: ignore[misc]
