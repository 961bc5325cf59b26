"""Who the propagation report counts: only SDK instances that stream or poll with the key that acknowledges;
acknowledgements are rate limited per key and forgotten once their instance has left; and a report that cannot
know every connected instance (a server or Redis just restarted) says so."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import redis

from flagstaff import Client
from flagstaff.live import LiveDataSource
from tests.streaming.admin import Admin
from tests.streaming.conftest import FAST_SDK
from tests.streaming.processes import RedisServer, ServerProcess, wait_until

SourceClient = tuple[Client, LiveDataSource]


@pytest.fixture
def make_sdk() -> Iterator[Callable[[str, str], SourceClient]]:
    """A real SDK client and its data source, whose instance id the assertions need."""
    made: list[Client] = []

    def make(sdk_key: str, base_url: str) -> SourceClient:
        source = LiveDataSource(sdk_key, base_url, options=FAST_SDK)
        client = Client(data_source=source)
        made.append(client)
        assert client.wait_until_ready(5)
        return client, source

    yield make
    for client in made:
        client.close()


@pytest.fixture
def admin_of() -> Iterator[Callable[[ServerProcess], Admin]]:
    admins: list[Admin] = []

    def make(server: ServerProcess) -> Admin:
        admins.append(Admin(server.base_url))
        return admins[-1]

    yield make
    for admin in admins:
        admin.close()


def _ack(http: httpx.Client, base_url: str, sdk_key: str, instance_id: str, revision: int) -> httpx.Response:
    return http.post(
        f"{base_url}/sdk/v1/acks",
        json={"instance_id": instance_id, "revision": revision},
        headers={"Authorization": f"Bearer {sdk_key}"},
    )


class AckFlood:
    """Eight threads acknowledging `revision` for made-up instance ids, round after round, until stopped:
    a client that keeps claiming thousands of instances, as one did in the field."""

    def __init__(self, base_url: str, sdk_key: str, instance_ids: list[str], revision: int) -> None:
        self.statuses: set[int] = set()
        self.rounds = 0
        self._args = (base_url, sdk_key, revision)
        self._ids = instance_ids
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> AckFlood:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        local = threading.local()
        opened: list[httpx.Client] = []

        def post(instance_id: str) -> int:
            if not hasattr(local, "http"):
                local.http = httpx.Client(timeout=10)
                opened.append(local.http)
            return _ack(local.http, *self._args[:2], instance_id, self._args[2]).status_code

        try:
            with ThreadPoolExecutor(8) as pool:
                while not self._stop.is_set():
                    self.statuses.update(pool.map(post, self._ids))
                    self.rounds += 1
        finally:
            for http in opened:
                http.close()


def _complete(admin: Admin) -> dict[str, Any] | None:
    report = admin.propagation()
    return report if report.get("presence", "complete") == "complete" else None


def _mentions(redis_url: str, instance_id: str) -> list[str]:
    """Every Flagstaff key in Redis whose hash fields or set members name `instance_id`."""
    found: list[str] = []
    with redis.Redis.from_url(redis_url, decode_responses=True) as db:
        for key in db.scan_iter("fs:*"):
            kind = db.type(key)
            members = db.hkeys(key) if kind == "hash" else db.zrange(key, 0, -1) if kind == "zset" else []
            if any(instance_id in member for member in members):
                found.append(key)
    return found


def test_acks_for_made_up_instances_are_not_counted_and_a_kill_returns_once_the_real_sdk_confirms(
    start_server: Callable[..., ServerProcess],
    admin_of: Callable[[ServerProcess], Admin],
    make_sdk: Callable[[str, str], SourceClient],
) -> None:
    server = start_server(sdk_ack_rate_per_key="1000000")  # the flood must not be limited, only ignored
    admin = admin_of(server)
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    client, _ = make_sdk(key, server.base_url)
    wait_until(lambda: (r := _complete(admin)) and r["confirmed"] == 1, 10, "the real SDK's confirmation")

    made_up = [f"made-up-{i}" for i in range(2000)]
    with AckFlood(server.base_url, key, made_up, client.revision) as flood:
        wait_until(lambda: flood.rounds >= 1, 60, "every made-up instance to have acknowledged")
        result = admin.switch("checkout", "kill", wait=10)

    propagation = result["propagation"]
    assert propagation["confirmed"] == 1 and propagation["unconfirmed"] == 0, propagation
    assert propagation["presence"] == "complete" and propagation["note"] is None
    assert flood.statuses == {409}  # refused as not connected, never stored


def test_an_ack_counts_only_from_an_instance_that_streams_or_polls_with_the_same_key(
    admin: Admin, server: ServerProcess, make_sdk: Callable[[str, str], SourceClient]
) -> None:
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    other_key, _ = admin.sdk_key()
    _, streaming = make_sdk(key, server.base_url)
    revision = admin.propagation()["revision"]
    with httpx.Client(timeout=10) as http:
        # The streaming instance's id, but another key: refused, and not counted.
        refused = _ack(http, server.base_url, other_key, streaming.instance_id, revision)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "not_connected"
        assert refused.json()["error"]["field"] == "instance_id"

        # An instance that polls (its stream down, say) counts once it has polled, with the key it polls with.
        assert _ack(http, server.base_url, other_key, "poller-1", revision).status_code == 409
        headers = {"Authorization": f"Bearer {other_key}", "X-Flagstaff-Instance": "poller-1"}
        assert http.get(f"{server.base_url}/sdk/v1/flags", headers=headers).status_code == 200
        wait_until(
            lambda: _ack(http, server.base_url, other_key, "poller-1", revision).status_code == 204,
            5,
            "the poll to make the instance present",
        )
    report = wait_until(
        lambda: (r := _complete(admin)) and r["confirmed"] == 2 and r, 10, "two confirmations"
    )
    assert report["unconfirmed"] == 0


def test_acks_beyond_the_per_key_rate_get_429_and_other_keys_are_unaffected(
    start_server: Callable[..., ServerProcess], admin_of: Callable[[ServerProcess], Admin]
) -> None:
    server = start_server(sdk_ack_rate_per_key="5")
    admin = admin_of(server)
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    other_key, _ = admin.sdk_key()
    with httpx.Client(timeout=10) as http:
        responses = [_ack(http, server.base_url, key, "instance-1", 1) for _ in range(20)]
        other = _ack(http, server.base_url, other_key, "instance-1", 1)

    statuses = [r.status_code for r in responses]
    assert statuses[0] != 429 and statuses.count(429) >= 10, statuses
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited.headers["Retry-After"] == "1"
    assert other.status_code != 429


def test_a_report_right_after_a_server_restart_says_presence_is_unknown_until_sdks_could_reconnect(
    start_server: Callable[..., ServerProcess],
    admin_of: Callable[[ServerProcess], Admin],
    make_sdk: Callable[[str, str], SourceClient],
) -> None:
    server = start_server(stream_presence_ttl_seconds="10")
    admin = admin_of(server)
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    make_sdk(key, server.base_url)
    wait_until(lambda: admin.propagation()["confirmed"] == 1, 10, "the SDK's confirmation")

    server.restart()  # in-process presence: everything it knew is gone
    propagation = admin.switch("checkout", "kill", wait=1)["propagation"]

    assert propagation["presence"] == "unknown", propagation
    assert "started" in propagation["note"] and "reconnect" in propagation["note"]
    assert admin.propagation()["presence"] == "unknown"
    report = wait_until(
        lambda: (r := _complete(admin)) and r["confirmed"] == 1 and r, 20, "presence to be complete again"
    )
    assert report["unconfirmed"] == 0 and report["note"] is None


def test_a_report_after_redis_lost_its_data_says_presence_is_unknown(
    start_server: Callable[..., ServerProcess],
    admin_of: Callable[[ServerProcess], Admin],
    make_sdk: Callable[[str, str], SourceClient],
    redis_server: RedisServer,
) -> None:
    server = start_server(redis_server.url, stream_presence_ttl_seconds="4")
    admin = admin_of(server)
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    make_sdk(key, server.base_url)
    wait_until(lambda: (r := _complete(admin)) and r["confirmed"] == 1, 15, "a complete report")

    redis_server.stop()
    redis_server.start()  # no persistence: every presence and acknowledgement entry is gone
    report = wait_until(lambda: (r := admin.propagation())["available"] and r, 5, "Redis to answer")

    assert report.get("presence") == "unknown", report
    assert "Redis" in report["note"]
    wait_until(lambda: _complete(admin), 15, "presence to be complete again")
    propagation = admin.switch("checkout", "kill", wait=5)["propagation"]
    assert propagation["confirmed"] == 1 and propagation["unconfirmed"] == 0, propagation


def test_the_acknowledgement_of_an_instance_that_left_is_pruned_from_redis(
    start_server: Callable[..., ServerProcess],
    admin_of: Callable[[ServerProcess], Admin],
    make_sdk: Callable[[str, str], SourceClient],
    redis_server: RedisServer,
) -> None:
    server = start_server(redis_server.url, stream_presence_ttl_seconds="2")
    admin = admin_of(server)
    admin.create_flag("checkout")
    key, _ = admin.sdk_key()
    leaving, leaving_source = make_sdk(key, server.base_url)
    make_sdk(key, server.base_url)  # stays connected, so the environment's keys stay alive
    wait_until(lambda: admin.propagation()["confirmed"] == 2, 10, "both confirmations")
    assert len(_mentions(redis_server.url, leaving_source.instance_id)) >= 2  # presence and acknowledgement

    leaving.close()

    wait_until(
        lambda: not _mentions(redis_server.url, leaving_source.instance_id), 15, "the instance to be pruned"
    )
    assert admin.propagation()["confirmed"] == 1
