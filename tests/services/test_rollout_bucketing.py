"""Monotonic bucketing: a context served the released variation at one step of a plan is served it at every
later step, as an SDK evaluating the server's snapshot sees it."""

from __future__ import annotations

from itertools import pairwise

import httpx
import pytest
from fastapi import FastAPI

from flagstaff import Client
from tests.api.helpers import sdk_key
from tests.services.rollout_helpers import ENV, world

pytestmark = pytest.mark.anyio
PERCENTS = [1, 5, 10, 25, 50, 100]
CONTEXTS = [{"key": f"user-{i}"} for i in range(10_000)]


async def _served_new(client: httpx.AsyncClient, key: str) -> set[str]:
    snapshot = (await client.get("/sdk/v1/flags", headers={"Authorization": f"Bearer {key}"})).json()
    with Client.from_dict(snapshot) as sdk:
        return {c["key"] for c in CONTEXTS if sdk.variation("checkout", c, "none") == "new"}


async def test_every_context_served_the_treatment_keeps_it_at_every_later_step(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    w = world(app)
    key = await sdk_key(client, w.project, ENV)
    plan = w.start([(p, 60) for p in PERCENTS])
    served = [await _served_new(client, key)]
    for _ in PERCENTS[1:]:
        w.run(60)
        served.append(await _served_new(client, key))

    assert w.plan(plan.id).current_step == len(PERCENTS) - 1
    for step, (now, later) in enumerate(pairwise(served)):
        assert now <= later, f"{len(now - later)} contexts lost the treatment at step {step + 1}"
    counts = [len(s) for s in served]
    assert counts[0] > 0 and counts[-1] == len(CONTEXTS)
    # Each step serves about its share: 10,000 contexts put 50% within a few hundred of 5,000.
    assert abs(counts[PERCENTS.index(50)] - 5_000) < 300
