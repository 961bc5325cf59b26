"""The per-key token bucket: a burst of one second's worth, refilled at the rate, each key on its own."""

from __future__ import annotations

import pytest

from app.streaming.key_rate_limiter import KeyRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_a_burst_of_one_seconds_worth_then_is_refused() -> None:
    limiter = KeyRateLimiter(5, Clock())
    assert [limiter.allow("a") for _ in range(7)] == [True] * 5 + [False] * 2


def test_the_bucket_refills_at_the_rate_and_never_beyond_the_burst() -> None:
    clock = Clock()
    limiter = KeyRateLimiter(5, clock)
    while limiter.allow("a"):
        pass
    clock.now += 0.2  # one token
    assert [limiter.allow("a"), limiter.allow("a")] == [True, False]
    clock.now += 60
    assert sum(limiter.allow("a") for _ in range(10)) == 5


def test_keys_do_not_share_a_bucket() -> None:
    limiter = KeyRateLimiter(1, Clock())
    assert limiter.allow("a") and not limiter.allow("a")
    assert limiter.allow("b")


def test_a_rate_below_one_per_second_still_allows_one_at_a_time() -> None:
    clock = Clock()
    limiter = KeyRateLimiter(0.5, clock)
    assert limiter.allow("a") and not limiter.allow("a")
    clock.now += 2
    assert limiter.allow("a")


def test_a_larger_burst_is_spent_then_refilled_at_the_rate() -> None:
    clock = Clock()
    limiter = KeyRateLimiter(1 / 60, clock, burst=3)  # three a minute
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(60.0)  # a whole token to wait for
    clock.now += 45
    assert limiter.take("a") == pytest.approx(15.0)
    clock.now += 15
    assert limiter.allow("a") and not limiter.allow("a")
