"""A kill of every flag with a tag, and of one flag in every environment: each flag and environment killed and
audited on its own, with the reason and the signed-in key as actor, then counters for the new revisions."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.api.helpers import create_flag, env_flag_url
from tests.console.helpers import admin_key, browser, sign_in

pytestmark = pytest.mark.anyio


async def _flag(client: httpx.AsyncClient, project: str, key: str, tags: list[str], envs: list[str]) -> None:
    await create_flag(client, project, key, {"kind": "boolean", "variations": [True, False], "tags": tags})
    for env in envs:
        assert (await client.post(env_flag_url(project, env, key, "on"))).status_code == 200


async def _audit(client: httpx.AsyncClient, project: str, action: str) -> list[dict[str, Any]]:
    items = (await client.get("/api/v1/audit", params={"project": project, "limit": 100})).json()["items"]
    return [item for item in items if item["action"] == action]


async def test_a_bulk_kill_of_a_tag_kills_and_audits_every_flag_with_it(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    for key in ("cart", "payment", "receipt"):
        await _flag(client, project, key, ["checkout"], ["production"])
    await _flag(client, project, "search", ["discovery"], ["production"])
    await _flag(client, project, "coupon", ["checkout", "promo"], [])  # already off: nothing to change
    key, _ = await admin_key(client, "operator")
    base = f"/console/projects/{project}/environments/production"
    async with browser(app) as http:
        csrf = await sign_in(http, key)
        listed = await http.get(f"{base}/flags", params={"tag": "checkout"})
        assert f"{base}/kill-tagged?tag=checkout" in listed.text
        confirm = await http.get(f"{base}/kill-tagged", params={"tag": "checkout"})
        assert confirm.status_code == 200
        assert all(
            f"<code>{flag}</code>" in confirm.text for flag in ("cart", "payment", "receipt", "coupon")
        )
        assert "<code>search</code>" not in confirm.text
        done = await http.post(
            f"{base}/kill-tagged", data={"tag": "checkout", "reason": "checkout is down", "csrf_token": csrf}
        )
        assert done.status_code == 303
        counters = await http.get(done.headers["location"])
        assert counters.status_code == 200
        assert "Killed 3 flags tagged checkout in production; 1 more was off already." in counters.text
    kills = await _audit(client, project, "flag.kill")
    assert sorted(entry["target_key"] for entry in kills) == ["cart", "payment", "receipt"]
    assert {(entry["reason"], entry["environment"]) for entry in kills} == {
        ("checkout is down", "production")
    }
    assert len({entry["actor"] for entry in kills}) == 1 and kills[0]["actor"].startswith("operator-")
    for flag, enabled in [("cart", False), ("payment", False), ("receipt", False), ("search", True)]:
        state = (await client.get(env_flag_url(project, "production", flag))).json()["flag"]
        assert state["enabled"] is enabled, flag


async def test_a_bulk_kill_needs_a_reason(app: FastAPI, client: httpx.AsyncClient, project: str) -> None:
    await _flag(client, project, "cart", ["checkout"], ["production"])
    key, _ = await admin_key(client, "operator")
    async with browser(app) as http:
        csrf = await sign_in(http, key)
        response = await http.post(
            f"/console/projects/{project}/environments/production/kill-tagged",
            data={"tag": "checkout", "reason": "", "csrf_token": csrf},
        )
    assert response.status_code == 422
    assert "needs a reason" in response.text
    assert await _audit(client, project, "flag.kill") == []


async def test_a_kill_in_every_environment_is_audited_per_environment(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await _flag(client, project, "cart", [], ["development", "staging", "production"])
    key, _ = await admin_key(client, "editor")
    async with browser(app) as http:
        csrf = await sign_in(http, key)
        page = await http.get(f"/console/projects/{project}/flags/cart")
        assert f"/console/projects/{project}/flags/cart/kill-everywhere" in page.text
        done = await http.post(
            f"/console/projects/{project}/flags/cart/kill-everywhere",
            data={"reason": "data corruption", "csrf_token": csrf},
        )
        assert done.status_code == 303
        location = done.headers["location"]
        assert all(f"at={env}%3A" in location for env in ("development", "staging", "production"))
        counters = await http.get(location)
        assert counters.text.count('class="counter"') == 3
        flag_page = await http.get(f"/console/projects/{project}/flags/cart")
        assert flag_page.text.count('class="state state-killed"') == 3
    kills = await _audit(client, project, "flag.kill")
    assert sorted(entry["environment"] for entry in kills) == ["development", "production", "staging"]
    assert {entry["reason"] for entry in kills} == {"data corruption"}
