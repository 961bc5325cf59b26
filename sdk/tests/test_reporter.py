"""The reporter thread: each applied revision acknowledged once, batched, retried until accepted; the cache
file written at most once per interval and last at close; and a failing round never ends the thread. The
server is the scripted one of conftest.py, on loopback."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flagstaff.cache import read_cache
from flagstaff.reporter import Reporter

ACKS = "/sdk/v1/acks"
WaitUntil = Callable[[Callable[[], object], float, str], None]


def _document(revision: int) -> dict[str, Any]:
    return {"format": 1, "revision": revision, "flags": {}, "segments": {}}


@pytest.fixture
def make_reporter() -> Iterator[Callable[..., Reporter]]:
    reporters: list[Reporter] = []

    def make(
        base_url: str,
        *,
        document: Callable[[], dict[str, Any]] = lambda: _document(0),
        cache_path: Path | None = None,
        ack_interval: float = 0.05,
        cache_interval: float = 0.05,
    ) -> Reporter:
        reporter = Reporter(
            acks_url=f"{base_url}{ACKS}",
            headers={"Authorization": "Bearer fs_sdk_test"},
            instance_id="instance-1",
            ack_interval=ack_interval,
            cache_path=cache_path,
            cache_interval=cache_interval,
            document=document,
        )
        reporters.append(reporter)
        reporter.start()
        return reporter

    yield make
    for reporter in reporters:
        reporter.close()


def _acked(server: Any) -> list[int]:
    return [json.loads(body)["revision"] for body in server.bodies_of(ACKS)]


def test_each_new_revision_is_acknowledged_once_with_the_instance_id(
    server: Any, make_reporter: Callable[..., Reporter], wait_until: WaitUntil
) -> None:
    reporter = make_reporter(server.base_url)

    reporter.applied(3)
    wait_until(lambda: _acked(server) == [3], 10, "the acknowledgement of revision 3")
    reporter.applied(3)  # an event that moved nothing on (an empty resume) is not acknowledged again
    reporter.applied(2)  # nor is an older revision
    reporter.applied(5)
    wait_until(lambda: _acked(server) == [3, 5], 10, "the acknowledgement of revision 5")

    assert json.loads(server.bodies_of(ACKS)[0]) == {"instance_id": "instance-1", "revision": 3}
    assert server.headers_of(ACKS)[0]["authorization"] == "Bearer fs_sdk_test"


def test_revisions_applied_in_a_burst_are_acknowledged_at_most_once_per_interval(
    server: Any, make_reporter: Callable[..., Reporter], wait_until: WaitUntil
) -> None:
    reporter = make_reporter(server.base_url, ack_interval=0.5)

    started = time.monotonic()
    for revision in range(1, 201):
        reporter.applied(revision)
    wait_until(lambda: _acked(server)[-1:] == [200], 10, "the last revision to be acknowledged")
    elapsed = time.monotonic() - started

    acked = _acked(server)
    assert acked == sorted(acked)  # never an older revision after a newer one
    assert len(acked) <= 1 + elapsed / 0.5 + 1  # one at once, then one per interval at most


def test_a_refused_acknowledgement_is_retried_until_one_is_accepted(
    server: Any, make_reporter: Callable[..., Reporter], wait_until: WaitUntil
) -> None:
    server.script(ACKS, server.respond(503, b"{}"), server.respond(503, b"{}"), server.respond(204, b""))
    reporter = make_reporter(server.base_url)

    reporter.applied(7)
    wait_until(lambda: server.count(ACKS) >= 3, 10, "the acknowledgement to be retried")
    accepted = server.count(ACKS)
    time.sleep(0.3)  # several rounds: none sends an accepted revision again

    assert _acked(server) == [7] * accepted and server.count(ACKS) == 3


def test_an_unreachable_server_does_not_stop_the_cache_file(
    make_reporter: Callable[..., Reporter], wait_until: WaitUntil, tmp_path: Path
) -> None:
    cache = tmp_path / "flags.json"
    reporter = make_reporter("http://127.0.0.1:9", document=lambda: _document(4), cache_path=cache)

    reporter.applied(4)

    wait_until(lambda: read_cache(cache) == _document(4), 10, "the cache file")


def test_the_cache_file_is_written_once_per_interval_and_last_at_close(
    server: Any, make_reporter: Callable[..., Reporter], wait_until: WaitUntil, tmp_path: Path
) -> None:
    cache = tmp_path / "flags.json"
    current = {"revision": 1}
    reporter = make_reporter(
        server.base_url,
        document=lambda: _document(current["revision"]),
        cache_path=cache,
        cache_interval=60.0,
    )

    reporter.applied(1)
    wait_until(lambda: read_cache(cache) == _document(1), 10, "the first write")
    current["revision"] = 2
    reporter.applied(2)
    wait_until(lambda: _acked(server)[-1:] == [2], 10, "the acknowledgement of revision 2")
    assert read_cache(cache) == _document(1)  # within the interval: acknowledged, not yet written

    reporter.close()

    assert read_cache(cache) == _document(2)


def test_a_failing_round_is_logged_and_the_thread_goes_on(
    make_reporter: Callable[..., Reporter],
    wait_until: WaitUntil,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = tmp_path / "flags.json"
    calls = {"count": 0}

    def document() -> dict[str, Any]:
        calls["count"] += 1
        if calls["count"] == 1:
            raise RuntimeError("a bug building the document")
        return _document(8)

    with caplog.at_level(logging.ERROR, logger="flagstaff"):
        reporter = make_reporter("http://127.0.0.1:9", document=document, cache_path=cache)
        reporter.applied(7)
        wait_until(lambda: calls["count"] == 1, 10, "the failing round")
        reporter.applied(8)
        wait_until(lambda: read_cache(cache) == _document(8), 10, "the next round to write the file")

    assert len([r for r in caplog.records if "reporting the applied revision failed" in r.getMessage()]) == 1
    assert any(t.name == "flagstaff-reporter" for t in threading.enumerate())
