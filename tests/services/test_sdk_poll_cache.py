"""The poll cache answers only while fresh, never moves a revision backwards, and forgets revoked keys."""

from __future__ import annotations

from app.services.sdk_poll_cache import KEY_TTL_SECONDS, REVISION_TTL_SECONDS, SdkPollCache, SdkTarget


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_remembered_key_is_answered_until_its_revision_goes_stale() -> None:
    clock = Clock()
    cache = SdkPollCache(clock)
    cache.remember("fs_sdk_abc", "abc", SdkTarget(7, 3))
    assert cache.target("fs_sdk_abc") == SdkTarget(7, 3)
    assert cache.target("fs_sdk_other") is None
    clock.now += REVISION_TTL_SECONDS + 0.01
    assert cache.target("fs_sdk_abc") is None


def test_a_local_commit_refreshes_the_revision_and_an_older_one_never_replaces_it() -> None:
    clock = Clock()
    cache = SdkPollCache(clock)
    cache.remember("fs_sdk_abc", "abc", SdkTarget(7, 3))
    cache.note_revision(7, 5)
    cache.note_revision(7, 4)
    assert cache.target("fs_sdk_abc") == SdkTarget(7, 5)


def test_keys_expire_and_a_revoked_key_is_forgotten_at_once() -> None:
    clock = Clock()
    cache = SdkPollCache(clock)
    cache.remember("fs_sdk_abc", "abc", SdkTarget(7, 3))
    cache.remember("fs_sdk_def", "def", SdkTarget(7, 3))
    cache.forget_key("abc")
    assert cache.target("fs_sdk_abc") is None and cache.target("fs_sdk_def") is not None
    clock.now += KEY_TTL_SECONDS + 0.01
    cache.note_revision(7, 3)
    assert cache.target("fs_sdk_def") is None
