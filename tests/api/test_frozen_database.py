"""A frozen PostgreSQL (SIGSTOP: its sockets stay open, nothing answers) under a real server process: writes
fail fast with 503, liveness and metrics still answer while every connection and worker thread is stuck,
readiness says the database is unavailable, and everything recovers once the database resumes.

The cluster is a throwaway one of this module's own; the machine's shared PostgreSQL is never frozen."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from app.storage.database import MAX_OVERFLOW, POOL_SIZE
from tests.api.helpers import env_flag_url, error_of
from tests.streaming.admin import ENV, Admin
from tests.streaming.processes import ServerProcess, wait_until
from tests.throwaway_postgres import ThrowawayPostgres, established_connections_to

# Short bounds, so a test waits a few seconds for the server to give up, not the defaults' several; each is
# still longer than the readiness timeout, so a readiness answer that waited for the database would show.
SHORT_TIMEOUTS = {
    "database_connect_timeout_seconds": "2",
    "database_statement_timeout_seconds": "1",
    "database_pool_timeout_seconds": "1",
    "readiness_timeout_seconds": "1",
}
# Longer bounds, so that no stuck write gives up while the test asks liveness, metrics and readiness.
PATIENT_TIMEOUTS = {
    "database_connect_timeout_seconds": "5",
    "database_statement_timeout_seconds": "5",
    "database_pool_timeout_seconds": "5",
    "readiness_timeout_seconds": "1",
}
NO_ANSWER = "the database did not answer within 1 s"
# A hang detector, far above every bound above: a request still unanswered by then is stuck for good.
STUCK_AFTER = 20.0
# More concurrent writes than the connection pool and the server's worker threads (40) can hold.
WRITERS = 50


@pytest.fixture(scope="module")
def cluster() -> Iterator[ThrowawayPostgres]:
    postgres = ThrowawayPostgres().start()
    yield postgres
    postgres.stop()


@pytest.fixture(scope="module")
def module_server(cluster: ThrowawayPostgres) -> Iterator[ServerProcess]:
    server = ServerProcess(cluster.url, **SHORT_TIMEOUTS).start()
    yield server
    server.kill()


@pytest.fixture
def admin(module_server: ServerProcess) -> Iterator[Admin]:
    module_server.wait_ready()  # a previous test's freeze is over and the server has recovered
    client = Admin(module_server.base_url)
    client.http.timeout = httpx.Timeout(STUCK_AFTER)
    yield client
    client.close()


@pytest.fixture
def patient_admin(cluster: ThrowawayPostgres) -> Iterator[Admin]:
    server = ServerProcess(cluster.url, **PATIENT_TIMEOUTS).start()
    client = Admin(server.base_url)
    client.http.timeout = httpx.Timeout(STUCK_AFTER)
    yield client
    client.close()
    server.kill()


def _kill(admin: Admin, flag: str) -> httpx.Response:
    url = env_flag_url(admin.project, ENV, flag, "kill")
    return admin.http.post(url, json={"reason": "checkout errors"})


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert error_of(response)["code"] == "unavailable"
    assert int(response.headers["Retry-After"]) >= 1


def test_a_kill_answers_503_with_retry_after_while_the_database_is_frozen(
    cluster: ThrowawayPostgres, admin: Admin
) -> None:
    admin.create_flag("checkout")
    with cluster.frozen():
        response = _kill(admin, "checkout")
    _assert_unavailable(response)


def test_readyz_reports_the_frozen_database_as_unavailable(cluster: ThrowawayPostgres, admin: Admin) -> None:
    with cluster.frozen():
        response = admin.http.get("/readyz")
    assert response.status_code == 503, response.text
    body: dict[str, Any] = response.json()
    # The check gave up at the readiness timeout, before the database bounds (2 s and more) could end it.
    assert body == {"status": "unavailable", "database": "unavailable", "reason": NO_ANSWER}
    assert response.headers["Retry-After"] == "1"


def test_healthz_and_metrics_answer_while_writes_exhaust_the_pool_on_a_frozen_database(
    cluster: ThrowawayPostgres, patient_admin: Admin
) -> None:
    admin = patient_admin
    admin.create_flag("checkout")
    http = admin.http
    with cluster.frozen(), ThreadPoolExecutor(WRITERS) as writers:
        writes = [writers.submit(_kill, admin, "checkout") for _ in range(WRITERS)]
        # Every connection the pool may open is stuck on the frozen server (or still connecting to it).
        wait_until(
            lambda: established_connections_to(cluster.port) >= POOL_SIZE + MAX_OVERFLOW,
            STUCK_AFTER,
            "the writes to take every connection of the pool",
        )
        health = http.get("/healthz")
        metrics = http.get("/metrics")
        ready = http.get("/readyz")
        # Answered while every write still waits: not by a worker thread that a write gave up.
        still_stuck = sum(not write.done() for write in writes)
        answers = [write.result() for write in writes]
    assert health.status_code == 200, health.text
    assert health.json() == {"status": "ok"}
    assert metrics.status_code == 200, metrics.text
    assert "flagstaff_http_requests_total" in metrics.text
    assert ready.status_code == 503, ready.text
    assert ready.json() == {"status": "unavailable", "database": "unavailable", "reason": NO_ANSWER}
    assert still_stuck == WRITERS
    for answer in answers:
        _assert_unavailable(answer)


def test_everything_recovers_once_the_database_resumes(cluster: ThrowawayPostgres, admin: Admin) -> None:
    admin.create_flag("checkout")
    with cluster.frozen():
        _assert_unavailable(_kill(admin, "checkout"))
        assert admin.http.get("/readyz").status_code == 503
    wait_until(lambda: admin.http.get("/readyz", timeout=2).status_code == 200, STUCK_AFTER, "readiness")
    response = _kill(admin, "checkout")
    assert response.status_code == 200, response.text
    assert response.json()["flag"]["enabled"] is False
    audit = admin.http.get("/api/v1/audit", params={"project": admin.project, "flag": "checkout"})
    assert audit.status_code == 200, audit.text
    assert [entry["action"] for entry in audit.json()["items"]].count("flag.kill") == 1
