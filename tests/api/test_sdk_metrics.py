"""`POST /sdk/v1/metrics` over HTTP on SQLite and PostgreSQL: reports add up across batches and instances into
buckets of the server's clock, bad reports are refused whole with the field named, only server SDK keys may
report, and nothing about a flag changes; then the per-flag read route, retention and the Prometheus counters.

The metrics service runs on a clock the tests set (`clock`, tests/api/metrics_helpers.py), so hours and days
pass without sleeping.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.storage import metric_repository
from app.storage.metric_repository import Total
from app.storage.models import FlagMetricCount, utcnow
from tests.api.helpers import create_flag, env_flag_url, error_of, sdk_key
from tests.api.metrics_helpers import (
    ENV,
    MAX_CELLS,
    REPORT,
    ManualClock,
    accepted,
    at,
    by_variation,
    environment_id,
    evaluation,
    event,
    flag_metrics,
    post,
    report,
)
from tests.api.metrics_helpers import app as app  # the fixtures
from tests.api.metrics_helpers import clock as clock
from tests.api.metrics_helpers import now as now
from tests.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.anyio
DAY = timedelta(days=1)


async def test_counts_add_up_across_batches_and_instances(
    client: httpx.AsyncClient, project: str, now: datetime
) -> None:
    await create_flag(client, project, "new-checkout")
    key = await sdk_key(client, project, ENV)

    await accepted(client, key, evaluation("new-checkout", 0, 120), event("new-checkout", 1, "error", 7, 1.5))
    await accepted(client, key, evaluation("new-checkout", 0, 30), instance="i-2")
    await accepted(client, key, evaluation("new-checkout", 1, 5), event("new-checkout", 1, "error", 3, 0.5))

    body = await flag_metrics(client, project, "new-checkout")
    assert by_variation(body) == {0: (True, 150, {}), 1: (False, 5, {"error": (10, 2.0)})}
    assert at(body["last_evaluated"]) == now.replace(second=0)
    assert body["bucket_seconds"] == 60


async def test_null_variation_is_the_default_and_null_flag_an_unattributed_outcome(
    app: FastAPI, client: httpx.AsyncClient, project: str, now: datetime
) -> None:
    await create_flag(client, project, "f")
    key = await sdk_key(client, project, ENV)

    await accepted(
        client,
        key,
        evaluation("f", None, 3),
        event("f", None, "error", 2),
        event(None, None, "error", 31, 12.5),
        evaluation("f", 0, 1),
    )

    assert by_variation(await flag_metrics(client, project, "f")) == {
        0: (True, 1, {}),
        1: (False, 0, {}),
        None: (None, 3, {"error": (2, 0.0)}),
    }
    unattributed = app.state.services.sdk_metrics.totals(
        environment_id(app, project), "", now - timedelta(hours=1)
    )
    assert unattributed == [Total(variation=-1, event="error", count=31, value_sum=12.5)]


async def test_counts_fall_into_buckets_of_the_servers_receive_time(
    app: FastAPI, client: httpx.AsyncClient, project: str, now: datetime, clock: ManualClock
) -> None:
    await create_flag(client, project, "f")
    key = await sdk_key(client, project, ENV)
    minute = now.replace(second=0)

    await accepted(client, key, evaluation("f", 0, 1))
    clock.set(minute + timedelta(seconds=59.9))
    await accepted(client, key, evaluation("f", 0, 2))  # the same bucket
    clock.set(minute + timedelta(minutes=1))
    await accepted(client, key, evaluation("f", 1, 4))  # the next one

    service, env = app.state.services.sdk_metrics, environment_id(app, project)
    assert service.totals(env, "f", minute) == [
        Total(0, "$evaluation", 3, 0.0),
        Total(1, "$evaluation", 4, 0.0),
    ]
    assert service.totals(env, "f", minute + timedelta(seconds=1)) == [Total(1, "$evaluation", 4, 0.0)]
    body = await flag_metrics(client, project, "f")
    assert at(body["last_evaluated"]) == minute + timedelta(minutes=1)


async def test_concurrent_reports_of_the_same_cell_all_count(
    client: httpx.AsyncClient, project: str, now: datetime
) -> None:
    await create_flag(client, project, "f")
    key = await sdk_key(client, project, ENV)

    answers = await asyncio.gather(
        *(post(client, key, report(evaluation("f", 0, 3), instance=f"i-{n}")) for n in range(16))
    )

    assert [a.status_code for a in answers] == [202] * 16
    assert by_variation(await flag_metrics(client, project, "f"))[0] == (True, 48, {})


async def test_counts_of_a_flag_not_created_yet_are_kept(
    client: httpx.AsyncClient, project: str, now: datetime
) -> None:
    key = await sdk_key(client, project, ENV)

    await accepted(client, key, evaluation("coming-soon", 1, 9))
    missing = await client.get(env_flag_url(project, ENV, "coming-soon", "metrics"))
    await create_flag(client, project, "coming-soon")

    assert missing.status_code == 404 and error_of(missing)["field"] == "flag"
    assert by_variation(await flag_metrics(client, project, "coming-soon"))[1] == (False, 9, {})


# (what to change in a good report, the field the 422 names)
BAD_REPORTS: list[tuple[str, Any, str]] = [
    ("negative count", {"counts": [evaluation("f", 0, 1), evaluation("f", 0, -1)]}, "counts[1].count"),
    ("fractional count", {"counts": [evaluation("f", 0, 1.5)]}, "counts[0].count"),
    ("count as text", {"counts": [evaluation("f", 0, "5")]}, "counts[0].count"),
    ("count as boolean", {"counts": [evaluation("f", 0, True)]}, "counts[0].count"),
    ("huge count", {"counts": [evaluation("f", 0, 10**12 + 1)]}, "counts[0].count"),
    ("missing count", {"counts": [{"flag": "f", "variation": 0, "event": "$evaluation"}]}, "counts[0].count"),
    ("huge sum", {"counts": [event("f", 0, "revenue", 1, 1e19)]}, "counts[0].sum"),
    ("empty event", {"counts": [event("f", 0, "", 1)]}, "counts[0].event"),
    ("long event", {"counts": [event("f", 0, "e" * 201, 1)]}, "counts[0].event"),
    ("NUL in event", {"counts": [event("f", 0, "a\x00b", 1)]}, "counts[0].event"),
    ("reserved event", {"counts": [evaluation("f", 0, 1), event("f", 0, "$exposure", 1)]}, "counts[1].event"),
    ("evaluation of no flag", {"counts": [evaluation(None, None, 1)]}, "counts[0].flag"),
    ("flag key with a space", {"counts": [evaluation("new checkout", 0, 1)]}, "counts[0].flag"),
    ("flag key too long", {"counts": [evaluation("f" * 201, 0, 1)]}, "counts[0].flag"),
    ("flag key not text", {"counts": [evaluation(7, 0, 1)]}, "counts[0].flag"),
    ("negative variation", {"counts": [evaluation("f", -1, 1)]}, "counts[0].variation"),
    ("variation past the limit", {"counts": [evaluation("f", 1000, 1)]}, "counts[0].variation"),
    ("variation as text", {"counts": [evaluation("f", "0", 1)]}, "counts[0].variation"),
    ("too many cells", {"counts": [evaluation("f", 0, 1)] * (MAX_CELLS + 1)}, "counts"),
    ("counts not a list", {"counts": {"f": 1}}, "counts"),
    ("no counts", {"counts": None}, "counts"),
    ("bad instance id", {"instance": "not an id!"}, "instance"),
    ("negative dropped", {"dropped": -1}, "dropped"),
    ("negative start", {"start": -5}, "start"),
]


@pytest.mark.parametrize(
    ("change", "field"), [(c, f) for _, c, f in BAD_REPORTS], ids=[n for n, _, _ in BAD_REPORTS]
)
async def test_a_bad_report_is_refused_whole_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient, project: str, now: datetime, change: dict[str, Any], field: str
) -> None:
    await create_flag(client, project, "f")
    key = await sdk_key(client, project, ENV)
    body = {**report(evaluation("f", 0, 5)), **change}

    response = await post(client, key, body)

    assert response.status_code == 422, response.text
    assert error_of(response)["field"] == field, response.text
    assert (
        app.state.services.sdk_metrics.totals(environment_id(app, project), "f", now - timedelta(days=1))
        == []
    )


NOT_JSON_NUMBERS = {
    "counts[0].sum": '{"instance": "i", "start": 1, "end": 2, "counts": [{"flag": "f", "variation": 0, '
    '"event": "e", "count": 1, "sum": NaN}]}',
    "start": '{"instance": "i", "start": Infinity, "end": 2, "counts": []}',
}


@pytest.mark.parametrize("field", sorted(NOT_JSON_NUMBERS))
async def test_numbers_json_cannot_hold_are_refused(
    client: httpx.AsyncClient, project: str, now: datetime, field: str
) -> None:
    key = await sdk_key(client, project, ENV)

    response = await client.post(
        REPORT,
        content=NOT_JSON_NUMBERS[field],
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )

    assert response.status_code == 422 and error_of(response)["field"] == field, response.text


@pytest.mark.parametrize("body", [[], "counts", 7, {}])
async def test_a_report_that_is_not_one_is_refused(
    client: httpx.AsyncClient, project: str, now: datetime, body: Any
) -> None:
    key = await sdk_key(client, project, ENV)

    response = await post(client, key, body)

    assert response.status_code == 422, response.text
    assert error_of(response)["code"] == "invalid"


async def test_a_count_may_leave_out_flag_and_variation(
    app: FastAPI, client: httpx.AsyncClient, project: str, now: datetime
) -> None:
    key = await sdk_key(client, project, ENV)

    await accepted(client, key, {"event": "signup", "count": 2}, {"flag": "f", "event": "error", "count": 1})

    service, env = app.state.services.sdk_metrics, environment_id(app, project)
    assert service.totals(env, "", now - timedelta(hours=1)) == [Total(-1, "signup", 2, 0.0)]
    assert service.totals(env, "f", now - timedelta(hours=1)) == [Total(-1, "error", 1, 0.0)]


async def test_an_empty_report_and_zero_counts_are_accepted_and_store_nothing(
    app: FastAPI, client: httpx.AsyncClient, project: str, now: datetime
) -> None:
    key = await sdk_key(client, project, ENV)

    await accepted(client, key)
    await accepted(client, key, evaluation("f", 0, 0), event("f", 0, "e", 0, 0.0))

    assert (
        app.state.services.sdk_metrics.totals(environment_id(app, project), "f", now - timedelta(days=1))
        == []
    )


async def test_only_a_server_sdk_key_may_report(
    client: httpx.AsyncClient, project: str, now: datetime
) -> None:
    server_key = await sdk_key(client, project, ENV)
    created = await client.post(
        f"/api/v1/projects/{project}/environments/{ENV}/sdk-keys", json={"name": "web", "kind": "client"}
    )
    client_key = created.json()["secret"]
    body = report(evaluation("f", 0, 1))

    missing = await client.post(REPORT, json=body, headers={"Authorization": ""})
    admin = await post(client, ADMIN_TOKEN, body)
    unknown = await post(client, "fs_sdk_000000000000_nope", body)
    public = await post(client, client_key, body)
    # A bad body from a client key is still a 403: the key is checked first.
    public_bad_body = await post(client, client_key, {"counts": "nonsense"})

    assert [r.status_code for r in (missing, admin, unknown)] == [401, 401, 401]
    assert error_of(admin)["code"] == "unauthorized"
    assert public.status_code == 403 and error_of(public)["code"] == "forbidden"
    assert public_bad_body.status_code == 403
    assert (await post(client, server_key, body)).status_code == 202


async def test_a_revoked_sdk_key_may_no_longer_report(
    client: httpx.AsyncClient, project: str, now: datetime
) -> None:
    created = await client.post(
        f"/api/v1/projects/{project}/environments/{ENV}/sdk-keys", json={"name": "old"}
    )
    key, key_id = created.json()["secret"], created.json()["key_id"]
    assert (await post(client, key, report(evaluation("f", 0, 1)))).status_code == 202

    revoked = await client.delete(f"/api/v1/projects/{project}/environments/{ENV}/sdk-keys/{key_id}")

    assert revoked.status_code == 200
    assert (await post(client, key, report(evaluation("f", 0, 1)))).status_code == 401


async def test_reports_change_no_flag_no_revision_and_no_audit_log(
    client: httpx.AsyncClient, project: str, now: datetime
) -> None:
    await create_flag(client, project, "f")
    key = await sdk_key(client, project, ENV)
    flag_before = (await client.get(env_flag_url(project, ENV, "f"))).json()
    audit_before = (await client.get("/api/v1/audit", params={"project": project})).json()["items"]

    await accepted(client, key, evaluation("f", 0, 10), event("f", 0, "signup", 1))

    flag_after = (await client.get(env_flag_url(project, ENV, "f"))).json()
    audit_after = (await client.get("/api/v1/audit", params={"project": project})).json()["items"]
    assert flag_after == flag_before
    assert audit_after == audit_before


def _sample(metrics_text: str, name: str) -> float:
    for line in metrics_text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not in /metrics")


async def test_reports_are_counted_in_prometheus(
    client: httpx.AsyncClient, project: str, now: datetime
) -> None:
    key = await sdk_key(client, project, ENV)
    before = (await client.get("/metrics")).text

    await accepted(client, key, evaluation("f", 0, 10), evaluation("g", 1, 2), event(None, None, "e", 1))
    dropped = await post(client, key, report(evaluation("f", 0, 1), dropped=40))
    refused = await post(client, key, report(evaluation("f", 0, -1)))

    after = (await client.get("/metrics")).text
    assert dropped.status_code == 202 and refused.status_code == 422
    for name, grew in [
        ("flagstaff_sdk_metric_reports_total", 2),
        ("flagstaff_sdk_metric_cells_total", 4),
        ("flagstaff_sdk_metric_dropped_total", 40),
    ]:
        assert _sample(after, name) - _sample(before, name) == grew, name


async def test_flag_metrics_count_over_the_window_and_remember_the_last_evaluation(
    client: httpx.AsyncClient, project: str, now: datetime, clock: ManualClock
) -> None:
    await create_flag(client, project, "f", {"kind": "string", "variations": ["red", "green", "blue"]})
    key = await sdk_key(client, project, ENV)
    start = now.replace(second=0)
    await accepted(client, key, evaluation("f", 2, 50), event("f", 2, "purchase", 4, 99.5))
    clock.set(start + timedelta(hours=30))
    await accepted(client, key, evaluation("f", 0, 5), event("f", 0, "purchase", 1, 10.0))
    clock.set(start + timedelta(hours=40))

    recent = await flag_metrics(client, project, "f", hours=24)
    longer = await flag_metrics(client, project, "f", hours=48)
    assert by_variation(recent) == {
        0: ("red", 5, {"purchase": (1, 10.0)}),
        1: ("green", 0, {}),
        2: ("blue", 0, {}),
    }
    assert by_variation(longer)[2] == ("blue", 50, {"purchase": (4, 99.5)})
    assert at(recent["last_evaluated"]) == start + timedelta(hours=30)
    assert at(recent["since"]) == start + timedelta(hours=16)

    # Nothing evaluated in the window: last_evaluated still says when it last was.
    clock.set(start + timedelta(hours=80))
    quiet = await flag_metrics(client, project, "f", hours=24)
    assert [v["evaluations"] for v in quiet["variations"]] == [0, 0, 0]
    assert at(quiet["last_evaluated"]) == start + timedelta(hours=30)


async def test_flag_metrics_of_a_flag_never_evaluated(
    client: httpx.AsyncClient, project: str, now: datetime
) -> None:
    await create_flag(client, project, "f")

    body = await flag_metrics(client, project, "f")

    assert body["last_evaluated"] is None
    assert by_variation(body) == {0: (True, 0, {}), 1: (False, 0, {})}


async def test_the_flag_metrics_route_is_for_readers_and_checks_its_window(
    client: httpx.AsyncClient, project: str, now: datetime
) -> None:
    await create_flag(client, project, "f")
    reader = await client.post("/api/v1/admin-keys", json={"name": "r", "role": "reader", "project": project})
    url = env_flag_url(project, ENV, "f", "metrics")

    as_reader = await client.get(url, headers={"Authorization": f"Bearer {reader.json()['secret']}"})
    as_sdk = await client.get(url, headers={"Authorization": f"Bearer {await sdk_key(client, project, ENV)}"})
    no_window = await client.get(url, params={"hours": 0})
    unknown_env = await client.get(env_flag_url(project, "nowhere", "f", "metrics"))

    assert as_reader.status_code == 200
    assert as_sdk.status_code == 401
    assert no_window.status_code == 422 and error_of(no_window)["field"] == "hours"
    assert unknown_env.status_code == 404 and error_of(unknown_env)["field"] == "environment"


async def test_buckets_past_retention_are_pruned(
    app: FastAPI, client: httpx.AsyncClient, project: str, now: datetime, clock: ManualClock
) -> None:
    await create_flag(client, project, "f")
    key = await sdk_key(client, project, ENV)
    service = app.state.services.sdk_metrics
    retention = service.limits.retention
    await accepted(client, key, evaluation("f", 0, 1))
    clock.set(now + retention - timedelta(minutes=5))
    await accepted(client, key, evaluation("f", 1, 2))

    clock.set(now + retention + timedelta(minutes=1))
    pruned = service.prune()

    assert pruned >= 1
    env = environment_id(app, project)
    assert service.totals(env, "f", now - timedelta(days=1)) == [Total(1, "$evaluation", 2, 0.0)]


def _bucket_starts(app: FastAPI, environment: int) -> list[datetime]:
    with app.state.services.database.transaction() as session:
        rows = session.scalars(
            select(FlagMetricCount.bucket_start)
            .where(FlagMetricCount.environment_id == environment)
            .order_by(FlagMetricCount.bucket_start)
        )
        return list(rows)


async def test_older_buckets_are_merged_per_hour_then_per_day_and_windows_still_add_up(
    app: FastAPI, client: httpx.AsyncClient, project: str, now: datetime, clock: ManualClock
) -> None:
    await create_flag(client, project, "f")
    key = await sdk_key(client, project, ENV)
    day = now.replace(hour=0, minute=0, second=0) - 3 * DAY
    hour = now.replace(minute=0, second=0) - timedelta(hours=3)
    # Twice three days ago, twice in one hour three hours ago, and now.
    moments = [day + timedelta(hours=5, minutes=7), day + timedelta(hours=5, minutes=42)]
    moments += [hour + timedelta(minutes=10), hour + timedelta(minutes=20), now]
    for moment in moments:
        clock.set(moment)
        await accepted(client, key, evaluation("f", 0, 2), event("f", 0, "purchase", 1, 5.0))
    week = await flag_metrics(client, project, "f", hours=24 * 7)

    merged = app.state.services.sdk_metrics.compact()

    # Per hour: 05:07 and 05:42 into 05:00, the two of three hours ago into their hour; per day: 05:00 into
    # 00:00 (each bucket holds two cells).
    assert merged == 2 * (2 + 2 + 1)
    assert await flag_metrics(client, project, "f", hours=24 * 7) == week
    minute = now.replace(second=0)
    assert _bucket_starts(app, environment_id(app, project)) == [day, day, hour, hour, minute, minute]


async def test_every_process_prunes_and_compacts_on_a_timer(app: FastAPI, project: str) -> None:
    services = app.state.services
    job = next(job for job in services.jobs if job.name == "sdk-metrics-retention")
    env = environment_id(app, project)
    old = utcnow() - services.sdk_metrics.limits.retention - timedelta(hours=1)
    hour = utcnow().replace(minute=0, second=0, microsecond=0) - 5 * timedelta(hours=1)
    current = services.sdk_metrics.bucket_of(utcnow())
    with services.database.transaction() as session:
        metric_repository.add(session, env, old, [metric_repository.Cell("f", 0, "$evaluation", 1)])
        for minute in (3, 4):
            moment = hour + timedelta(minutes=minute)
            metric_repository.add(session, env, moment, [metric_repository.Cell("f", 1, "$evaluation", 2)])
        metric_repository.add(session, env, current, [metric_repository.Cell("f", 1, "$evaluation", 1)])

    job.run()  # the app's own job, on the real clock

    assert job.interval_seconds == services.settings.metrics_prune_interval_seconds
    remaining = services.sdk_metrics.totals(env, "f", old - timedelta(days=1))
    assert remaining == [Total(1, "$evaluation", 5, 0.0)]
    assert _bucket_starts(app, env) == [hour, current]
