"""Kill/on/off are idempotent and return the revision; every change leaves one audit entry with actor, before,
after, reason and request id; the audit log filters and paginates."""

from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import create_flag, env_flag_url

pytestmark = pytest.mark.anyio


async def _audit(client: httpx.AsyncClient, **params: object) -> list[dict[str, object]]:
    response = await client.get("/api/v1/audit", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_kill_switch_turns_the_flag_off_and_is_audited_with_reason(
    client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "checkout")
    url = env_flag_url(project, "production", "checkout")
    await client.post(f"{url}/on")
    killed = await client.post(
        f"{url}/kill", json={"reason": "checkout errors"}, headers={"X-Request-ID": "req-42"}
    )
    assert killed.status_code == 200 and killed.json()["flag"]["enabled"] is False
    assert killed.headers["x-request-id"] == "req-42"
    entry = (await _audit(client, project=project, flag="checkout", limit=1))[0]
    assert entry["action"] == "flag.kill" and entry["reason"] == "checkout errors"
    assert entry["actor"] == "bootstrap" and entry["request_id"] == "req-42"
    assert entry["environment"] == "production"
    assert entry["before"]["enabled"] is True and entry["after"]["enabled"] is False  # type: ignore[index]


async def test_kill_on_and_off_are_idempotent_and_return_the_revision(
    client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "toggle")
    url = env_flag_url(project, "staging", "toggle")
    on = (await client.post(f"{url}/on")).json()
    again = (await client.post(f"{url}/on")).json()
    assert on["changed"] is True and again["changed"] is False
    assert again["revision"] == on["revision"] and again["flag"]["version"] == on["flag"]["version"]
    killed = (await client.post(f"{url}/kill", json={"reason": "r"})).json()
    assert killed["revision"] == on["revision"] + 1
    killed_again = (await client.post(f"{url}/kill", json={"reason": "r"})).json()
    off = (await client.post(f"{url}/off")).json()
    assert killed_again["revision"] == off["revision"] == killed["revision"]
    actions = [e["action"] for e in await _audit(client, project=project, flag="toggle")]
    assert actions == [
        "flag.kill",
        "flag.on",
        "flag.create",
    ]  # repeats change nothing, so they are not audited


async def test_every_kind_of_change_leaves_an_audit_entry(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "audited")
    url = env_flag_url(project, "production", "audited")
    await client.patch(url, json={"enabled": True})
    await client.post(f"{url}/revert", json={"version": 1})
    await client.put(
        f"/api/v1/projects/{project}/environments/production/segments/s", json={"included": ["a"]}
    )
    await client.post(f"/api/v1/projects/{project}/environments", json={"key": "qa"})
    await client.delete(f"/api/v1/projects/{project}/flags/audited")
    actions = [e["action"] for e in await _audit(client, project=project)]
    assert actions == [
        "flag.delete",
        "environment.create",
        "segment.create",
        "flag.revert",
        "flag.update",
        "flag.create",
        "project.create",
    ]


async def test_audit_filters_by_environment_actor_and_time_and_paginates(
    client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "pages")
    for env in ("development", "staging", "production"):
        await client.post(env_flag_url(project, env, "pages", "on"))
    production = await _audit(client, project=project, environment="production")
    assert [e["action"] for e in production] == ["flag.on"]
    assert await _audit(client, project=project, actor="somebody-else") == []
    first = (await client.get("/api/v1/audit", params={"project": project, "limit": 2})).json()
    second = (
        await client.get("/api/v1/audit", params={"project": project, "limit": 2, "before": first["next"]})
    ).json()
    ids = [e["id"] for e in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
    newest = first["items"][0]["at"]
    assert await _audit(client, project=project, since="2999-01-01T00:00:00Z") == []
    assert len(await _audit(client, project=project, until=newest)) == 4  # `until` is exclusive


async def test_audit_filters_by_action(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "acted")
    await client.post(env_flag_url(project, "production", "acted", "on"))
    await client.post(env_flag_url(project, "production", "acted", "kill"), json={"reason": "errors"})

    kills = await _audit(client, project=project, action="flag.kill")
    assert [(e["action"], e["reason"]) for e in kills] == [("flag.kill", "errors")]
    created = await _audit(client, project=project, action="flag.create")
    assert [e["action"] for e in created] == ["flag.create"]
    assert await _audit(client, project=project, action="flag.revert") == []


async def test_audit_entries_never_contain_key_secrets(client: httpx.AsyncClient, project: str):
    created = await client.post(
        f"/api/v1/projects/{project}/environments/production/sdk-keys", json={"name": "web"}
    )
    secret = created.json()["secret"]
    entries = await client.get("/api/v1/audit", params={"project": project})
    assert secret not in entries.text and "sdk_key.create" in entries.text
