"""How people write a release's durations, times from now and steps, read alike by the CLI and the console."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.release_text import TextError, duration_seconds, from_now, rollout_steps

NOW = datetime(2026, 11, 30, 23, 50, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"), [("10m", 600), ("1h30m", 5400), ("90s", 90), ("45", 45), ("0", 0), ("1.5h", 5400)]
)
def test_durations_read_in_hours_minutes_and_seconds(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "10 m", "m", "-5m"])
def test_anything_else_is_no_duration(text: str) -> None:
    with pytest.raises(TextError, match="is not a duration") as raised:
        duration_seconds(text)
    assert raised.value.part == "dwell"


def test_a_time_from_now_is_added_to_now_and_other_text_is_none() -> None:
    assert from_now("+10m", NOW) == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert from_now(" +1d ", NOW) == datetime(2026, 12, 1, 23, 50, tzinfo=UTC)
    assert from_now("2026-12-01T09:00:00Z", NOW) is None
    with pytest.raises(TextError, match=r"like \+10m") as raised:
        from_now("+10 minutes", NOW)
    assert raised.value.part == "at"


def test_steps_take_one_dwell_for_all_or_one_each() -> None:
    assert rollout_steps("1, 5,100", "10m") == [
        {"percent": 1.0, "dwell_seconds": 600.0},
        {"percent": 5.0, "dwell_seconds": 600.0},
        {"percent": 100.0, "dwell_seconds": 600.0},
    ]
    assert [s["dwell_seconds"] for s in rollout_steps("1,100", "1m,0")] == [60.0, 0.0]
    with pytest.raises(TextError, match="'x' is not a number") as bad:
        rollout_steps("1,x", "1m")
    assert bad.value.part == "steps"
    with pytest.raises(TextError, match="gives 2 times for 3 steps") as uneven:
        rollout_steps("1,2,3", "1m,2m")
    assert uneven.value.part == "dwell"
