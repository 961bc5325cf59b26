"""The SDK under failure: unreachable server with a cache file, revoked keys, fork, graceful shutdown."""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import httpx_sse
import pytest

from flagstaff import Client
from tests.streaming.admin import Admin
from tests.streaming.conftest import FAST_SDK
from tests.streaming.processes import ServerProcess, free_port, wait_until


def test_an_sdk_starting_while_the_server_is_unreachable_serves_the_cache_file(
    admin: Admin, server: ServerProcess, make_client: Callable[..., Client], tmp_path: Path
) -> None:
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    cache = tmp_path / "flags.json"
    first = make_client(key, server.base_url, cache_path=cache)
    assert first.wait_until_ready(5)
    wait_until(
        lambda: cache.exists() and "checkout" in json.loads(cache.read_text())["flags"], 5, "the cache"
    )
    first.close()

    unreachable = f"http://127.0.0.1:{free_port()}"
    second = make_client(key, unreachable, cache_path=cache)

    assert second.wait_until_ready(5)
    assert second.is_enabled("checkout")
    status = second.status()
    assert status.state == "stale" and "cached" in (status.last_error or "")


def test_without_a_cache_an_unreachable_server_means_defaults_and_no_exception(
    make_client: Callable[..., Client],
) -> None:
    client = make_client("fs_sdk_000000000000_x", f"http://127.0.0.1:{free_port()}")
    assert client.wait_until_ready(0.3) is False
    assert client.is_enabled("checkout", default=True) is True
    assert client.evaluate("checkout").error_code == "PROVIDER_NOT_READY"


def test_revoking_the_key_closes_its_stream_and_the_status_says_so(
    admin: Admin, server: ServerProcess, make_client: Callable[..., Client]
) -> None:
    admin.create_flag("checkout")
    key, key_id = admin.sdk_key()
    client = make_client(key, server.base_url)
    assert client.wait_until_ready(5)

    admin.revoke(key_id)

    status = wait_until(lambda: (s := client.status()).state == "stale" and s, 5, "the revocation to be seen")
    assert "revoked" in (status.last_error or "") or "rejected" in (status.last_error or "")
    assert client.is_enabled("checkout")  # the last known flags keep being served


def test_a_wrong_key_ends_wait_until_ready_at_once_and_is_logged_once(
    server: ServerProcess, make_client: Callable[..., Client], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="flagstaff"):
        client = make_client("fs_sdk_000000000000_wrong", server.base_url)
        started = time.monotonic()
        ready = client.wait_until_ready(timeout=30)
        waited = time.monotonic() - started
        time.sleep(1.5)  # the key is retried every 0.5 s meanwhile

    assert ready is False
    assert waited < 10  # the 401 ended the wait, not the 30 s timeout
    assert "rejected" in (client.status().last_error or "")
    assert len([r for r in caplog.records if "SDK key" in r.getMessage()]) == 1


def test_close_ends_the_sdk_threads_while_the_stream_is_open(
    start_server: Callable[..., ServerProcess], make_client: Callable[..., Client]
) -> None:
    # No heartbeat for a minute: only close() itself can wake the thread reading the stream.
    quiet = start_server(stream_heartbeat_seconds="60")
    admin = Admin(quiet.base_url)
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    admin.close()
    before = set(threading.enumerate())
    client = make_client(key, quiet.base_url, options=dataclasses.replace(FAST_SDK, read_timeout=90))
    assert client.wait_until_ready(5)
    time.sleep(1)  # let the thread settle into its blocking read

    client.close()

    assert [t.name for t in set(threading.enumerate()) - before if t.name.startswith("flagstaff")] == []


def _child_sees_kill(client: Client, result: multiprocessing.SimpleQueue[object], ready: object) -> None:
    ready.set()  # type: ignore[attr-defined]
    try:
        wait_until(lambda: not client.is_enabled("checkout"), 10, "the kill in the child")
        result.put(("ok", client._source.instance_id))  # type: ignore[attr-defined]
    except AssertionError as error:
        result.put(("failed", str(error)))


def test_a_forked_child_gets_its_own_working_stream(
    admin: Admin, server: ServerProcess, make_client: Callable[..., Client]
) -> None:
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    client = make_client(key, server.base_url)
    assert client.wait_until_ready(5)
    context = multiprocessing.get_context("fork")
    result: multiprocessing.SimpleQueue[object] = context.SimpleQueue()
    ready = context.Event()
    child = context.Process(target=_child_sees_kill, args=(client, result, ready))
    child.start()
    assert ready.wait(5)

    admin.switch("checkout", "kill")

    child.join(15)
    outcome, detail = result.get()  # type: ignore[misc]
    assert outcome == "ok", detail
    assert detail != client._source.instance_id  # type: ignore[attr-defined]
    assert child.exitcode == 0
    assert os.getpid() != child.pid


def test_sigterm_tells_connected_clients_to_reconnect_after_a_delay(
    admin: Admin, server: ServerProcess
) -> None:
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    events: list[httpx_sse.ServerSentEvent] = []
    with (
        httpx.Client(timeout=5) as http,
        httpx_sse.connect_sse(
            http, "GET", f"{server.base_url}/sdk/v1/stream", headers={"Authorization": f"Bearer {key}"}
        ) as source,
    ):
        stream = source.iter_sse()
        events.append(next(stream))
        assert server.process is not None
        server.process.send_signal(15)
        events.extend(stream)
    assert [e.event for e in events] == ["snapshot", "reconnect"]
    assert 0 <= json.loads(events[1].data)["delay_ms"] <= 500
    # A generic EventSource client, which ignores the event's data, waits the same delay before reconnecting.
    assert events[1].retry == json.loads(events[1].data)["delay_ms"]
    # uvicorn finishes its graceful shutdown, then exits by re-raising the signal it was sent.
    assert server.process.wait(10) in (0, -15)
