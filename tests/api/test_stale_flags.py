"""`GET .../stale-flags` on SQLite and PostgreSQL, fed through `POST /sdk/v1/metrics` while the metrics
service's clock moves days ahead: flags not evaluated for N days, flags never evaluated once older than N
days, and flags that served one variation to everyone over the last 24 hours; in the same queries however
many flags there are."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event as sql_event

from tests.api.helpers import create_flag, error_of, sdk_key
from tests.api.metrics_helpers import ENV, ManualClock, accepted, at, evaluation, event
from tests.api.metrics_helpers import app as app  # the fixtures
from tests.api.metrics_helpers import clock as clock
from tests.api.metrics_helpers import now as now

pytestmark = pytest.mark.anyio
DAY = timedelta(days=1)


async def stale(client: httpx.AsyncClient, project: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"/api/v1/projects/{project}/environments/{ENV}/stale-flags", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def reasons(body: dict[str, Any]) -> dict[str, str]:
    return {item["key"]: item["reason"] for item in body["items"]}


async def test_flags_are_listed_as_stale_for_what_they_were_and_were_not_served(
    client: httpx.AsyncClient, project: str, now: datetime, clock: ManualClock
) -> None:
    for flag in ("active", "defaulted", "gone", "never", "resting", "single", "with-default"):
        await create_flag(client, project, flag)
    key = await sdk_key(client, project, ENV)
    await accepted(client, key, evaluation("gone", 0, 5), evaluation("single", 1, 8))
    clock.set(now + 29 * DAY)
    await accepted(client, key, evaluation("resting", 0, 2))
    clock.set(now + 31 * DAY)
    await accepted(
        client,
        key,
        evaluation("active", 0, 3),
        evaluation("active", 1, 2),
        evaluation("single", 0, 10),
        event("single", 1, "error", 4),  # an outcome, not an evaluation
        evaluation("defaulted", None, 4),
        evaluation("with-default", 0, 1),
        evaluation("with-default", None, 1),
        evaluation("unknown-to-the-server", 0, 1),
    )

    body = await stale(client, project, days=30)

    assert reasons(body) == {
        "defaulted": "single_variation",
        "gone": "not_evaluated",
        "never": "never_evaluated",
        "single": "single_variation",
    }
    assert [item["key"] for item in body["items"]] == ["defaulted", "gone", "never", "single"]
    items = {item["key"]: item for item in body["items"]}
    assert items["single"]["variations"] == [{"variation": 0, "value": True, "evaluations": 10}]
    assert items["defaulted"]["variations"] == [{"variation": None, "value": None, "evaluations": 4}]
    assert at(items["single"]["last_evaluated"]) == (now + 31 * DAY).replace(second=0)
    assert at(items["gone"]["last_evaluated"]) == now.replace(second=0)
    assert items["gone"]["variations"] == []
    assert items["never"]["last_evaluated"] is None and items["never"]["temporary"] is True
    assert body["flags_checked"] == 7
    assert at(body["not_evaluated_since"]) == now + DAY
    assert at(body["single_variation_since"]) == now + 30 * DAY

    # Over 45 days, "gone" was evaluated and "never" is too young to count.
    assert reasons(await stale(client, project, days=45)) == {
        "defaulted": "single_variation",
        "single": "single_variation",
    }


async def test_a_young_flag_never_evaluated_is_not_stale(
    client: httpx.AsyncClient, project: str, now: datetime, clock: ManualClock
) -> None:
    await create_flag(client, project, "brand-new")

    clock.set(now + 29 * DAY)
    young = await stale(client, project, days=30)
    clock.set(now + 30 * DAY + timedelta(minutes=1))
    old = await stale(client, project, days=30)

    assert young["items"] == []
    assert reasons(old) == {"brand-new": "never_evaluated"}


async def test_evaluations_pruned_with_retention_no_longer_count(
    app: FastAPI, client: httpx.AsyncClient, project: str, now: datetime, clock: ManualClock
) -> None:
    await create_flag(client, project, "f")
    key = await sdk_key(client, project, ENV)
    await accepted(client, key, evaluation("f", 0, 1))
    retention = app.state.services.sdk_metrics.limits.retention

    clock.set(now + retention + DAY)
    before = reasons(await stale(client, project, days=1))
    app.state.services.sdk_metrics.prune()
    after = reasons(await stale(client, project, days=1))

    assert (before, after) == ({"f": "not_evaluated"}, {"f": "never_evaluated"})


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    """The SQL statements the app sends while the block runs."""
    engine, sent = app.state.services.database.engine, []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    sql_event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sql_event.remove(engine, "before_cursor_execute", record)


async def test_the_report_reads_in_the_same_queries_for_few_flags_and_many(
    app: FastAPI, client: httpx.AsyncClient, now: datetime
) -> None:
    counted = []
    for flags in (2, 40):
        project = f"p-q{flags}-{now.timestamp():.0f}"
        assert (await client.post("/api/v1/projects", json={"key": project})).status_code == 201
        key = await sdk_key(client, project, ENV)
        for n in range(flags):
            await create_flag(client, project, f"f{n}")
        await accepted(client, key, *(evaluation(f"f{n}", n % 2, 1) for n in range(flags)))
        with statements(app) as sent:
            body = await stale(client, project)
        assert len(body["items"]) == flags  # each served one variation
        counted.append([s for s in sent if "flag_metric_counts" in s or "flag_definitions" in s])
    assert len(counted[0]) == len(counted[1]) == 2


async def test_the_stale_report_checks_its_parameters(
    client: httpx.AsyncClient, project: str, now: datetime
) -> None:
    reader = await client.post("/api/v1/admin-keys", json={"name": "r", "role": "reader", "project": project})
    url = f"/api/v1/projects/{project}/environments/{ENV}/stale-flags"

    as_reader = await client.get(url, headers={"Authorization": f"Bearer {reader.json()['secret']}"})
    no_days = await client.get(url, params={"days": 0})
    unknown = await client.get(f"/api/v1/projects/{project}/environments/nowhere/stale-flags")

    assert as_reader.status_code == 200 and as_reader.json()["days"] == 30
    assert no_days.status_code == 422 and error_of(no_days)["field"] == "days"
    assert unknown.status_code == 404 and error_of(unknown)["field"] == "environment"
