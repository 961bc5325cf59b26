"""The Unleash importer: valid snapshots, users kept in their rollouts and variants, and an honest report."""

from __future__ import annotations

from typing import Any

import mmh3
import pytest

import flagstaff
from flagstaff.unleash import import_unleash, to_flagstaff_context
from flagstaff.unleash.delta import UnleashDelta


def _feature(name: str, strategies: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"name": name, "enabled": True, "strategies": strategies, **extra}


def _snapshot(*features: dict[str, Any], segments: list[Any] | None = None) -> flagstaff.Snapshot:
    result = import_unleash({"version": 2, "features": list(features), "segments": segments or []})
    assert flagstaff.validate_snapshot(result.snapshot) == []
    return flagstaff.load_snapshot(result.snapshot)


def _unleash_strategy_value(group: str, user: str) -> int:
    return int(mmh3.hash(f"{group}:{user}", 0, signed=False)) % 100 + 1


def _unleash_variant(group: str, user: str, weights: list[int]) -> int:
    target = int(mmh3.hash(f"{group}:{user}", 86028157, signed=False)) % sum(weights) + 1
    cumulative = 0
    for index, weight in enumerate(weights):
        cumulative += weight
        if cumulative >= target:
            return index
    raise AssertionError("weights must be positive")


@pytest.mark.parametrize("percentage", ["1", "37", "50", "99", "33.7"])
def test_a_rollout_enables_exactly_the_users_unleash_enables(percentage: str) -> None:
    strategy = {
        "name": "flexibleRollout",
        "parameters": {"rollout": percentage, "stickiness": "userId", "groupId": "checkout"},
    }
    snapshot = _snapshot(_feature("checkout", [strategy]))
    for n in range(2000):
        user = f"user-{n}"
        expected = _unleash_strategy_value("checkout", user) <= float(percentage)
        assert snapshot.evaluate("checkout", {"userId": user}).value is expected, user


@pytest.mark.parametrize("weights", [[1, 1], [33, 33, 33], [200, 300, 500], [1, 0, 999]])
def test_variants_go_to_the_users_unleash_gives_them(weights: list[int]) -> None:
    variants = [{"name": f"v{i}", "weight": w} for i, w in enumerate(weights)]
    snapshot = _snapshot(_feature("colours", [{"name": "default"}], variants=variants))
    for n in range(2000):
        user = str(n)
        value = snapshot.evaluate("colours", to_flagstaff_context({"userId": user})).value
        assert value["name"] == f"v{_unleash_variant('colours', user, weights)}", user


def test_overrides_of_variants_with_the_same_name_import_as_distinct_rules() -> None:
    variants = [
        {"name": "blue", "weight": 50, "overrides": [{"contextName": "userId", "values": ["a"]}]},
        {
            "name": "blue",
            "weight": 50,
            "payload": {"type": "string", "value": "x"},
            "overrides": [{"contextName": "userId", "values": ["b"]}],
        },
    ]
    snapshot = _snapshot(_feature("f", [{"name": "default"}], variants=variants))
    assert snapshot.evaluate("f", {"userId": "b"}).value["payload"] == {"type": "string", "value": "x"}


def test_a_miss_in_one_strategy_falls_through_to_the_next() -> None:
    strategies = [
        {"name": "flexibleRollout", "parameters": {"rollout": "1", "stickiness": "userId", "groupId": "g"}},
        {"name": "userWithId", "parameters": {"userIds": "a, b"}},
    ]
    snapshot = _snapshot(_feature("f", strategies))
    outside = next(f"u{n}" for n in range(100) if _unleash_strategy_value("g", f"u{n}") > 1)
    assert snapshot.evaluate("f", {"userId": outside}).value is False
    assert snapshot.evaluate("f", {"userId": "b"}).value is True


def test_a_negated_constraint_matches_a_context_without_the_field() -> None:
    constraint = {"contextName": "country", "operator": "IN", "values": ["NL"], "inverted": True}
    snapshot = _snapshot(_feature("f", [{"name": "default", "constraints": [constraint]}]))
    assert snapshot.evaluate("f", {}).value is True
    assert snapshot.evaluate("f", {"country": "NL"}).value is False


def test_segments_are_inlined_into_the_strategies_that_use_them() -> None:
    segment = {"id": 7, "constraints": [{"contextName": "appName", "operator": "IN", "values": ["web"]}]}
    snapshot = _snapshot(_feature("f", [{"name": "default", "segments": [7]}]), segments=[segment])
    assert snapshot.evaluate("f", {"appName": "web"}).value is True
    assert snapshot.evaluate("f", {"appName": "ios"}).value is False


def test_a_custom_strategy_is_reported_and_enables_no_one() -> None:
    result = import_unleash({"features": [_feature("f", [{"name": "myCustomStrategy"}])]})
    snapshot = flagstaff.load_snapshot(result.snapshot)
    assert snapshot.evaluate("f", {"userId": "1"}).value is False
    assert [(p.flag, "custom or unknown strategy" in p.why) for p in result.problems] == [("f", True)]


def test_a_name_that_is_not_a_flag_key_is_renamed_and_reported() -> None:
    result = import_unleash({"features": [_feature("launch 🚀", [{"name": "default"}])]})
    key = result.keys["launch 🚀"]
    assert key in result.snapshot["flags"]
    assert flagstaff.validate_snapshot(result.snapshot) == []
    assert result.problems[0].what == "name"


def test_a_dependency_on_any_of_several_variants_is_reported_and_imported_switched_off() -> None:
    parent = _feature(
        "parent", [{"name": "default"}], variants=[{"name": "a", "weight": 1}, {"name": "b", "weight": 1}]
    )
    child = _feature("child", [{"name": "default"}], dependencies=[{"feature": "parent"}])
    result = import_unleash({"features": [parent, child]})
    assert result.snapshot["flags"]["child"]["enabled"] is False
    assert [p.flag for p in result.problems if p.what.startswith("dependency")] == ["child"]


def test_every_unleash_context_field_has_a_documented_attribute() -> None:
    context = {
        "userId": "u1",
        "sessionId": "s1",
        "remoteAddress": "10.0.0.1",
        "environment": "prod",
        "appName": "web",
        "currentTime": "2024-05-01T10:00:00Z",
        "properties": {"plan": "pro", "userId": "ignored", "gone": None},
    }
    assert to_flagstaff_context(context, hostname="web-1") == {
        "key": "u1",
        "userId": "u1",
        "sessionId": "s1",
        "remoteAddress": "10.0.0.1",
        "environment": "prod",
        "appName": "web",
        "now": "2024-05-01T10:00:00Z",
        "plan": "pro",
        "hostname": "web-1",
    }
    assert to_flagstaff_context({"sessionId": "s1", "userId": ""})["key"] == "s1"


def test_delta_events_update_and_remove_flags_through_the_store() -> None:
    store = flagstaff.FlagStore()
    delta = UnleashDelta(store)
    delta.apply({"eventId": 1, "type": "hydration", "features": [_feature("a", [{"name": "default"}])]})
    delta.apply({"eventId": 2, "type": "feature-updated", "feature": {**_feature("a", []), "enabled": False}})
    assert store.snapshot.evaluate("a").value is False
    delta.apply({"eventId": 3, "type": "feature-removed", "featureName": "a"})
    assert store.snapshot.evaluate("a").error_code is flagstaff.ErrorCode.FLAG_NOT_FOUND
    # A late upsert older than the removal cannot bring the flag back.
    late = {
        "key": "a",
        "kind": "boolean",
        "variations": [True],
        "enabled": True,
        "fallthrough": {"variation": 0},
    }
    store.apply("flag", "a", {**late, "version": 2}, 2, 3)
    assert "a" not in store.snapshot.flags
