"""A guarded rollout end to end, on real processes: two `flagstaff serve` replicas sharing PostgreSQL and
Redis, and real SDK clients spread over them, serving traffic in threads and reporting each request and
failure with `client.track`, their metrics sent every 0.2 s. A plan releases "new" step by step (1 to 100 %,
1 s each) under an SDK guard: when "new" fails three times as often as "old", the plan is rolled back on its
own and every SDK serves "old" again, the audit log saying why; when both fail alike, the plan completes and
every SDK serves "new"."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.storage import schema_migrations
from flagstaff import Client
from tests.releases.conftest import QUICK_RUNNER, STARTUP_SECONDS
from tests.releases.plans import (
    NEW,
    OLD,
    PERCENTS,
    assert_rolled_back,
    audit,
    create_old_new_flag,
    finished,
    flag_in_env,
    start_plan,
)
from tests.releases.traffic import Traffic, serves_everyone
from tests.streaming.admin import Admin
from tests.streaming.processes import RedisServer, ServerProcess, wait_until

DWELL_SECONDS = 1
CLIENTS = 4
RATE = 1_600  # requests/s over all clients: 16/s at the 1 % step, which waits ~6 s for min_sample
CONTROL_ERRORS = 0.05
GUARD = {
    "source": "sdk",
    "ratio": 1.5,
    "min_sample": 100,
    # Above the default (0.999): a healthy plan is judged some 50 times here, and each look is a chance of a
    # false trip; at 0.9999 that chance is about 1 in 10,000 runs, and a 3x treatment still trips by 10 %.
    "confidence": 0.9999,
    "failure_event": "error",
    "total_event": "request",
}


@pytest.fixture(scope="module")
def replicas(database_url: str) -> Iterator[list[ServerProcess]]:
    """Two replicas with Redis fan-out, started once for the module, migrated beforehand so that both start
    within their deadline."""
    redis = RedisServer().start()
    schema_migrations.upgrade(database_url)
    servers = [ServerProcess(database_url, redis.url, **QUICK_RUNNER).launch() for _ in range(2)]
    try:
        for server in servers:
            server.wait_ready(STARTUP_SECONDS)
        yield servers
    finally:
        for server in servers:
            server.kill()
        redis.stop()


@pytest.fixture
def admin(replicas: list[ServerProcess]) -> Iterator[Admin]:
    client = Admin(replicas[0].base_url)
    yield client
    client.close()


def _roll_out(
    admin: Admin,
    replicas: list[ServerProcess],
    sdk_client: Callable[[str, str], Client],
    treatment_errors: float,
) -> tuple[dict[str, Any], list[Client], Traffic]:
    """Starts traffic on clients spread over the replicas, then the plan; returns the plan once it ended."""
    create_old_new_flag(admin, "checkout")
    secret, _ = admin.sdk_key()
    clients = [sdk_client(secret, replicas[index % len(replicas)].base_url) for index in range(CLIENTS)]
    traffic = Traffic(clients, {"checkout": {OLD: CONTROL_ERRORS, NEW: treatment_errors}}, RATE).start()
    try:
        started = start_plan(admin, "checkout", PERCENTS, DWELL_SECONDS, GUARD)
        ended: dict[str, Any] = wait_until(lambda: finished(admin, started["id"]), 60, "the plan to end")
    finally:
        traffic.stop()
    return ended, clients, traffic


def test_a_treatment_failing_three_times_as_often_is_rolled_back_on_every_sdk(
    admin: Admin, replicas: list[ServerProcess], sdk_client: Callable[[str, str], Client]
) -> None:
    plan, clients, traffic = _roll_out(admin, replicas, sdk_client, treatment_errors=3 * CONTROL_ERRORS)

    assert_rolled_back(admin, plan, GUARD)
    assert traffic.served["checkout", NEW] > 0  # the treatment was really served before the rollback
    # Every client, on either replica, serves the old value to every context again.
    assert wait_until(lambda: serves_everyone(clients, "checkout", OLD), 20, "every SDK to serve old")


def test_a_treatment_failing_as_often_as_the_control_is_released_to_everyone(
    admin: Admin, replicas: list[ServerProcess], sdk_client: Callable[[str, str], Client]
) -> None:
    plan, clients, _ = _roll_out(admin, replicas, sdk_client, treatment_errors=CONTROL_ERRORS)

    assert plan["status"] == "completed", plan
    assert plan["trip"] is None and plan["last_check"]["outcome"] == "healthy"
    assert wait_until(lambda: serves_everyone(clients, "checkout", NEW), 20, "every SDK to serve new")
    steps = [entry["after"]["percent"] for entry in audit(admin, "rollout.step")]
    assert steps == PERCENTS
    assert audit(admin, "rollout.rollback") == []
    flag = flag_in_env(admin, "checkout")
    assert flag["fallthrough"]["rollout"]["variations"][0] == {"variation": 1, "weight": 100_000}
    assert not flag.get("track_events", False)  # back to what it was before the plan
