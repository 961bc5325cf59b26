"""Rollout plans on two real `flagstaff serve` replicas sharing one PostgreSQL database: both run the runner,
each step is written exactly once, and a replica killed (SIGKILL) half-way through a plan does not stop it."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.storage import schema_migrations
from flagstaff import Client
from tests.streaming.admin import ENV, Admin
from tests.streaming.processes import ServerProcess, wait_until

PERCENTS = [10, 25, 50, 75, 100]


@pytest.fixture(scope="module")
def pair(database_url: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two replicas started once for the module. The first looks for due plans every 0.05 s, the second every
    0.5 s: both claim steps, and the first wins most claims, so it is the one advancing a plan."""
    schema_migrations.upgrade(database_url)  # here, so that the replicas start within their deadline
    eager = ServerProcess(database_url, rollout_check_seconds="0.05")
    patient = ServerProcess(database_url, rollout_check_seconds="0.5")
    try:
        yield eager.start(), patient.start()
    finally:
        eager.kill()
        patient.kill()


@pytest.fixture
def replicas(pair: tuple[ServerProcess, ServerProcess]) -> tuple[ServerProcess, ServerProcess]:
    """The module's replicas, each started again if a test killed it."""
    for server in pair:
        if server.process is None or server.process.poll() is not None:
            server.start()
    return pair


def _start_plan(admin: Admin) -> dict[str, Any]:
    created = admin.http.put(
        f"/api/v1/projects/{admin.project}/flags/checkout",
        json={"kind": "string", "variations": ["old", "new"]},
    )
    assert created.status_code == 201, created.text
    admin.switch("checkout", "on")
    steps = [{"percent": p, "dwell_seconds": 1} for p in PERCENTS]
    response = admin.http.post(_rollouts(admin), json={"flag": "checkout", "variation": 1, "steps": steps})
    assert response.status_code == 201, response.text
    plan: dict[str, Any] = response.json()
    return plan


def _rollouts(admin: Admin, path: str = "") -> str:
    return f"/api/v1/projects/{admin.project}/environments/{ENV}/rollouts{path}"


def _plan(admin: Admin, plan_id: int) -> dict[str, Any]:
    body: dict[str, Any] = admin.http.get(_rollouts(admin, f"/{plan_id}")).json()
    return body


def _completed(admin: Admin, plan_id: int) -> dict[str, Any] | None:
    plan = _plan(admin, plan_id)
    return plan if plan["status"] == "completed" else None


def _assert_each_step_written_once(admin: Admin, plan_id: int) -> None:
    entries = admin.http.get("/api/v1/audit", params={"project": admin.project, "limit": 1000}).json()[
        "items"
    ]
    actor = f"rollout:{plan_id}"
    steps = [e["after"]["current_step"] for e in reversed(entries) if e["action"] == "rollout.step"]
    assert steps == list(range(len(PERCENTS)))
    writes = [e for e in reversed(entries) if e["action"] == "flag.update" and e["actor"] == actor]
    weights = [e["after"]["fallthrough"]["rollout"]["variations"][0]["weight"] for e in writes]
    assert weights == [p * 1000 for p in PERCENTS]
    assert next(e["action"] for e in entries if e["action"].startswith("rollout.")) == "rollout.complete"
    history = admin.http.get(
        f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/checkout/history", params={"limit": 500}
    ).json()["items"]
    assert sum(entry["actor"] == actor for entry in history) == len(PERCENTS)


def test_two_replicas_write_each_step_of_a_plan_exactly_once(
    replicas: tuple[ServerProcess, ServerProcess], make_client: Callable[..., Client]
) -> None:
    first, second = replicas
    admin = Admin(first.base_url)
    try:
        secret, _ = admin.sdk_key()
        sdk = make_client(secret, second.base_url)
        plan = _start_plan(admin)

        done = wait_until(lambda: _completed(admin, plan["id"]), 20, "the plan to complete")

        assert (done["current_step"], done["percent"]) == (len(PERCENTS) - 1, 100.0)
        _assert_each_step_written_once(admin, plan["id"])
        assert wait_until(
            lambda: sdk.variation("checkout", {"key": "anyone"}, "none") == "new", 10, "the SDK"
        )
        # The SDK is connected to the second replica, which counts its confirmation of the last step.
        admin.use(second.base_url)
        confirmed = wait_until(
            lambda: (_plan(admin, plan["id"])["propagation"] or {}).get("confirmed") == 1, 10, "the SDK's ack"
        )
        assert confirmed
    finally:
        admin.close()


def test_a_plan_goes_on_when_the_replica_advancing_it_is_killed(
    replicas: tuple[ServerProcess, ServerProcess],
) -> None:
    eager, patient = replicas  # the eager one wins nearly every claim: it is advancing the plan
    admin = Admin(patient.base_url)
    try:
        plan = _start_plan(admin)
        wait_until(lambda: _plan(admin, plan["id"])["current_step"] >= 1, 10, "the second step")
        assert eager.process is not None
        eager.process.send_signal(signal.SIGKILL)
        eager.process.wait(10)
        killed_at = _plan(admin, plan["id"])["current_step"]
        assert killed_at < len(PERCENTS) - 1, "the plan had finished before the kill: nothing was shown"

        done = wait_until(lambda: _completed(admin, plan["id"]), 20, "the plan to complete on the survivor")

        assert done["current_step"] == len(PERCENTS) - 1
        _assert_each_step_written_once(admin, plan["id"])
    finally:
        admin.close()
