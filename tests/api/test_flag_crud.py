"""Flag definitions and per-environment targeting through the HTTP API: create, read, list, update, delete."""

from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import BOOLEAN_FLAG, create_flag, env_flag_url, flag_url

pytestmark = pytest.mark.anyio


async def test_new_flag_is_defined_once_and_off_in_every_environment(client: httpx.AsyncClient, project: str):
    created = await create_flag(client, project, "new-checkout")
    assert created["version"] == 1 and created["salt"] == "new-checkout" and created["tags"] == ["checkout"]
    for env in ("development", "staging", "production"):
        response = await client.get(env_flag_url(project, env, "new-checkout"))
        assert response.status_code == 200
        flag = response.json()["flag"]
        assert flag["enabled"] is False and flag["off_variation"] == 1 and flag["version"] == 1
        assert response.headers["etag"] == '"1"'


async def test_put_replaces_a_definition_and_bumps_its_version(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "banner")
    response = await client.put(
        flag_url(project, "banner"),
        json={**BOOLEAN_FLAG, "name": "Banner", "tags": []},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Banner" and response.json()["version"] == 2
    env_flag = (await client.get(env_flag_url(project, "production", "banner"))).json()["flag"]
    assert env_flag["version"] == 2


async def test_put_with_the_same_definition_changes_nothing(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "same")
    again = await client.put(flag_url(project, "same"), json=BOOLEAN_FLAG)
    assert again.status_code == 200 and again.json()["version"] == 1


async def test_patch_changes_targeting_in_one_environment_only(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "rollout")
    rollout = {
        "rollout": {"variations": [{"variation": 0, "weight": 25_000}, {"variation": 1, "weight": 75_000}]}
    }
    response = await client.patch(
        env_flag_url(project, "staging", "rollout"), json={"enabled": True, "fallthrough": rollout}
    )
    assert response.status_code == 200, response.text
    assert response.json()["flag"]["fallthrough"]["rollout"]["variations"][0]["weight"] == 25_000
    untouched = (await client.get(env_flag_url(project, "production", "rollout"))).json()["flag"]
    assert untouched["enabled"] is False and untouched["version"] == 1


async def test_list_filters_by_tag_and_paginates_by_key(client: httpx.AsyncClient, project: str):
    for index in range(5):
        tags = ["even"] if index % 2 == 0 else ["odd"]
        await create_flag(client, project, f"flag-{index}", {**BOOLEAN_FLAG, "tags": tags})
    first = (await client.get(f"/api/v1/projects/{project}/flags", params={"limit": 2})).json()
    assert [f["key"] for f in first["items"]] == ["flag-0", "flag-1"] and first["next"] == "flag-1"
    rest = (await client.get(f"/api/v1/projects/{project}/flags", params={"after": first["next"]})).json()
    assert [f["key"] for f in rest["items"]] == ["flag-2", "flag-3", "flag-4"] and rest["next"] is None
    even = (await client.get(f"/api/v1/projects/{project}/flags", params={"tag": "even"})).json()
    assert [f["key"] for f in even["items"]] == ["flag-0", "flag-2", "flag-4"]
    env_even = await client.get(
        f"/api/v1/projects/{project}/environments/production/flags", params={"tag": "odd", "limit": 1}
    )
    assert [f["key"] for f in env_even.json()["items"]] == ["flag-1"] and env_even.json()["next"] == "flag-1"


async def test_deleted_flag_is_gone_everywhere_and_recreation_continues_versions(
    client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "temp")
    assert (await client.delete(flag_url(project, "temp"))).status_code == 204
    assert (await client.get(flag_url(project, "temp"))).status_code == 404
    assert (await client.get(env_flag_url(project, "production", "temp"))).status_code == 404
    recreated = await client.put(flag_url(project, "temp"), json=BOOLEAN_FLAG)
    assert recreated.status_code == 201
    env_flag = (await client.get(env_flag_url(project, "production", "temp"))).json()["flag"]
    assert env_flag["version"] == 3  # 1 created, 2 the tombstone, 3 re-created: never back to an old version


async def test_unknown_project_environment_or_flag_is_404(client: httpx.AsyncClient, project: str):
    assert (await client.get(flag_url("no-such-project", "x"))).status_code == 404
    assert (await client.get(env_flag_url(project, "no-such-env", "x"))).status_code == 404
    missing = await client.post(env_flag_url(project, "production", "missing", "kill"), json={"reason": "r"})
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "flag"


async def test_segments_can_be_created_used_and_not_deleted_while_used(
    client: httpx.AsyncClient, project: str
):
    url = f"/api/v1/projects/{project}/environments/production/segments/beta"
    created = await client.put(url, json={"name": "Beta", "included": ["user-7"]})
    assert created.status_code == 201 and created.json()["version"] == 1
    await create_flag(client, project, "gated")
    rule = {"id": "beta", "clauses": [{"op": "segment_match", "values": ["beta"]}], "serve": {"variation": 0}}
    patched = await client.patch(env_flag_url(project, "production", "gated"), json={"rules": [rule]})
    assert patched.status_code == 200, patched.text
    refused = await client.delete(url)
    assert refused.status_code == 409
    listed = (await client.get(f"/api/v1/projects/{project}/environments/production/segments")).json()
    assert [s["key"] for s in listed["items"]] == ["beta"]
    await client.patch(env_flag_url(project, "production", "gated"), json={"rules": []})
    assert (await client.delete(url)).status_code == 204
    assert (await client.get(url)).status_code == 404


async def test_a_flag_is_not_deleted_while_another_requires_it(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "base")
    await create_flag(client, project, "child")
    prerequisites = {"prerequisites": [{"flag": "base", "variation": 0}]}
    patched = await client.patch(env_flag_url(project, "staging", "child"), json=prerequisites)
    assert patched.status_code == 200, patched.text
    refused = await client.delete(flag_url(project, "base"))
    assert refused.status_code == 409
    assert refused.json()["error"]["field"] == "flags.child.prerequisites[0].flag"
    await client.patch(env_flag_url(project, "staging", "child"), json={"prerequisites": []})
    assert (await client.delete(flag_url(project, "base"))).status_code == 204


async def test_server_side_evaluation_reports_value_and_reason(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "eval-me")
    target = {
        "targets": [{"variation": 0, "values": ["vip"]}],
        "enabled": True,
        "fallthrough": {"variation": 1},
    }
    await client.patch(env_flag_url(project, "production", "eval-me"), json=target)
    url = f"/api/v1/projects/{project}/environments/production/evaluate"
    one = (await client.post(url, json={"context": {"key": "vip"}, "flag": "eval-me"})).json()
    assert one["results"]["eval-me"]["value"] is True
    assert one["results"]["eval-me"]["reason"] == "TARGETING_MATCH"
    everyone = (await client.post(url, json={"context": {"key": "someone"}})).json()
    assert everyone["results"]["eval-me"]["value"] is False
    missing = await client.post(url, json={"context": {"key": "x"}, "flag": "nope"})
    assert missing.status_code == 404
