"""One contract for every AckRegistry (in process, Redis): only an instance present with a key may acknowledge
with it, a revision never moves back, an instance that left is forgotten with its acknowledgement a TTL later,
and the registry says since when its record is complete."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import redis

from app.streaming.ack_registry import Ack, AckRegistry, InProcessAckRegistry, RedisAckRegistry
from tests.streaming.processes import RedisServer

TTL = 5.0
ENV = 7
Make = Callable[..., AckRegistry]


@pytest.fixture(scope="module")
def redis_for_module() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["in_process", "redis"])
def make_registry(request: pytest.FixtureRequest) -> Iterator[Make]:
    if request.param == "in_process":
        yield lambda ttl=TTL: InProcessAckRegistry(ttl)
        return
    url = request.getfixturevalue("redis_for_module").url
    with redis.Redis.from_url(url) as db:
        db.flushall()
    yield lambda ttl=TTL: RedisAckRegistry(url, ttl)


def _instances(registry: AckRegistry, now: float) -> dict[str, Ack | None]:
    found = registry.instances(ENV, now)
    assert found is not None
    return found.instances


def test_an_ack_from_an_instance_that_is_not_present_is_refused_and_stores_nothing(
    make_registry: Make,
) -> None:
    registry = make_registry()
    now = time.time()

    assert registry.record_ack(ENV, "key1", "made-up", 3, now) is False

    registry.mark_connected([(ENV, "key1", "made-up")], now + TTL)
    assert _instances(registry, now) == {"key1/made-up": None}  # the refused ack was not kept for later


def test_an_ack_under_another_key_than_the_instance_is_present_with_is_refused(make_registry: Make) -> None:
    registry = make_registry()
    now = time.time()
    registry.mark_connected([(ENV, "key1", "a")], now + TTL)

    assert registry.record_ack(ENV, "key2", "a", 3, now) is False
    assert registry.record_ack(ENV + 1, "key1", "a", 3, now) is False  # nor in another environment
    assert _instances(registry, now) == {"key1/a": None}


def test_a_present_instance_is_listed_with_its_latest_ack_and_a_late_ack_never_moves_it_back(
    make_registry: Make,
) -> None:
    registry = make_registry()
    now = time.time()
    registry.mark_connected([(ENV, "key1", "a"), (ENV, "key1", "b")], now + TTL)

    assert registry.record_ack(ENV, "key1", "a", 5, now)
    assert registry.record_ack(ENV, "key1", "a", 4, now + 1)  # accepted, but changes nothing

    assert _instances(registry, now + 1) == {"key1/a": Ack(5, pytest.approx(now, abs=0.001)), "key1/b": None}


def test_each_present_instance_is_listed_with_when_it_was_last_seen(make_registry: Make) -> None:
    registry = make_registry()
    now = time.time()
    registry.mark_connected([(ENV, "key1", "a"), (ENV, "key1", "b")], now + TTL)
    registry.mark_connected([(ENV, "key1", "b")], now + 2 + TTL)  # b refreshed two seconds later

    found = registry.instances(ENV, now + 3)

    assert found is not None
    assert found.seen == {
        "key1/a": pytest.approx(now, abs=0.001),
        "key1/b": pytest.approx(now + 2, abs=0.001),
    }


def test_an_instance_whose_presence_expired_is_not_listed_and_cannot_acknowledge(make_registry: Make) -> None:
    registry = make_registry()
    now = time.time()
    registry.mark_connected([(ENV, "key1", "a")], now + 1)
    registry.mark_connected([(ENV, "key1", "b")], now + TTL)

    assert list(_instances(registry, now + 2)) == ["key1/b"]
    assert registry.record_ack(ENV, "key1", "a", 3, now + 2) is False


def test_a_disconnected_instance_is_not_listed_but_keeps_its_confirmation_for_a_quick_reconnect(
    make_registry: Make,
) -> None:
    registry = make_registry()
    now = time.time()
    registry.mark_connected([(ENV, "key1", "a")], now + TTL)
    registry.record_ack(ENV, "key1", "a", 5, now)

    registry.mark_disconnected(ENV, "key1", "a", now + 1)
    assert _instances(registry, now + 1.5) == {}
    registry.prune([ENV], now + 2)  # within a TTL: kept

    registry.mark_connected([(ENV, "key1", "a")], now + 2 + TTL)
    assert _instances(registry, now + 2)["key1/a"] == Ack(5, pytest.approx(now, abs=0.001))


def test_an_instance_absent_for_more_than_a_ttl_is_pruned_with_its_acknowledgement(
    make_registry: Make,
) -> None:
    registry = make_registry()
    now = time.time()
    registry.mark_connected([(ENV, "key1", "a")], now + TTL)
    registry.mark_connected([(ENV, "key1", "b")], now + 1)
    registry.record_ack(ENV, "key1", "a", 5, now)
    registry.record_ack(ENV, "key1", "b", 5, now)
    registry.mark_disconnected(ENV, "key1", "a", now + 0.5)

    registry.prune([ENV], now + 1 + TTL + 0.1)

    registry.mark_connected([(ENV, "key1", "a"), (ENV, "key1", "b")], now + 3 * TTL)
    assert _instances(registry, now + 2 + TTL) == {"key1/a": None, "key1/b": None}


def test_reading_prunes_too(make_registry: Make) -> None:
    registry = make_registry()
    now = time.time()
    registry.mark_connected([(ENV, "key1", "a")], now + 1)
    registry.record_ack(ENV, "key1", "a", 5, now)

    assert _instances(registry, now + 1 + TTL + 0.1) == {}

    registry.mark_connected([(ENV, "key1", "a")], now + 3 * TTL)
    assert _instances(registry, now + 2 + TTL) == {"key1/a": None}


def test_the_record_is_complete_since_the_registry_began_and_stays_so(make_registry: Make) -> None:
    before = time.time()
    registry = make_registry()
    registry.mark_connected([], time.time() + TTL)
    first = registry.instances(ENV, time.time())
    second = registry.instances(ENV, time.time())

    assert first is not None and second is not None
    assert before - 0.01 <= first.since <= time.time()
    assert second.since == first.since and first.origin


def test_redis_that_lost_its_data_begins_a_new_record(redis_for_module: RedisServer) -> None:
    registry = RedisAckRegistry(redis_for_module.url, TTL)
    registry.mark_connected([(ENV, "key1", "a")], time.time() + TTL)
    began = registry.instances(ENV, time.time())
    assert began is not None and began.instances

    with redis.Redis.from_url(redis_for_module.url) as db:
        db.flushall()
    after = registry.instances(ENV, time.time())

    assert after is not None and after.instances == {}
    assert after.since > began.since and "Redis" in after.origin


def test_a_redis_record_no_server_kept_alive_for_a_ttl_begins_afresh(redis_for_module: RedisServer) -> None:
    registry = RedisAckRegistry(redis_for_module.url, 0.3)
    registry.mark_connected([], time.time() + 0.3)
    began = registry.instances(ENV, time.time())

    time.sleep(0.5)  # no server touched the record: every presence entry would have expired meanwhile
    after = registry.instances(ENV, time.time())

    assert began is not None and after is not None and after.since > began.since


def test_an_unreachable_redis_reads_as_unavailable_and_refuses_to_store(redis_server: RedisServer) -> None:
    registry = RedisAckRegistry(redis_server.url, TTL)
    registry.mark_connected([(ENV, "key1", "a")], time.time() + TTL)
    redis_server.stop()

    assert registry.instances(ENV, time.time()) is None
    with pytest.raises(redis.RedisError):
        registry.record_ack(ENV, "key1", "a", 5, time.time())
    registry.mark_connected([(ENV, "key1", "a")], time.time() + TTL)  # logged, never raised
    registry.prune([ENV], time.time())
