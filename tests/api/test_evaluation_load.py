"""Server-side evaluation cannot starve writes: evaluations run on threads of their own behind a bounded
queue, those beyond it are refused with 503 and Retry-After, and a kill completes while the queue is full."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings
from flagstaff import limits
from tests.api.helpers import create_flag, env_flag_url, error_of
from tests.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.anyio

CONCURRENCY, QUEUE = 1, 2
FLAGS = 40
# The costliest flag the limits allow: every rule a regular expression that scans the whole attribute.
HEAVY_RULES = [
    {
        "id": f"r{i}",
        "clauses": [{"attribute": "ua", "op": "matches", "values": [f"(a|b)*c{i}x$"]}],
        "serve": {"variation": 0},
    }
    for i in range(limits.MAX_REGEX_PATTERNS)
]


@pytest.fixture
async def bounded(app: FastAPI, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the session's (migrated) database, with one evaluation thread and a queue of two."""
    settings = Settings(
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        evaluate_concurrency=CONCURRENCY,
        evaluate_queue_size=QUEUE,
    )
    bounded_app = create_app(settings)
    transport = httpx.ASGITransport(app=bounded_app)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://flagstaff.test", headers=headers
    ) as http:
        yield http
    bounded_app.state.services.evaluations.close()
    bounded_app.state.services.database.dispose()


async def _heavy_environment(client: httpx.AsyncClient) -> str:
    project = f"p-{uuid.uuid4().hex[:12]}"
    assert (await client.post("/api/v1/projects", json={"key": project})).status_code == 201
    for i in range(FLAGS):
        await create_flag(client, project, f"heavy-{i}")
        patch = {"enabled": True, "rules": HEAVY_RULES}
        response = await client.patch(env_flag_url(project, "production", f"heavy-{i}"), json=patch)
        assert response.status_code == 200, response.text
    return project


async def _finished(tasks: list[asyncio.Task[httpx.Response]], count: int) -> None:
    while sum(task.done() for task in tasks) < count:
        await asyncio.sleep(0.01)


async def test_a_kill_completes_while_heavy_evaluations_fill_the_queue(bounded: httpx.AsyncClient):
    project = await _heavy_environment(bounded)
    evaluate_url = f"/api/v1/projects/{project}/environments/production/evaluate"
    context = {"key": "u", "ua": "ab" * 512}  # as long as a context value may be; no pattern matches it

    async def evaluate() -> httpx.Response:
        return await bounded.post(evaluate_url, json={"context": context}, timeout=120)

    extra = 2
    evaluations = [asyncio.create_task(evaluate()) for _ in range(CONCURRENCY + QUEUE + extra)]
    await asyncio.wait_for(_finished(evaluations, extra), timeout=60)
    refused = [task.result() for task in evaluations if task.done()]
    assert [r.status_code for r in refused] == [503] * extra, [r.text for r in refused]
    assert all(error_of(r)["code"] == "busy" and r.headers["Retry-After"] == "1" for r in refused)

    killed = await bounded.post(
        env_flag_url(project, "production", "heavy-0", "kill"), json={"reason": "incident"}, timeout=120
    )
    still_queued = [task for task in evaluations if not task.done()]

    assert killed.status_code == 200, killed.text
    assert killed.json()["flag"]["enabled"] is False
    # The kill did not wait behind the evaluations: they were still running or queued when it completed.
    assert still_queued
    admitted: list[Any] = await asyncio.gather(*still_queued)
    assert all(r.status_code == 200 for r in admitted), [r.text for r in admitted]
    assert all(len(r.json()["results"]) == FLAGS for r in admitted)
