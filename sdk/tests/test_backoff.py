"""Reconnection delays: doubling from the first delay (the client's own, or the server's retry: hint) up to
max_backoff, jittered within the upper half, and never a tight loop whatever the server asks for."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flagstaff.backoff import Backoff


def _ceiling(low: float, high: float) -> float:
    return high  # the top of the jitter range: the delay without jitter


def _ceilings(backoff: Backoff, count: int) -> list[float]:
    return [backoff.next_delay() for _ in range(count)]


def test_delays_double_from_the_initial_one_up_to_the_maximum() -> None:
    backoff = Backoff(1.0, 30.0, uniform=_ceiling)
    assert _ceilings(backoff, 7) == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_reset_starts_again_from_the_first_delay() -> None:
    backoff = Backoff(1.0, 30.0, uniform=_ceiling)
    _ceilings(backoff, 4)
    backoff.reset()
    assert _ceilings(backoff, 2) == [1.0, 2.0]


def test_the_servers_hint_is_the_first_delay_and_later_ones_double_from_it() -> None:
    backoff = Backoff(1.0, 30.0, uniform=_ceiling)
    backoff.hint(5000)
    assert _ceilings(backoff, 4) == [5.0, 10.0, 20.0, 30.0]


@pytest.mark.parametrize("retry_ms", [0, 50])
def test_a_short_hint_shortens_only_the_first_delay(retry_ms: int) -> None:
    backoff = Backoff(1.0, 30.0, uniform=_ceiling)
    backoff.hint(retry_ms)
    assert _ceilings(backoff, 4) == [retry_ms / 1000, 2.0, 4.0, 8.0]


@pytest.mark.parametrize("retry_ms", [30_001, 3_600_000, 9_999_999_999])
def test_a_hint_beyond_the_maximum_is_capped(retry_ms: int) -> None:
    backoff = Backoff(1.0, 30.0, uniform=_ceiling)
    backoff.hint(retry_ms)
    assert _ceilings(backoff, 2) == [30.0, 30.0]


def test_the_latest_hint_wins() -> None:
    backoff = Backoff(1.0, 30.0, uniform=_ceiling)
    backoff.hint(5000)
    backoff.hint(250)
    assert _ceilings(backoff, 1) == [0.25]


@given(
    initial=st.floats(0.001, 100.0),
    maximum=st.floats(0.001, 1000.0),
    hint=st.none() | st.integers(0, 9_999_999_999),
    attempts=st.integers(1, 200),
)
def test_every_delay_lies_in_the_upper_half_of_its_range_and_within_the_maximum(
    initial: float, maximum: float, hint: int | None, attempts: int
) -> None:
    initial = min(initial, maximum)  # LiveOptions refuses an initial_backoff above max_backoff
    backoff = Backoff(initial, maximum)
    if hint is not None:
        backoff.hint(hint)
    ceilings = Backoff(initial, maximum, uniform=_ceiling)
    if hint is not None:
        ceilings.hint(hint)
    for _ in range(attempts):
        delay, ceiling = backoff.next_delay(), ceilings.next_delay()
        assert ceiling / 2 <= delay <= ceiling <= maximum
