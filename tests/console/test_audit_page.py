"""The audit log page: entries newest first with what each changed, filtered by flag, actor, action and time,
a page at a time; a key limited to one project sees only that project's entries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from tests.api.helpers import create_flag, env_flag_url
from tests.console.page_client import signed_in

pytestmark = pytest.mark.anyio


def _ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr id="entry-(\d+)">', html)]


def _actions(html: str) -> list[str]:
    return re.findall(r'<td data-label="Action"><code>([^<]+)</code>', html)


async def test_entries_are_filtered_by_flag_action_and_actor_and_show_their_changes(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await create_flag(client, project, "checkout")
    await create_flag(client, project, "search")
    await client.post(env_flag_url(project, "production", "checkout", "on"))
    await client.post(
        env_flag_url(project, "production", "checkout", "kill"), json={"reason": "errors at 3 a.m."}
    )
    await client.patch(
        env_flag_url(project, "production", "search"),
        json={
            "fallthrough": {
                "rollout": {
                    "variations": [{"variation": 0, "weight": 30000}, {"variation": 1, "weight": 70000}]
                }
            }
        },
    )

    async with signed_in(app, client, "reader") as reader:
        kills = await reader.http.get("/console/audit", params={"project": project, "action": "flag.kill"})
        search = await reader.http.get("/console/audit", params={"project": project, "flag": "search"})
        nobody = await reader.http.get("/console/audit", params={"project": project, "actor": "nobody"})

    assert _actions(kills.text) == ["flag.kill"] and "errors at 3 a.m." in kills.text
    assert _actions(search.text) == ["flag.update", "flag.create"]
    assert "Everyone else: now true for 30%, false for 70% (was true)" in re.sub(r"<[^>]+>", "", search.text)
    assert _actions(nobody.text) == [] and "No audit entries match these filters." in nobody.text


async def test_entries_are_filtered_by_time(app: FastAPI, client: httpx.AsyncClient, project: str) -> None:
    await create_flag(client, project, "checkout")
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    async with signed_in(app, client, "reader") as reader:
        recent = await reader.http.get("/console/audit", params={"project": project, "since": hour_ago})
        earlier = await reader.http.get("/console/audit", params={"project": project, "until": hour_ago})
        unreadable = await reader.http.get(
            "/console/audit", params={"project": project, "since": "yesterday"}
        )

    assert _actions(recent.text) == ["flag.create", "project.create"]
    assert _actions(earlier.text) == []
    assert unreadable.status_code == 422 and 'id="filter-since-error"' in unreadable.text


async def test_entries_come_a_page_at_a_time_newest_first(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await create_flag(client, project, "toggle")
    for i in range(52):
        await client.post(env_flag_url(project, "production", "toggle", "on" if i % 2 == 0 else "off"))
    listed = await client.get("/api/v1/audit", params={"project": project, "limit": 500})
    every_id = [entry["id"] for entry in listed.json()["items"]]

    async with signed_in(app, client, "reader") as reader:
        first = await reader.http.get("/console/audit", params={"project": project})
        older = re.search(r'href="(/console/audit\?[^"]*before=\d+)"', first.text)
        assert older is not None
        second = await reader.http.get(older.group(1).replace("&amp;", "&"))

    assert len(_ids(first.text)) == 50 and 50 < len(every_id) <= 100
    assert _ids(first.text) + _ids(second.text) == every_id
    assert "before=" not in second.text  # the last page links no further
    assert _actions(second.text)[-1] == "project.create"


async def test_a_key_limited_to_one_project_sees_only_its_entries(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    other = f"{project}-x"
    assert (await client.post("/api/v1/projects", json={"key": other, "name": other})).status_code == 201
    created = await client.post(
        "/api/v1/admin-keys", json={"name": "scoped-reader", "role": "reader", "project": project}
    )
    transport = httpx.ASGITransport(app=app, client=("10.8.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://flagstaff.test") as http:
        await http.post("/console/sign-in", data={"key": created.json()["secret"], "next": "/console/audit"})
        own = await http.get("/console/audit")
        refused = await http.get("/console/audit", params={"project": other})

    assert own.status_code == 200
    assert f'<td data-label="Where">{project}' in own.text and f">{other}<" not in own.text
    assert refused.status_code == 403
