"""The SDK key check behind polls that miss the cache: polls missing it together share one database check."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from app.services.sdk_key_check import SharedKeyCheck
from app.services.sdk_poll_cache import SdkTarget

pytestmark = pytest.mark.anyio


class _SlowCheck:
    """A slow key check that counts its calls (the database's part, which these tests hold back)."""

    def __init__(self, answer: SdkTarget | None = None, error: Exception | None = None) -> None:
        self.answer, self.error = answer, error
        self.calls = 0
        self.release = threading.Event()

    def __call__(self, token: str) -> SdkTarget | None:
        self.calls += 1
        self.release.wait(5)
        if self.error is not None:
            raise self.error
        return self.answer


async def _poll_together(check: _SlowCheck, shared: SharedKeyCheck, polls: int) -> list[Any]:
    waiting = [asyncio.ensure_future(shared("fs_sdk_k")) for _ in range(polls)]
    await asyncio.sleep(0.05)  # every poll is now waiting on the check
    check.release.set()
    return await asyncio.gather(*waiting, return_exceptions=True)


async def test_polls_missing_the_cache_together_share_one_key_check():
    check = _SlowCheck(answer=SdkTarget(environment_id=1, revision=7))
    shared = SharedKeyCheck(check)
    assert await _poll_together(check, shared, 20) == [SdkTarget(1, 7)] * 20
    assert check.calls == 1
    assert shared.in_flight == 0  # the next miss checks the database again


async def test_a_failed_shared_check_fails_every_poll_waiting_for_it_and_is_not_kept():
    check = _SlowCheck(error=RuntimeError("database down"))
    shared = SharedKeyCheck(check)
    results = await _poll_together(check, shared, 5)
    assert all(isinstance(result, RuntimeError) for result in results)
    assert check.calls == 1
    assert shared.in_flight == 0


async def test_a_poll_that_goes_away_does_not_cancel_the_check_others_wait_for():
    check = _SlowCheck(answer=SdkTarget(environment_id=1, revision=7))
    shared = SharedKeyCheck(check)
    first = asyncio.ensure_future(shared("fs_sdk_k"))
    await asyncio.sleep(0.01)
    second = asyncio.ensure_future(shared("fs_sdk_k"))
    await asyncio.sleep(0.01)
    first.cancel()
    check.release.set()
    assert await second == SdkTarget(1, 7)
    assert check.calls == 1
