"""The flag list: search and filters as plain query parameters, states and rollouts as people read them, empty
and error states, and the rows changed since a revision that the live script swaps in."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from tests.api.helpers import create_flag, env_flag_url
from tests.console.helpers import admin_key, browser, sign_in

pytestmark = pytest.mark.anyio
_ROW = re.compile(r'<tr data-key="([^"]+)" data-state="([^"]+)"')


def _rows(html: str) -> list[tuple[str, str]]:
    return _ROW.findall(html)


async def _setup(client: httpx.AsyncClient, project: str) -> None:
    flags = {
        "new-checkout": ("New checkout", ["checkout"]),
        "old-checkout": ("Legacy checkout", ["checkout", "legacy"]),
        "search-ranking": ("Search ranking", ["discovery"]),
    }
    for key, (name, tags) in flags.items():
        body = {"kind": "boolean", "variations": [True, False], "tags": tags, "name": name}
        await create_flag(client, project, key, body)
    url = env_flag_url(project, "production", "new-checkout")
    halves = {
        "rollout": {"variations": [{"variation": 0, "weight": 12500}, {"variation": 1, "weight": 87500}]}
    }
    assert (await client.patch(url, json={"enabled": True, "fallthrough": halves})).status_code == 200
    kill = await client.post(env_flag_url(project, "production", "old-checkout", "on"))
    assert kill.status_code == 200
    killed = await client.post(
        env_flag_url(project, "production", "old-checkout", "kill"), json={"reason": "refunds double"}
    )
    assert killed.status_code == 200


async def test_states_rollouts_and_last_changes_read_as_people_say_them(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await _setup(client, project)
    key, _ = await admin_key(client, "reader")
    async with browser(app) as http:
        await sign_in(http, key)
        page = await http.get(f"/console/projects/{project}/environments/production/flags")
    assert _rows(page.text) == [("new-checkout", "on"), ("old-checkout", "killed"), ("search-ranking", "off")]
    assert "<code>true</code> 12.5%" in page.text and "<code>false</code> 87.5%" in page.text
    assert "refunds double" in page.text  # why it was killed, next to its state
    assert "by bootstrap" in page.text
    assert "3 flags." in page.text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "CHECKOUT"}, ["new-checkout", "old-checkout"]),
        ({"q": "legacy"}, ["old-checkout"]),  # the name matches too
        ({"tag": "discovery"}, ["search-ranking"]),
        ({"state": "killed"}, ["old-checkout"]),
        ({"state": "on", "tag": "checkout"}, ["new-checkout"]),
        ({"q": "nothing-like-it"}, []),
    ],
)
async def test_search_and_filters_narrow_the_list_on_the_server(
    app: FastAPI, client: httpx.AsyncClient, project: str, params: dict[str, str], expected: list[str]
) -> None:
    await _setup(client, project)
    key, _ = await admin_key(client, "reader")
    async with browser(app) as http:
        await sign_in(http, key)
        page = await http.get(f"/console/projects/{project}/environments/production/flags", params=params)
    assert page.status_code == 200
    assert [flag for flag, _ in _rows(page.text)] == expected
    if not expected:
        assert "No flag matches these filters" in page.text


async def test_a_bad_filter_is_a_readable_422(app: FastAPI, client: httpx.AsyncClient, project: str) -> None:
    key, _ = await admin_key(client, "reader")
    async with browser(app) as http:
        await sign_in(http, key)
        page = await http.get(f"/console/projects/{project}/environments/production/flags?state=maybe")
        long = await http.get(
            f"/console/projects/{project}/environments/production/flags", params={"q": "x" * 201}
        )
    assert page.status_code == 422 and "state must be on, off or killed" in page.text
    assert long.status_code == 422 and "<h1>Invalid input</h1>" in long.text


async def test_an_empty_project_and_an_unknown_one(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    key, _ = await admin_key(client, "reader")
    async with browser(app) as http:
        await sign_in(http, key)
        empty = await http.get(f"/console/projects/{project}/environments/production/flags")
        unknown = await http.get("/console/projects/no-such-project/environments/production/flags")
    assert empty.status_code == 200 and "No flags in this project yet" in empty.text
    assert unknown.status_code == 404 and "does not exist" in unknown.text


async def test_rows_changed_since_a_revision_follow_the_pages_filters(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await _setup(client, project)
    key, _ = await admin_key(client, "reader")
    base = f"/console/projects/{project}/environments/production/flags"
    async with browser(app) as http:
        await sign_in(http, key)
        page = await http.get(base, params={"state": "on"})
        revision = int(re.search(r'data-revision="(\d+)"', page.text).group(1))  # type: ignore[union-attr]
        nothing = (await http.get(f"{base}/rows", params={"since": revision, "state": "on"})).json()
        assert nothing == {"revision": revision, "complete": True, "gone": [], "rows": ""}
        # Elsewhere (the API here), one flag goes on and one is killed.
        await client.post(env_flag_url(project, "production", "search-ranking", "on"))
        await client.post(env_flag_url(project, "production", "new-checkout", "kill"), json={"reason": "r"})
        changed = (await http.get(f"{base}/rows", params={"since": revision, "state": "on"})).json()
    assert changed["revision"] == revision + 2 and changed["complete"] is True
    assert _rows(changed["rows"]) == [("search-ranking", "on")]
    assert changed["gone"] == ["new-checkout"]  # no longer on: the page removes its row


async def test_a_flag_being_rolled_out_shows_its_plan(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await _setup(client, project)
    await client.post(env_flag_url(project, "production", "search-ranking", "on"))
    steps = [{"percent": 10, "dwell_seconds": 3600}, {"percent": 50, "dwell_seconds": 3600}]
    started = await client.post(
        f"/api/v1/projects/{project}/environments/production/rollouts",
        json={"flag": "search-ranking", "variation": 0, "control": 1, "steps": steps},
    )
    assert started.status_code == 201, started.text
    key, _ = await admin_key(client, "reader")
    async with browser(app) as http:
        await sign_in(http, key)
        page = await http.get(f"/console/projects/{project}/environments/production/flags")
    row = page.text[page.text.index('<tr data-key="search-ranking"') :]
    row = row[: row.index("</tr>")]
    assert "Rollout plan running: 10%, next 50%" in row
    assert "<code>true</code> 10%" in row and "<code>false</code> 90%" in row
