"""Between two versions of a flag, the diff says what a person changed, part by part: a switch flipped, users
added to a target, a rule added or edited, a rollout moved from 10% to 25%. Equal versions: nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.console.diffs import diff_fields, diff_flags, plain_diff
from app.console.sentences import SHOWN_VALUES


def _flag(**fields: Any) -> dict[str, Any]:
    flag: dict[str, Any] = {
        "key": "checkout",
        "kind": "boolean",
        "variations": [True, False],
        "enabled": True,
        "off_variation": 1,
        "targets": [],
        "rules": [],
        "fallthrough": {"variation": 0},
        "prerequisites": [],
        "salt": "checkout",
        "version": 1,
    }
    flag.update(fields)
    return flag


def _rollout(true_weight: int, **options: Any) -> dict[str, Any]:
    return {
        "rollout": {
            "variations": [
                {"variation": 0, "weight": true_weight},
                {"variation": 1, "weight": 100000 - true_weight},
            ],
            **options,
        }
    }


def _rule(rule_id: str, *clauses: dict[str, Any], serve: int = 0, **fields: Any) -> dict[str, Any]:
    return {"id": rule_id, "clauses": list(clauses), "serve": {"variation": serve}, **fields}


COUNTRY = {"attribute": "country", "op": "in", "values": ["NL", "BE"]}
PLAN = {"attribute": "plan", "op": "in", "values": ["pro"]}


def _diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    return plain_diff(diff_flags(before, after))


def test_equal_versions_differ_in_nothing_but_their_version() -> None:
    before = _flag(rules=[_rule("r", COUNTRY)], fallthrough=_rollout(10000))
    after = copy.deepcopy(before) | {"version": 2}

    assert diff_flags(before, after) == ()


def test_key_order_inside_the_documents_does_not_count_as_a_change() -> None:
    before = _flag(rules=[{"id": "r", "serve": {"variation": 0}, "clauses": [COUNTRY]}])
    after = _flag(
        rules=[{"clauses": [dict(reversed(COUNTRY.items()))], "serve": {"variation": 0}, "id": "r"}]
    )

    assert diff_flags(before, after) == ()


def test_turning_a_flag_off_and_on() -> None:
    assert _diff(_flag(), _flag(enabled=False)) == ["~ Turned off"]
    assert _diff(_flag(enabled=False), _flag()) == ["~ Turned on"]
    assert [line.field for line in diff_flags(_flag(), _flag(enabled=False))] == ["enabled"]


def test_the_off_variation_changes() -> None:
    assert _diff(_flag(), _flag(off_variation=0)) == ["~ When off, serves true (was false)"]
    assert _diff(_flag(), _flag(off_variation=None)) == [
        "~ When off, serves the caller's default value (was false)"
    ]


def test_rollout_weights_change_as_percentages() -> None:
    lines = diff_flags(_flag(fallthrough=_rollout(10000)), _flag(fallthrough=_rollout(25000)))

    assert plain_diff(lines) == ["~ Everyone else: rollout true 10% → 25%, false 90% → 75%"]
    assert lines[0].field == "fallthrough"
    assert [token.text for token in lines[0].sentence if token.kind == "percent"] == [
        "10%",
        "25%",
        "90%",
        "75%",
    ]


def test_a_variation_given_weight_in_a_rollout_shows_from_zero() -> None:
    before = _flag(fallthrough={"rollout": {"variations": [{"variation": 0, "weight": 100000}]}})
    after = _flag(fallthrough=_rollout(60000))

    assert _diff(before, after) == ["~ Everyone else: rollout true 100% → 60%, false 0% → 40%"]


def test_a_fixed_variation_becoming_a_rollout_shows_both_whole() -> None:
    assert _diff(_flag(), _flag(fallthrough=_rollout(5000))) == [
        "~ Everyone else: now true for 5%, false for 95% (was true)"
    ]


def test_a_rollout_split_by_another_attribute() -> None:
    before = _flag(fallthrough=_rollout(50000))
    after = _flag(fallthrough=_rollout(50000, bucket_by="org"))

    assert _diff(before, after) == ["~ Everyone else: rollout now split by org (was by key)"]


def test_targets_added_removed_and_moved_between_variations() -> None:
    before = _flag(targets=[{"variation": 0, "values": ["ann", "bob"]}, {"variation": 1, "values": ["cy"]}])
    after = _flag(targets=[{"variation": 0, "values": ["ann", "cy", "dee", "eve"]}])

    assert _diff(before, after) == [
        "+ Users dee, eve now get true",
        "- User bob no longer gets true",
        "~ User cy now gets true (was false)",
    ]


def test_many_target_keys_added_at_once_are_abbreviated() -> None:
    keys = [f"user-{i}" for i in range(SHOWN_VALUES + 2_000)]
    lines = _diff(_flag(), _flag(targets=[{"variation": 0, "values": keys}]))

    assert lines == [f"+ Users {', '.join(keys[:SHOWN_VALUES])} and 2,000 more now get true"]


def test_a_rule_added_and_one_removed_are_described_whole() -> None:
    before = _flag(rules=[_rule("old", PLAN)])
    after = _flag(rules=[_rule("dutch", COUNTRY, {"op": "segment_match", "values": ["beta"]})])

    lines = diff_flags(before, after)
    assert plain_diff(lines) == [
        "- Rule old removed: If plan is pro, serve true",
        "+ Rule dutch added: If country is one of NL, BE and the user is in segment beta, serve true",
    ]
    assert [line.field for line in lines] == ["rules[old]", "rules[dutch]"]


def test_a_condition_added_to_a_rule_and_one_removed() -> None:
    before = _flag(rules=[_rule("r", COUNTRY)])
    after = _flag(rules=[_rule("r", PLAN)])

    assert _diff(before, after) == [
        "- Rule r: condition removed: country is one of NL, BE",
        "+ Rule r: condition added: plan is pro",
    ]


def test_values_added_to_a_condition_are_named_without_repeating_the_list() -> None:
    values = [f"c{i}" for i in range(4_000)]
    before = _flag(rules=[_rule("r", {"attribute": "country", "op": "in", "values": values})])
    after = _flag(rules=[_rule("r", {"attribute": "country", "op": "in", "values": [*values[1:], "NEW"]})])

    (line,) = _diff(before, after)
    assert line.startswith("~ Rule r: country is one of c1, c2,")
    assert line.endswith(" and 3,990 more (added NEW) (removed c0)")


def test_a_condition_negated_says_which_option_changed() -> None:
    before = _flag(rules=[_rule("r", COUNTRY)])
    after = _flag(rules=[_rule("r", COUNTRY | {"negate": True, "case_insensitive": True})])

    assert _diff(before, after) == [
        "~ Rule r: country is not one of NL, BE (ignoring case) (changed negate, case_insensitive)"
    ]


def test_a_rule_serving_another_variation() -> None:
    assert _diff(_flag(rules=[_rule("r", PLAN)]), _flag(rules=[_rule("r", PLAN, serve=1)])) == [
        "~ Rule r: now false (was true)"
    ]


def test_a_rule_rollout_moving() -> None:
    before = _flag(rules=[{"id": "r", "clauses": [PLAN], "serve": _rollout(20000)}])
    after = _flag(rules=[{"id": "r", "clauses": [PLAN], "serve": _rollout(50000)}])

    assert _diff(before, after) == ["~ Rule r: rollout true 20% → 50%, false 80% → 50%"]


def test_rule_coverage_changing() -> None:
    before = _flag(rules=[_rule("r", PLAN, coverage={"weight": 25000})])
    after = _flag(rules=[_rule("r", PLAN, coverage={"weight": 50000})])
    removed = _flag(rules=[_rule("r", PLAN)])

    assert _diff(before, after) == ["~ Rule r: applies to 50% (was 25%)"]
    assert _diff(before, removed) == ["~ Rule r: applies to everyone it matches (was 25%)"]


def test_rules_reordered() -> None:
    before = _flag(rules=[_rule("a", PLAN), _rule("b", COUNTRY)])
    after = _flag(rules=[_rule("b", COUNTRY), _rule("a", PLAN)])

    assert _diff(before, after) == ["~ Rules reordered: b, a (was a, b)"]


def test_prerequisites_added_and_removed() -> None:
    before = _flag(prerequisites=[{"flag": "payments", "variation": 0}])
    after = _flag(prerequisites=[{"flag": "login", "variation": 0}])

    lines = diff_flags(before, after, {"payments": {"variations": ["on", "off"]}})
    assert plain_diff(lines) == [
        "- Prerequisite removed: Only if flag payments serves on; otherwise everyone gets false",
        "+ Prerequisite added: Only if flag login serves variation #0; otherwise everyone gets false",
    ]


@pytest.mark.parametrize(
    ("field", "before", "after", "expected"),
    [
        ("variations", [True, False], [False, True], "~ variations: [false, true] (was [true, false])"),
        ("salt", "checkout", "checkout-v2", "~ salt: checkout-v2 (was checkout)"),
    ],
)
def test_definition_fields_show_before_and_after(field: str, before: Any, after: Any, expected: str) -> None:
    assert expected in _diff(_flag(**{field: before}), _flag(**{field: after}))


def test_event_tracking_switched() -> None:
    assert _diff(_flag(), _flag(track_events=True)) == ["~ Events tracked"]
    assert _diff(_flag(track_events=True), _flag()) == ["~ Events no longer tracked"]


def test_a_new_flag_lists_its_whole_targeting_and_a_deleted_one_says_so() -> None:
    created = _diff(None, _flag(rules=[_rule("r", PLAN)]))

    assert created == [
        "+ Flag created",
        "+ The flag is on.",
        "+ If plan is pro, serve true",
        "+ Everyone else: true",
    ]
    assert _diff(_flag(), None) == ["- Flag deleted"]
    assert diff_flags(None, None) == ()


def test_several_changes_come_in_evaluation_order() -> None:
    before = _flag(fallthrough=_rollout(10000))
    after = _flag(
        enabled=False,
        targets=[{"variation": 0, "values": ["ann"]}],
        rules=[_rule("r", PLAN)],
        fallthrough=_rollout(20000),
    )

    assert [line.field for line in diff_flags(before, after)] == [
        "enabled",
        "targets",
        "rules[r]",
        "fallthrough",
    ]


def test_values_in_a_diff_are_tokens_apart_from_the_prose() -> None:
    after = _flag(targets=[{"variation": 0, "values": ["<img src=x onerror=alert(1)>"]}])

    (line,) = diff_flags(_flag(), after)
    assert [t.kind for t in line.sentence if t.text == "<img src=x onerror=alert(1)>"] == ["value"]
    assert all("<" not in t.text for t in line.sentence if t.kind == "word")


def test_odd_documents_are_compared_without_raising() -> None:
    odd: dict[str, Any] = {
        "rules": [None, {"clauses": "x"}],
        "targets": [{"variation": "a"}],
        "fallthrough": 3,
    }
    assert isinstance(diff_flags(odd, _flag()), tuple)
    assert isinstance(diff_flags(_flag(), odd), tuple)


def test_other_audited_objects_list_each_field_that_changed() -> None:
    before = {"name": "Checkout", "tags": ["team-a"], "description": "old", "version": 1}
    after = {"name": "Checkout", "tags": ["team-a", "beta"], "temporary": True, "version": 2}

    assert plain_diff(diff_fields(before, after)) == [
        '~ tags: ["team-a", "beta"] (was ["team-a"])',
        "+ temporary: true",
        "- description: old",
    ]
    assert plain_diff(diff_fields(None, {"name": "x"})) == ["+ name: x"]
    assert diff_fields(before, before | {"version": 9}) == ()
