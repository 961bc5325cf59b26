"""The live data source against a broken or hostile server: it never dies, reports what went wrong, and stops
promptly. The server is the scripted one of conftest.py, on loopback."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flagstaff import Client, LiveOptions, State

STREAM = "/sdk/v1/stream"
POLL = "/sdk/v1/flags"
DEEP = b"[" * 100_000 + b"]" * 100_000  # valid JSON, nested far beyond the parser's recursion limit
WaitUntil = Callable[[Callable[[], object], float, str], None]


def _sdk_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("flagstaff")}


# -- malformed answers ------
@pytest.mark.parametrize(
    "body",
    [
        b'{"format": 1, "revision": "abc", "flags": {}, "segments": {}}',
        b'{"format": 1, "revision": NaN, "flags": {}, "segments": {}}',
        b'{"format": 1, "revision": 1e400, "flags": {}, "segments": {}}',
        b'{"format": 1, "revision": 3, "flags": [1, 2], "segments": {}}',
        DEEP,
        b'{"format": 1, "revision": 3, "flags": {"deep": ' + DEEP + b"}}",
    ],
    ids=["revision-abc", "revision-nan", "revision-1e400", "flags-list", "deep", "deep-flag"],
)
def test_a_malformed_poll_answer_is_reported_and_polling_goes_on(
    server: Any, make_client: Callable[..., Client], wait_until: WaitUntil, body: bytes
) -> None:
    server.script(STREAM, server.respond(503, b"{}"))
    server.script(POLL, server.respond(200, body))
    client = make_client(server.base_url)

    wait_until(lambda: server.count(POLL) >= 3, 10, "polling to go on after a malformed answer")
    # The status shows the latest reason, which alternates with the refused stream's.
    wait_until(lambda: "malformed poll answer" in (client.status().last_error or ""), 10, "the report")
    assert client.status().state is State.INITIALIZING

    server.script(POLL, server.respond(200, json.dumps(server.snapshot(4)).encode()))
    wait_until(lambda: client.is_enabled("checkout"), 10, "the next good answer to be applied")
    assert client.revision == 4


@pytest.mark.parametrize(
    "content", [b'{"format": 1, "revision": "abc", "flags": {}, "segments": {}}', DEEP], ids=["abc", "deep"]
)
def test_an_unusable_cache_file_is_ignored_and_updates_go_on(
    server: Any, make_client: Callable[..., Client], wait_until: WaitUntil, tmp_path: Path, content: bytes
) -> None:
    cache = tmp_path / "flags.json"
    cache.write_bytes(content)
    server.script(STREAM, server.respond(503, b"{}"))
    server.script(POLL, server.respond(503, b"{}"))
    client = make_client(server.base_url, cache_path=cache)

    wait_until(lambda: server.count(POLL) >= 3, 10, "polling to go on")
    assert client.status().state is State.INITIALIZING

    server.script(POLL, server.respond(200, json.dumps(server.snapshot(4)).encode()))
    wait_until(lambda: client.is_enabled("checkout"), 10, "the next good answer to be applied")


def test_a_malformed_change_event_is_not_replayed_the_sdk_asks_for_a_snapshot(
    server: Any, make_client: Callable[..., Client], wait_until: WaitUntil
) -> None:
    bad_change = {"revision": 2, "changes": [{"kind": "flag", "key": "checkout", "version": 1e400}]}
    first = server.stream(
        server.sse("snapshot", server.snapshot(1), 1), server.sse("change", bad_change, 2), hold=False
    )

    def resume_or_snapshot(handler: Any, scripted: Any) -> None:
        if handler.headers.get("Last-Event-ID") is not None:
            scripted.stream(server.sse("change", bad_change, 2), hold=False)(handler, scripted)
        else:
            scripted.stream(server.sse("snapshot", server.snapshot(3, enabled=False), 3))(handler, scripted)

    server.script(STREAM, first, resume_or_snapshot)
    server.script(POLL, server.respond(503, b"{}"))
    client = make_client(server.base_url)

    wait_until(lambda: client.revision == 3, 10, "a full snapshot after the malformed change")
    assert client.is_enabled("checkout", default=True) is False


# -- bounds on what the server may send ------
def test_an_endless_line_is_cut_off_at_max_line_bytes(
    server: Any, make_client: Callable[..., Client], wait_until: WaitUntil, fast: LiveOptions
) -> None:
    endless = server.stream(b"data: " + b"x" * (4 << 20))  # 4 MiB, no end of line, then silence
    server.script(STREAM, endless, server.stream(server.sse("snapshot", server.snapshot(2), 2)))
    server.script(POLL, server.respond(503, b"{}"))
    client = make_client(server.base_url, dataclasses.replace(fast, max_line_bytes=1 << 20))

    wait_until(lambda: "max_line_bytes" in (client.status().last_error or ""), 10, "the line to be refused")
    wait_until(lambda: client.is_enabled("checkout"), 10, "the next connection's snapshot")


def test_an_endless_event_is_cut_off_at_max_event_bytes(
    server: Any, make_client: Callable[..., Client], wait_until: WaitUntil, fast: LiveOptions
) -> None:
    lines = b"data: " + b"x" * 1000 + b"\n"
    endless = server.stream(lines * 4000)  # 4 MB of one event that never ends, then silence
    server.script(STREAM, endless, server.stream(server.sse("snapshot", server.snapshot(2), 2)))
    server.script(POLL, server.respond(503, b"{}"))
    client = make_client(server.base_url, dataclasses.replace(fast, max_event_bytes=1 << 20))

    wait_until(lambda: "max_event_bytes" in (client.status().last_error or ""), 10, "the event to be refused")
    wait_until(lambda: client.is_enabled("checkout"), 10, "the next connection's snapshot")


@pytest.mark.parametrize("delay_ms", [b"3600000", b"1e400"], ids=["an-hour", "infinite"])
def test_the_servers_reconnect_delay_is_capped_at_max_backoff(
    server: Any, make_client: Callable[..., Client], wait_until: WaitUntil, delay_ms: bytes
) -> None:
    first = server.stream(
        server.sse("snapshot", server.snapshot(1), 1),
        server.sse("reconnect", b'{"delay_ms": %s}' % delay_ms),
        hold=False,
    )
    server.script(STREAM, first, server.stream(server.sse("snapshot", server.snapshot(2, enabled=False), 2)))
    server.script(POLL, server.respond(503, b"{}"))
    client = make_client(server.base_url)  # max_backoff 0.2 s

    wait_until(lambda: client.revision == 2, 10, "the reconnection")
    assert client.is_enabled("checkout", default=True) is False


def test_the_servers_retry_hint_is_the_reconnect_delay(
    server: Any, make_client: Callable[..., Client], wait_until: WaitUntil, fast: LiveOptions
) -> None:
    # The client's own backoff would wait 30 to 60 s; the server's retry: field asks for 50 ms.
    slow = dataclasses.replace(fast, initial_backoff=60.0, max_backoff=120.0)
    first = server.stream(b"retry: 50\n" + server.sse("snapshot", server.snapshot(1), 1), hold=False)
    server.script(STREAM, first, server.stream(server.sse("snapshot", server.snapshot(2, enabled=False), 2)))
    server.script(POLL, server.respond(503, b"{}"))
    client = make_client(server.base_url, slow)

    wait_until(lambda: client.revision == 2, 10, "the reconnection the server's retry: hint asked for")
    assert client.is_enabled("checkout", default=True) is False


def test_the_servers_retry_hint_is_capped_at_max_backoff(
    server: Any, make_client: Callable[..., Client], wait_until: WaitUntil
) -> None:
    first = server.stream(b"retry: 3600000\n" + server.sse("snapshot", server.snapshot(1), 1), hold=False)
    server.script(STREAM, first, server.stream(server.sse("snapshot", server.snapshot(2, enabled=False), 2)))
    server.script(POLL, server.respond(503, b"{}"))
    client = make_client(server.base_url)  # max_backoff 0.2 s

    wait_until(lambda: client.revision == 2, 10, "the reconnection")
    assert client.is_enabled("checkout", default=True) is False


# -- rejected keys ------
def test_a_rejected_key_ends_wait_until_ready_and_is_logged_once(
    server: Any, make_client: Callable[..., Client], wait_until: WaitUntil, caplog: pytest.LogCaptureFixture
) -> None:
    server.script(STREAM, server.respond(401, b'{"error": {"code": "unauthorized"}}'))
    server.script(POLL, server.respond(401, b'{"error": {"code": "unauthorized"}}'))
    with caplog.at_level(logging.WARNING, logger="flagstaff"):
        client = make_client(server.base_url)
        started = time.monotonic()
        ready = client.wait_until_ready(timeout=30)
        waited = time.monotonic() - started
        # The SDK fetches its first snapshot before it opens the stream: the retries may be either request.
        wait_until(lambda: server.count(STREAM) + server.count(POLL) >= 4, 10, "the key to be retried")

    assert ready is False
    assert waited < 10  # it did not wait out its 30 s
    status = client.status()
    assert status.state is State.INITIALIZING and "rejected" in (status.last_error or "")
    assert len([r for r in caplog.records if "SDK key" in r.getMessage()]) == 1


def test_a_key_revoked_under_a_running_client_is_logged_once_and_shown_in_status(
    server: Any, make_client: Callable[..., Client], wait_until: WaitUntil, caplog: pytest.LogCaptureFixture
) -> None:
    revoked = server.sse("error", {"code": "key_revoked", "message": "revoked"})
    server.script(
        STREAM,
        server.stream(server.sse("snapshot", server.snapshot(1), 1)),
        server.respond(401, b"{}"),
    )
    # The first snapshot is fetched before the stream opens; every later fetch is refused.
    server.script(
        POLL, server.respond(200, json.dumps(server.snapshot(1)).encode()), server.respond(401, b"{}")
    )
    with caplog.at_level(logging.WARNING, logger="flagstaff"):
        client = make_client(server.base_url)
        assert client.wait_until_ready(10)
        server.script(STREAM, server.stream(revoked, hold=False), server.respond(401, b"{}"))
        server.drop_streams()  # the client reconnects and is told the key is revoked
        wait_until(lambda: server.count(STREAM) >= 5, 30, "the key to be retried")  # generous: loaded CI

    status = client.status()
    assert status.state is State.STALE
    assert "revoked" in (status.last_error or "") or "rejected" in (status.last_error or "")
    assert client.is_enabled("checkout")  # the last known flags are still served
    assert len([r for r in caplog.records if "SDK key" in r.getMessage()]) == 1


# -- lifecycle ------
@pytest.mark.parametrize("blocked_in", ["stream", "poll"])
def test_close_wakes_and_ends_the_threads(
    server: Any, make_client: Callable[..., Client], wait_until: WaitUntil, blocked_in: str
) -> None:
    before = _sdk_threads()
    if blocked_in == "stream":
        server.script(STREAM, server.stream(server.sse("snapshot", server.snapshot(1), 1)))
    else:
        server.script(STREAM, server.respond(503, b"{}"))
        server.script(POLL, server.hang())
    client = make_client(server.base_url)  # read timeout 30 s
    wait_until(lambda: server.count(STREAM if blocked_in == "stream" else POLL) >= 1, 10, "a request")
    if blocked_in == "stream":
        assert client.wait_until_ready(10)
    time.sleep(0.2)  # let the thread settle into its blocking read

    started = time.monotonic()
    client.close()

    assert time.monotonic() - started < 10  # it did not wait for the read timeout
    assert _sdk_threads() - before == set()
    assert client.status().state is State.CLOSED


def test_status_listeners_follow_the_stream_down_and_back(
    server: Any, make_client: Callable[..., Client], wait_until: WaitUntil
) -> None:
    server.script(STREAM, server.stream(server.sse("snapshot", server.snapshot(1), 1)))
    server.script(POLL, server.respond(503, b"{}"))
    heard: list[tuple[State, str | None]] = []
    client = make_client(server.base_url)
    client.on_status(lambda status: heard.append((status.state, status.last_error)))
    assert client.wait_until_ready(10)

    server.script(STREAM, server.respond(503, b"{}"))
    server.drop_streams()
    wait_until(lambda: client.status().state is State.STALE, 10, "the client to go stale")
    wait_until(lambda: server.count(STREAM) >= 4, 10, "several failed reconnections")  # each one is stale too
    server.script(STREAM, server.stream(server.sse("snapshot", server.snapshot(2), 2)))
    wait_until(lambda: client.revision == 2, 10, "the stream to come back")
    client.close()

    assert [state for state, _ in heard] == [State.VALID, State.STALE, State.VALID, State.CLOSED]
    assert heard[1][1] == "the server closed the stream"
