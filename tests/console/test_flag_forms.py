"""The flag page's forms become targeting changes the SDK's validator accepts; text that cannot be read is
refused at its own field, and a field path in the service's refusal is shown at the form field it is about."""

from __future__ import annotations

import json
from typing import Any

import pytest

import flagstaff
from app.console.flag_forms import (
    JSON_FIELDS,
    FormError,
    add_rule_change,
    field_for,
    json_change,
    json_text,
    move_rule_change,
    remove_rule_change,
    rollout_change,
    split_values,
    targets_change,
    weight,
)


def _flag(**fields: Any) -> dict[str, Any]:
    flag: dict[str, Any] = {
        "key": "checkout",
        "kind": "string",
        "variations": ["red", "green", "blue"],
        "enabled": True,
        "off_variation": 0,
        "targets": [],
        "rules": [],
        "fallthrough": {"variation": 0},
        "prerequisites": [],
        "salt": "checkout",
        "version": 3,
    }
    flag.update(fields)
    return flag


def _problems(flag: dict[str, Any], changes: dict[str, Any]) -> list[str]:
    return [f"{p.path}: {p.message}" for p in flagstaff.validate_flag({**flag, **changes})]


def _refused(field: str) -> pytest.RaisesExc[FormError]:
    return pytest.raises(FormError, check=lambda e: e.field == field)


def test_target_keys_are_added_to_a_variation() -> None:
    flag = _flag(targets=[{"variation": 1, "values": ["ann"]}])

    changes = targets_change(flag, "add", "1", "bob, cy")
    assert changes == {"targets": [{"variation": 1, "values": ["ann", "bob", "cy"]}]}
    assert targets_change(flag, "add", "2", "dee\neve\n") == {
        "targets": [{"variation": 1, "values": ["ann"]}, {"variation": 2, "values": ["dee", "eve"]}]
    }
    assert _problems(flag, changes) == []


def test_a_key_added_to_another_variation_moves_there() -> None:
    flag = _flag(targets=[{"variation": 1, "values": ["ann", "bob"]}])

    changes = targets_change(flag, "add", "2", "bob")
    assert changes == {"targets": [{"variation": 1, "values": ["ann"]}, {"variation": 2, "values": ["bob"]}]}
    assert _problems(flag, changes) == []


def test_target_keys_are_removed_and_an_emptied_target_goes() -> None:
    flag = _flag(targets=[{"variation": 1, "values": ["ann"]}, {"variation": 2, "values": ["bob", "cy"]}])

    assert targets_change(flag, "remove", "", "ann, cy") == {"targets": [{"variation": 2, "values": ["bob"]}]}


def test_target_forms_refuse_what_they_cannot_do_at_the_field() -> None:
    flag = _flag(targets=[{"variation": 1, "values": ["ann"]}])
    with _refused("keys"):
        targets_change(flag, "add", "1", " , ")
    with _refused("keys"):
        targets_change(flag, "remove", "", "zed")
    with _refused("variation"):
        targets_change(flag, "add", "3", "bob")
    with _refused("variation"):
        targets_change(flag, "add", "-1", "bob")
    with _refused("action"):
        targets_change(flag, "swap", "1", "bob")


def test_a_rollout_is_read_from_percentages() -> None:
    changes = rollout_change(_flag(), {"weight-0": "12.5", "weight-1": "80%", "weight-2": "7.5"})

    assert changes == {
        "fallthrough": {
            "rollout": {
                "variations": [
                    {"variation": 0, "weight": 12500},
                    {"variation": 1, "weight": 80000},
                    {"variation": 2, "weight": 7500},
                ]
            }
        }
    }
    assert _problems(_flag(), changes) == []


def test_a_rollout_edit_keeps_how_contexts_are_split() -> None:
    current = {
        "rollout": {"bucket_by": "org", "salt": "s1", "variations": [{"variation": 0, "weight": 100000}]}
    }

    changes = rollout_change(
        _flag(fallthrough=current), {"weight-0": "50", "weight-1": "50", "weight-2": "0"}
    )

    rollout = changes["fallthrough"]["rollout"]
    assert (rollout["bucket_by"], rollout["salt"]) == ("org", "s1")
    assert [entry["weight"] for entry in rollout["variations"]] == [50000, 50000, 0]


def test_percentages_that_do_not_add_up_are_left_for_the_service_to_refuse() -> None:
    changes = rollout_change(_flag(), {"weight-0": "50", "weight-1": "40"})

    assert _problems(_flag(), changes) == [
        "fallthrough.rollout.variations: weights must sum to 100000 (100%), not 90000"
    ]


@pytest.mark.parametrize("text", ["abc", "-5", "100.5", "1.2345", "1e2", "NaN", "\uff150"])
def test_a_percentage_that_is_not_one_is_refused_at_its_field(text: str) -> None:
    with _refused("weight-1"):
        rollout_change(_flag(), {"weight-0": "50", "weight-1": text, "weight-2": "0"})


@pytest.mark.parametrize(("text", "expected"), [("", 0), ("0", 0), ("100", 100000), (" 0.001 %", 1)])
def test_percentages_in_thousandths(text: str, expected: int) -> None:
    assert weight(text, "w") == expected


def test_the_fallthrough_may_serve_one_variation() -> None:
    assert rollout_change(_flag(), {"mode": "variation", "serve": "2"}) == {"fallthrough": {"variation": 2}}
    with _refused("serve"):
        rollout_change(_flag(), {"mode": "variation", "serve": "x"})


def test_a_simple_rule_is_added_after_the_others() -> None:
    flag = _flag(rules=[{"id": "rule-2", "clauses": [], "serve": {"variation": 1}}])
    form = {"attribute": "country", "op": "in", "values": "NL, BE", "serve": "2", "case_insensitive": "on"}

    changes = add_rule_change(flag, form)

    assert changes["rules"][0] == flag["rules"][0]
    assert changes["rules"][1] == {
        "id": "rule-3",
        "clauses": [{"attribute": "country", "op": "in", "values": ["NL", "BE"], "case_insensitive": True}],
        "serve": {"variation": 2},
    }
    assert _problems(flag, changes) == []


@pytest.mark.parametrize(
    ("op", "text", "values"),
    [
        ("gte", "18, 21.5", [18, 21.5]),
        ("after", "2030-01-01T00:00:00Z\n1735689600", ["2030-01-01T00:00:00Z", 1735689600]),
        ("matches", "^a,b$\n^c", ["^a,b$", "^c"]),
        ("exists", "", []),
        ("semver_gte", "2.1.0", ["2.1.0"]),
    ],
)
def test_rule_values_are_typed_for_their_operator(op: str, text: str, values: list[Any]) -> None:
    changes = add_rule_change(_flag(), {"attribute": "a", "op": op, "values": text, "serve": "1"})

    assert changes["rules"][0]["clauses"][0]["values"] == values
    assert _problems(_flag(), changes) == []


def test_a_rule_form_refuses_what_it_cannot_read() -> None:
    with _refused("op"):
        add_rule_change(_flag(), {"attribute": "a", "op": "nearly", "values": "x", "serve": "1"})
    with _refused("values"):
        add_rule_change(_flag(), {"attribute": "age", "op": "lt", "values": "eighteen", "serve": "1"})
    with _refused("serve"):
        add_rule_change(_flag(), {"attribute": "a", "op": "in", "values": "x", "serve": "9"})


def test_a_negated_segment_rule_without_attribute_tests_the_key() -> None:
    changes = add_rule_change(
        _flag(), {"op": "segment_match", "values": "staff", "negate": "on", "serve": "0"}
    )

    assert changes["rules"][0]["clauses"] == [
        {"attribute": "key", "op": "segment_match", "values": ["staff"], "negate": True}
    ]


def test_rules_are_removed_and_moved_by_id() -> None:
    rules = [{"id": name, "clauses": [], "serve": {"variation": 0}} for name in ("a", "b", "c")]
    flag = _flag(rules=rules)

    assert [r["id"] for r in remove_rule_change(flag, "b")["rules"]] == ["a", "c"]
    assert [r["id"] for r in move_rule_change(flag, "b", "up")["rules"]] == ["b", "a", "c"]
    assert [r["id"] for r in move_rule_change(flag, "b", "down")["rules"]] == ["a", "c", "b"]
    with _refused("rule"):
        move_rule_change(flag, "a", "up")
    with _refused("rule"):
        remove_rule_change(flag, "zz")


def test_the_json_editor_holds_the_targeting_without_the_switch() -> None:
    flag = _flag(track_events=True)
    text = json_text(flag)

    assert list(json.loads(text)) == list(JSON_FIELDS)
    assert json_change(text) == {name: flag[name] for name in JSON_FIELDS}
    with _refused("json"):
        json_change("{not json")
    with _refused("json"):
        json_change("[1, 2]")
    with _refused("json"):
        json_change('{"enabled": false}')


@pytest.mark.parametrize(
    ("form", "path", "field"),
    [
        ("targets", "targets[1].values[0]", "keys"),
        ("rollout", "fallthrough.rollout.variations", "weights"),
        ("rollout", "fallthrough.rollout.variations[2].weight", "weight-2"),
        ("rule", "rules[1].clauses[0].values", "values"),
        ("rule", "rules[1].clauses[0].values[3]", "values"),
        ("rule", "rules[1].clauses[0].op", "op"),
        ("rule", "rules[1].clauses[0].attribute", "attribute"),
        ("rule", "rules[1].serve.variation", "serve"),
        ("rule", "rules[1].id", "id"),
        ("rule", "rules[0].id", ""),
        ("json", "rules[0].clauses", "json"),
        ("targets", None, ""),
        ("rules", "rules[0]", ""),
    ],
)
def test_a_service_field_path_finds_its_form_field(form: Any, path: str | None, field: str) -> None:
    flag = _flag(rules=[{"id": "a", "clauses": [], "serve": {"variation": 0}}])
    assert field_for(form, path, flag) == field


def test_values_are_split_by_lines_or_else_by_commas() -> None:
    assert split_values("a, b,,c, a") == ["a", "b", "c"]
    assert split_values("x,y\nz\n\n") == ["x,y", "z"]
    assert split_values("  ") == []
