"""A guarded rollout end to end with the Prometheus source, on real processes: an application (threads of this
process) checks the flag through a real SDK client for every request and counts requests and failures in
Prometheus counters labelled by the variation it was served; a real Prometheus scrapes it every second; a
`flagstaff serve` process runs a plan whose guard asks that Prometheus. "new" failing three times as often as
"old" is rolled back on its own, the SDK serves "old" again, and the audit log says why."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from flagstaff import Client
from tests.prometheus_server import MetricsApp, PrometheusServer
from tests.releases.conftest import QUICK_RUNNER, STARTUP_SECONDS
from tests.releases.plans import (
    NEW,
    OLD,
    PERCENTS,
    assert_rolled_back,
    create_old_new_flag,
    finished,
    start_plan,
)
from tests.releases.traffic import Traffic, serves_everyone
from tests.streaming.admin import Admin
from tests.streaming.processes import ServerProcess, wait_until

RATE = 1_600
CONTROL_ERRORS = 0.05
DWELL_SECONDS = 2  # Prometheus sees a step a scrape (1 s) late: each step is judged on its own traffic too
WINDOW = "5m"  # longer than the whole plan: the counts are cumulative over it, as the guard's docs ask


def _guard(prometheus_url: str) -> dict[str, Any]:
    def count(counter: str) -> str:
        return f'sum(increase(app_{counter}_total{{variation="{{variation}}"}}[{WINDOW}]))'

    return {
        "source": "prometheus",
        "prometheus": {"url": prometheus_url, "failures": count("errors"), "total": count("requests")},
        "ratio": 1.5,
        "min_sample": 100,
        "confidence": 0.9999,
    }


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[ServerProcess]:
    process = ServerProcess(database_url, **QUICK_RUNNER).launch()
    try:
        yield process.wait_ready(STARTUP_SECONDS)
    finally:
        process.kill()


@pytest.fixture
def app_metrics() -> Iterator[MetricsApp]:
    app = MetricsApp(prefix="app").start()
    for value in (OLD, NEW):  # both series exist from the first scrape, so `increase` counts from zero
        app.record(value, 0, 0)
    yield app
    app.stop()


@pytest.fixture
def prometheus(app_metrics: MetricsApp) -> Iterator[PrometheusServer]:
    server = PrometheusServer([app_metrics.target], scrape_interval="1s").start()
    yield server
    server.stop()


def test_a_treatment_failing_three_times_as_often_in_prometheus_is_rolled_back(
    server: ServerProcess,
    app_metrics: MetricsApp,
    prometheus: PrometheusServer,
    sdk_client: Callable[[str, str], Client],
) -> None:
    admin = Admin(server.base_url)
    try:
        create_old_new_flag(admin, "checkout")
        secret, _ = admin.sdk_key()
        client = sdk_client(secret, server.base_url)
        guard = _guard(prometheus.url)
        traffic = Traffic(
            [client],
            {"checkout": {OLD: CONTROL_ERRORS, NEW: 3 * CONTROL_ERRORS}},
            RATE,
            observe=lambda _flag, value, failed: app_metrics.record(str(value), 1, int(failed)),
        ).start()
        try:
            wait_until(lambda: prometheus.value('sum(app_requests_total{variation="old"})'), 30, "a scrape")
            started = start_plan(admin, "checkout", PERCENTS, DWELL_SECONDS, guard)
            plan = wait_until(lambda: finished(admin, started["id"]), 60, "the plan to end")
        finally:
            traffic.stop()

        assert_rolled_back(admin, plan, guard)
        assert traffic.served["checkout", NEW] > 0
        assert wait_until(lambda: serves_everyone([client], "checkout", OLD), 20, "the SDK to serve old")
    finally:
        admin.close()
