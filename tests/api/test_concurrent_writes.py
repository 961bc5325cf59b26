"""Optimistic concurrency: conflicting writes in parallel, exactly one wins per version and none is lost."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.api.helpers import create_flag, env_flag_url, flag_url

pytestmark = pytest.mark.anyio
WRITERS = 20


async def test_twenty_writers_on_the_same_version_exactly_one_wins(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "contested")
    url = env_flag_url(project, "production", "contested")

    async def write(index: int) -> httpx.Response:
        body = {"targets": [{"variation": 0, "values": [f"user-{index}"]}]}
        return await client.patch(url, json=body, headers={"If-Match": '"1"'})

    responses = await asyncio.gather(*(write(i) for i in range(WRITERS)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * (WRITERS - 1)
    winner = next(r for r in responses if r.status_code == 200).json()["flag"]
    stored = (await client.get(url)).json()["flag"]
    assert stored["version"] == 2 and stored["targets"] == winner["targets"]
    history = (await client.get(f"{url}/history")).json()["items"]
    assert [entry["version"] for entry in history] == [2, 1]


async def test_twenty_writers_without_if_match_all_apply_in_sequence(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "busy", {"kind": "string", "variations": ["a", "b"]})
    url = env_flag_url(project, "staging", "busy")

    async def write(index: int) -> httpx.Response:
        return await client.patch(
            url, json={"off_variation": index % 2, "targets": [{"variation": 0, "values": [str(index)]}]}
        )

    responses = await asyncio.gather(*(write(i) for i in range(WRITERS)))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    versions = sorted(r.json()["flag"]["version"] for r in responses)
    assert versions == list(range(2, WRITERS + 2))  # every write got its own version: none lost
    revisions = sorted(r.json()["revision"] for r in responses)
    assert len(set(revisions)) == WRITERS


async def test_concurrent_definition_edits_with_if_match_never_overwrite(
    client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "def")

    async def rename(index: int) -> httpx.Response:
        body = {"kind": "boolean", "variations": [True, False], "name": f"name-{index}"}
        return await client.put(flag_url(project, "def"), json=body, headers={"If-Match": '"1"'})

    responses = await asyncio.gather(*(rename(i) for i in range(WRITERS)))
    assert sorted(r.status_code for r in responses) == [200] + [412] * (WRITERS - 1)
    assert (await client.get(flag_url(project, "def"))).json()["version"] == 2


async def test_a_stale_if_match_changes_nothing(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "stale")
    url = env_flag_url(project, "production", "stale")
    assert (await client.patch(url, json={"enabled": True}, headers={"If-Match": '"1"'})).status_code == 200
    stale = await client.patch(url, json={"enabled": False}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "version_mismatch"
    assert (await client.get(url)).json()["flag"]["enabled"] is True
