"""The release forms' reading, on its own: variations named by value or index, variations typed per kind,
the time of a scheduled change (UTC, or from now), and a service's field path mapped to the form field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.console.release_forms import (
    FORM_LEVEL,
    ROLLOUT_FIELDS,
    FormError,
    Submitted,
    at_field,
    form_field,
    rollout_body,
    schedule_body,
    schedule_fields,
    variation_index,
    variations_of,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("variations", "text", "index"),
    [
        ([True, False], "false", 1),
        ([True, False], "#0", 0),
        (["blue", "green"], "green", 1),
        (["blue", "green"], '"green"', 1),
        ([1, 2.5], "2.5", 1),
        ([1, 2.5], "1.0", 0),
        ([{"a": 1}, [1]], '{"a": 1}', 0),
        ([True, 1], "1", 1),  # true is not 1
        (["1", 1], "#1", 1),
    ],
)
def test_a_variation_is_named_by_its_value_or_its_index(variations: list[Any], text: str, index: int) -> None:
    assert variation_index(variations, text, "variation") == index


@pytest.mark.parametrize(
    ("variations", "text", "says"),
    [
        ([True, False], "maybe", "no variation 'maybe'"),
        ([True, False], "", "choose a variation"),
        (["1", 1], "1", "names more than one variation: write #0 or #1"),
    ],
)
def test_a_variation_that_names_none_or_several_is_refused(
    variations: list[Any], text: str, says: str
) -> None:
    with pytest.raises(FormError, match=says) as raised:
        variation_index(variations, text, "control")
    assert raised.value.field == "control"


def test_variations_are_typed_per_kind() -> None:
    assert variations_of("boolean", "anything") == [True, False]
    assert variations_of("string", " a \n\n b") == ["a", "b"]
    assert variations_of("number", "10\n-0.5") == [10, -0.5]
    assert variations_of("json", '{"x": [1]}\nfalse') == [{"x": [1]}, False]
    with pytest.raises(FormError, match="line 2: 'NaN' is not a number"):
        variations_of("number", "1\nNaN")


def test_a_plans_body_carries_the_guard_only_when_ticked() -> None:
    form = {"flag": " checkout ", "variation": "true", "steps": "10,100", "dwell": "1m", "guard_ratio": "3"}
    body = rollout_body(form, [True, False])
    assert body == {
        "flag": "checkout",
        "variation": 0,
        "steps": [{"percent": 10.0, "dwell_seconds": 60.0}, {"percent": 100.0, "dwell_seconds": 60.0}],
    }
    guarded = rollout_body({**form, "guard": "on", "guard_min_sample": "50"}, [True, False])
    assert guarded["guard"] == {"ratio": 3.0, "min_sample": 50}


def test_a_schedules_time_is_utc_or_from_now() -> None:
    at = schedule_body({"flag": "f", "action": "on", "at": "2026-12-01T09:30"}, NOW)["at"]
    assert at == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert schedule_body({"flag": "f", "action": "on", "after": "+2h"}, NOW)["at"] == NOW + timedelta(hours=2)
    with pytest.raises(FormError) as zoned:
        schedule_body({"flag": "f", "action": "on", "at": "2026-12-01T09:30+02:00"}, NOW)
    assert zoned.value.field == "at"


def test_a_refusal_of_the_time_goes_to_the_input_that_was_used() -> None:
    assert form_field("at", schedule_fields({"at": "2026-12-01T09:30"})) == "at"
    assert form_field("at", schedule_fields({"after": "+1m"})) == "after"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("steps[2].percent", "steps"),
        ("steps[0].dwell_seconds", "dwell"),
        ("guard.ratio", "guard_ratio"),
        ("guard.failure_event", "guard"),
        ("flag", "flag"),
        ("If-Match", FORM_LEVEL),
        (None, FORM_LEVEL),
    ],
)
def test_a_services_field_path_maps_to_the_form_field(path: str | None, field: str) -> None:
    assert form_field(path, ROLLOUT_FIELDS) == field


def test_a_precise_path_is_named_in_the_message() -> None:
    assert at_field("must be above 5", "steps[1].percent", ROLLOUT_FIELDS) == (
        "steps",
        "steps[1].percent: must be above 5",
    )
    assert at_field("must be between 1 and 100", "guard.ratio", ROLLOUT_FIELDS) == (
        "guard_ratio",
        "must be between 1 and 100",
    )


def test_each_form_on_a_page_shows_only_its_own_submission() -> None:
    sent = Submitted("start", {"steps": "1,2", "guard": "on"}, {"steps": "bad"})
    assert sent.of("start").value("steps") == "1,2" and sent.of("start").checked("guard", False)
    other = sent.of("schedule")
    assert other.value("steps", "default") == "default" and other.errors == {}
    assert other.checked("guard", True) is True
