"""An environment's page lists the SDK instances that poll or stream it, with the revision each confirmed and
when each was last seen, the stale ones first; readers see it too."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from tests.api.helpers import create_flag, env_flag_url, sdk_key
from tests.console.page_client import signed_in

pytestmark = pytest.mark.anyio


async def _poll_and_ack(
    app: FastAPI, client: httpx.AsyncClient, key: str, instance: str, revision: int
) -> None:
    """What an SDK does: poll naming itself, then confirm the revision it applied."""
    headers = {"Authorization": f"Bearer {key}", "X-Flagstaff-Instance": instance}
    assert (await client.get("/sdk/v1/flags", headers=headers)).status_code == 200
    await app.state.services.streaming.hub.polls.flushed()
    acked = await client.post(
        "/sdk/v1/acks",
        json={"instance_id": instance, "revision": revision},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert acked.status_code == 204, acked.text


async def test_connected_instances_are_listed_with_their_revision_and_the_stale_first(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await create_flag(client, project, "checkout")
    key = await sdk_key(client, project, "production")
    first = (await client.post(env_flag_url(project, "production", "checkout", "on"))).json()["revision"]
    await _poll_and_ack(app, client, key, "behind-1", first)
    current = (await client.post(env_flag_url(project, "production", "checkout", "off"))).json()["revision"]
    await _poll_and_ack(app, client, key, "current-1", current)

    async with signed_in(app, client, "reader") as reader:
        page = await reader.http.get(f"/console/projects/{project}/environments/production")

    assert page.status_code == 200
    assert f"1 of 2 SDK instances has not confirmed revision {current}." in re.sub(r"\s+", " ", page.text)
    rows = re.findall(
        r'<tr class="(stale|current)">\s*<td data-label="Instance"><code>([^<]+)</code>', page.text
    )
    assert rows == [("stale", "behind-1"), ("current", "current-1")]
    assert "1 behind" in page.text and "just now" in page.text


async def test_an_environment_without_sdks_says_so(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    async with signed_in(app, client, "reader") as reader:
        page = await reader.http.get(f"/console/projects/{project}/environments/staging")
        missing = await reader.http.get(f"/console/projects/{project}/environments/nowhere")

    assert page.status_code == 200
    assert "No SDK instance is connected to this environment." in page.text
    assert missing.status_code == 404
