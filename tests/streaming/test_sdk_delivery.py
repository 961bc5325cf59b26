"""What an SDK downloads: its first snapshot compressed (not the stream's uncompressed one), and nothing again
when a rolling restart moves its stream to another replica; and what it says when that first download fails.
A balancer in front of the servers records every byte, so the tests read what was asked and sent."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from flagstaff import Client
from tests.streaming.admin import ENV, Admin
from tests.streaming.balancer import Balancer
from tests.streaming.conftest import FAST_SDK
from tests.streaming.processes import RedisServer, ServerProcess, free_port, wait_until

USERS = [f"user-{index:05d}@example.com" for index in range(3000)]


@pytest.fixture
def balancer() -> Iterator[Callable[..., Balancer]]:
    started: list[Balancer] = []

    def start(*servers: ServerProcess) -> Balancer:
        started.append(Balancer([server.port for server in servers]).start())
        return started[-1]

    yield start
    for each in started:
        each.close()


def _large_environment(admin: Admin) -> tuple[str, int]:
    """A flag targeting 3,000 users, and a small one to switch; returns an SDK key and the snapshot's
    uncompressed size."""
    admin.create_flag("checkout")
    admin.create_flag("beta", enabled=False)
    url = f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/beta"
    targets = admin.http.patch(url, json={"enabled": True, "targets": [{"variation": 0, "values": USERS}]})
    assert targets.status_code == 200, targets.text
    key, _ = admin.sdk_key()
    identity = admin.http.get(
        "/sdk/v1/flags", headers={"Authorization": f"Bearer {key}", "Accept-Encoding": "identity"}
    )
    assert identity.status_code == 200 and "content-encoding" not in identity.headers
    return key, len(identity.content)


def test_a_new_sdk_downloads_its_snapshot_compressed_then_streams_from_its_revision(
    admin: Admin,
    server: ServerProcess,
    balancer: Callable[..., Balancer],
    make_client: Callable[..., Client],
) -> None:
    key, identity_size = _large_environment(admin)
    front = balancer(server)
    client = make_client(key, front.base_url)
    assert client.wait_until_ready(5)
    assert client.variation("beta", {"key": USERS[1234]}, False) is True
    admin.switch("checkout", "kill")
    wait_until(lambda: client.is_enabled("checkout") is False, 3, "the kill")

    sent, received = front.sent().lower(), front.received()
    assert b"get /sdk/v1/flags" in sent and b"accept-encoding: gzip" in sent
    assert b"last-event-id:" in sent  # the stream opened at the revision just downloaded
    assert b"event: snapshot" not in received
    assert len(received) < identity_size / 4, (len(received), identity_size)


def test_a_rolling_restart_moves_every_stream_to_the_other_replica_without_a_download(
    redis_server: RedisServer,
    start_server: Callable[..., ServerProcess],
    balancer: Callable[..., Balancer],
    make_client: Callable[..., Client],
) -> None:
    first, second = start_server(redis_server.url), start_server(redis_server.url)
    admin = Admin(first.base_url)
    key, _ = _large_environment(admin)
    front = balancer(first, second)
    clients = [make_client(key, front.base_url) for _ in range(8)]
    assert all(client.wait_until_ready(5) for client in clients)
    wait_until(lambda: front.streams_to(first.port) + front.streams_to(second.port) == 8, 5, "8 streams")
    on_first, on_second = front.streams_to(first.port), front.streams_to(second.port)
    assert front.received().count(b"content-encoding: gzip") == 8  # one compressed download each

    assert first.terminate() in (0, -15)  # SIGTERM: the streams there are told to reconnect
    wait_until(lambda: front.streams_to(second.port) == on_second + on_first, 10, "every stream on the other")
    admin.use(second.base_url).switch("checkout", "kill")
    for client in clients:
        wait_until(lambda c=client: c.is_enabled("checkout") is False, 5, "the kill on every SDK")

    sent, received = front.sent().lower(), front.received()
    assert on_first >= 1, "some streams were on the stopped replica"
    assert sent.count(b"last-event-id:") == sent.count(b"get /sdk/v1/stream")  # every stream resumed
    assert received.count(b"content-encoding: gzip") == 8  # and nobody downloaded the snapshot again
    assert b"event: snapshot" not in received
    admin.close()


def test_an_sdk_that_cannot_fetch_its_first_snapshot_says_it_serves_cached_flags(
    admin: Admin, server: ServerProcess, make_client: Callable[..., Client], tmp_path: Path
) -> None:
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    cache = tmp_path / "flags.json"
    first = make_client(key, server.base_url, cache_path=cache)
    assert first.wait_until_ready(5)
    wait_until(lambda: cache.exists() and "checkout" in cache.read_text(), 5, "the cache")
    first.close()

    # A long backoff: after the first failed fetch and stream, nothing else runs for a while.
    patient = replace(FAST_SDK, initial_backoff=5.0, max_backoff=5.0)
    second = make_client(key, f"http://127.0.0.1:{free_port()}", cache_path=cache, options=patient)
    assert second.wait_until_ready(5) and second.is_enabled("checkout")
    time.sleep(0.3)  # the failed fetch and the failed stream have both been reported by now
    status = second.status()
    assert status.state == "stale" and "serving cached flags" in (status.last_error or ""), status
