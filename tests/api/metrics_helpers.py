"""What the SDK metrics tests share: an app of the test module's own whose metrics service runs on a clock the
tests set (`clock`, `now`), and builders of metrics reports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app, prepare_database
from app.services.metrics_service import MetricsService
from app.settings import Settings
from app.storage import project_repository
from app.storage.models import utcnow
from tests.api.helpers import env_flag_url
from tests.conftest import ADMIN_TOKEN

ENV = "production"
REPORT = "/sdk/v1/metrics"
MAX_CELLS = 50


class ManualClock:
    """The metrics service's clock: it moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment
        return moment


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="module")
def app(database_url: str, clock: ManualClock) -> Iterator[FastAPI]:
    """This module's own app on the session's database, its metrics service built on `clock`."""
    settings = Settings(
        database_url=database_url, admin_token=ADMIN_TOKEN, max_body_bytes=65_536, max_metric_cells=MAX_CELLS
    )
    application = create_app(settings)
    services = application.state.services
    prepare_database(settings, services)
    metrics = MetricsService(
        services.database,
        services.snapshots,
        services.sdk_metrics.limits,
        services.sdk_metrics.counters,
        clock=clock,
    )
    application.state.services = replace(services, sdk_metrics=metrics)
    yield application
    services.database.dispose()


@pytest.fixture
def now(clock: ManualClock) -> datetime:
    """Each test starts at the real time, one second into a minute's bucket, so that its moves stay within the
    buckets it means."""
    return clock.set(utcnow().replace(second=1, microsecond=0))


def evaluation(flag: Any, variation: Any, count: Any) -> dict[str, Any]:
    return {"flag": flag, "variation": variation, "event": "$evaluation", "count": count, "sum": 0.0}


def event(
    flag: str | None, variation: int | None, name: str, count: int, total: float = 0.0
) -> dict[str, Any]:
    return {"flag": flag, "variation": variation, "event": name, "count": count, "sum": total}


def report(*counts: dict[str, Any], instance: str = "instance-1", dropped: int = 0) -> dict[str, Any]:
    return {
        "instance": instance,
        "start": 1764330000.12,
        "end": 1764330005.45,
        "counts": list(counts),
        "dropped": dropped,
    }


async def post(client: httpx.AsyncClient, key: str, body: Any) -> httpx.Response:
    return await client.post(REPORT, json=body, headers={"Authorization": f"Bearer {key}"})


async def accepted(
    client: httpx.AsyncClient, key: str, *counts: dict[str, Any], instance: str = "i-1"
) -> None:
    response = await post(client, key, report(*counts, instance=instance))
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": len(counts)}


async def flag_metrics(client: httpx.AsyncClient, project: str, flag: str, hours: int = 24) -> dict[str, Any]:
    response = await client.get(env_flag_url(project, ENV, flag, "metrics"), params={"hours": hours})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_variation(body: dict[str, Any]) -> dict[int | None, tuple[Any, int, dict[str, tuple[int, float]]]]:
    return {
        v["variation"]: (
            v["value"],
            v["evaluations"],
            {e["event"]: (e["count"], e["sum"]) for e in v["events"]},
        )
        for v in body["variations"]
    }


def environment_id(app: FastAPI, project: str) -> int:
    with app.state.services.database.transaction() as session:
        owner = project_repository.get_project(session, project)
        assert owner is not None
        found = project_repository.get_environment(session, owner.id, ENV)
        assert found is not None
        return found.id


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
