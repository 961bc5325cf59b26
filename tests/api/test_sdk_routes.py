"""The SDK poll route's key check: polls that miss the cache together share one database check."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from app.api.sdk_routes import _shared_check
from app.services.sdk_poll_cache import SdkPollCache, SdkTarget

pytestmark = pytest.mark.anyio


class _CountingSnapshots:
    """Stands in for SnapshotService: a slow key check that counts its calls."""

    def __init__(self, answer: SdkTarget | None = None, error: Exception | None = None) -> None:
        self.poll_cache = SdkPollCache()
        self.answer, self.error = answer, error
        self.calls = 0
        self.release = threading.Event()

    def authenticate_sdk(self, token: str) -> SdkTarget | None:
        self.calls += 1
        self.release.wait(5)
        if self.error is not None:
            raise self.error
        return self.answer


async def _poll_together(snapshots: _CountingSnapshots, polls: int) -> list[Any]:
    waiting = [asyncio.ensure_future(_shared_check(snapshots, "fs_sdk_k")) for _ in range(polls)]  # type: ignore[arg-type]
    await asyncio.sleep(0.05)  # every poll is now waiting on the check
    snapshots.release.set()
    return await asyncio.gather(*waiting, return_exceptions=True)


async def test_polls_missing_the_cache_together_share_one_key_check():
    snapshots = _CountingSnapshots(answer=SdkTarget(environment_id=1, revision=7))
    assert await _poll_together(snapshots, 20) == [SdkTarget(1, 7)] * 20
    assert snapshots.calls == 1
    assert snapshots.poll_cache.checks_in_flight == {}  # the next miss checks the database again


async def test_a_failed_shared_check_fails_every_poll_waiting_for_it_and_is_not_kept():
    snapshots = _CountingSnapshots(error=RuntimeError("database down"))
    results = await _poll_together(snapshots, 5)
    assert all(isinstance(result, RuntimeError) for result in results)
    assert snapshots.calls == 1
    assert snapshots.poll_cache.checks_in_flight == {}


async def test_a_poll_that_goes_away_does_not_cancel_the_check_others_wait_for():
    snapshots = _CountingSnapshots(answer=SdkTarget(environment_id=1, revision=7))
    first = asyncio.ensure_future(_shared_check(snapshots, "fs_sdk_k"))  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    second = asyncio.ensure_future(_shared_check(snapshots, "fs_sdk_k"))  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    first.cancel()
    snapshots.release.set()
    assert await second == SdkTarget(1, 7)
    assert snapshots.calls == 1
