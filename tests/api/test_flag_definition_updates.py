"""Changing a live flag's definition: a PUT that would replace it must name the version it replaces (428
otherwise), its kind never changes under the SDKs evaluating it (409), and PATCH changes single fields."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.api.helpers import BOOLEAN_FLAG, create_flag, env_flag_url, error_of, flag_url

pytestmark = pytest.mark.anyio
DESCRIBED: dict[str, Any] = {
    **BOOLEAN_FLAG,
    "name": "New checkout",
    "description": "The redesigned checkout flow",
    "temporary": False,
}


async def _audit(client: httpx.AsyncClient, project: str, flag: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit", params={"project": project, "flag": flag})
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_put_without_if_match_does_not_replace_a_live_flag(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "live", DESCRIBED)
    response = await client.put(
        flag_url(project, "live"), json={"kind": "boolean", "variations": [True, False]}
    )
    assert response.status_code == 428, response.text
    error = error_of(response)
    assert error["code"] == "precondition_required" and error["field"] == "If-Match"
    assert 'If-Match: "1"' in error["message"] and "PATCH" in error["message"]
    kept = (await client.get(flag_url(project, "live"))).json()
    assert kept["name"] == "New checkout" and kept["tags"] == ["checkout"] and kept["version"] == 1


async def test_a_put_with_if_match_or_star_replaces_and_a_repeat_of_the_same_definition_needs_none(
    client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "replaced", DESCRIBED)
    same = await client.put(flag_url(project, "replaced"), json=DESCRIBED)
    assert same.status_code == 200 and same.json()["version"] == 1  # a retried create changes nothing
    named = await client.put(
        flag_url(project, "replaced"), json={**DESCRIBED, "tags": []}, headers={"If-Match": '"1"'}
    )
    assert named.status_code == 200 and named.json()["version"] == 2 and named.json()["tags"] == []
    star = await client.put(flag_url(project, "replaced"), json=BOOLEAN_FLAG, headers={"If-Match": "*"})
    assert star.status_code == 200 and star.json()["name"] == "replaced" and star.json()["version"] == 3


async def test_the_kind_of_a_live_flag_never_changes(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "typed")
    for headers in ({}, {"If-Match": '"1"'}):
        response = await client.put(
            flag_url(project, "typed"), json={"kind": "string", "variations": ["a", "b"]}, headers=headers
        )
        assert response.status_code == 409, response.text
        error = error_of(response)
        assert error["code"] == "conflict" and error["field"] == "kind"
        assert "boolean" in error["message"] and "string" in error["message"]
    flag = (await client.get(env_flag_url(project, "production", "typed"))).json()["flag"]
    assert flag["kind"] == "boolean" and flag["version"] == 1
    # Deleting the flag first is the deliberate way to give its key another kind.
    assert (await client.delete(flag_url(project, "typed"))).status_code == 204
    recreated = await client.put(
        flag_url(project, "typed"), json={"kind": "string", "variations": ["a", "b"]}
    )
    assert recreated.status_code == 201 and recreated.json()["kind"] == "string"


async def test_patch_changes_only_the_fields_it_names_and_is_audited(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "meta", DESCRIBED)
    before_env = (await client.get(f"/api/v1/projects/{project}/environments/production")).json()
    response = await client.patch(flag_url(project, "meta"), json={"tags": ["checkout", "q3"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tags"] == ["checkout", "q3"] and body["version"] == 2 and response.headers["etag"] == '"2"'
    assert (body["name"], body["description"], body["temporary"]) == (
        "New checkout",
        "The redesigned checkout flow",
        False,
    )
    assert (body["kind"], body["variations"], body["salt"]) == ("boolean", [True, False], "meta")
    # Names, descriptions and tags are not part of what SDKs evaluate: no environment changes.
    after_env = (await client.get(f"/api/v1/projects/{project}/environments/production")).json()
    assert after_env["revision"] == before_env["revision"]
    entry = (await _audit(client, project, "meta"))[0]
    assert entry["action"] == "flag.update"
    assert entry["before"]["tags"] == ["checkout"] and entry["after"]["tags"] == ["checkout", "q3"]
    renamed = await client.patch(
        flag_url(project, "meta"), json={"name": "Checkout v2", "temporary": True, "description": ""}
    )
    assert renamed.json()["name"] == "Checkout v2" and renamed.json()["temporary"] is True
    assert renamed.json()["tags"] == ["checkout", "q3"] and renamed.json()["description"] == ""


async def test_a_patch_that_changes_nothing_is_not_a_new_version(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "quiet", DESCRIBED)
    for body in ({}, {"name": "New checkout"}):
        response = await client.patch(flag_url(project, "quiet"), json=body)
        assert response.status_code == 200 and response.json()["version"] == 1
    assert [e["action"] for e in await _audit(client, project, "quiet")] == ["flag.create"]


async def test_patch_honours_if_match_and_refuses_what_only_put_may_change(
    client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "guarded")
    stale = await client.patch(flag_url(project, "guarded"), json={"name": "x"}, headers={"If-Match": '"7"'})
    assert stale.status_code == 412 and error_of(stale)["field"] == "If-Match"
    kind = await client.patch(flag_url(project, "guarded"), json={"kind": "string"})
    assert kind.status_code == 422 and error_of(kind)["field"] == "kind"
    tags = await client.patch(flag_url(project, "guarded"), json={"tags": "checkout"})
    assert tags.status_code == 422 and error_of(tags)["field"] == "tags"
    missing = await client.patch(flag_url(project, "ghost"), json={"name": "x"})
    assert missing.status_code == 404 and error_of(missing)["field"] == "flag"
    assert (await client.get(flag_url(project, "guarded"))).json()["version"] == 1


async def test_twenty_patches_on_the_same_version_exactly_one_wins(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "contested")

    async def rename(index: int) -> httpx.Response:
        return await client.patch(
            flag_url(project, "contested"), json={"name": f"name-{index}"}, headers={"If-Match": '"1"'}
        )

    responses = await asyncio.gather(*(rename(i) for i in range(20)))
    assert sorted(r.status_code for r in responses) == [200] + [412] * 19
    winner = next(r for r in responses if r.status_code == 200).json()
    stored = (await client.get(flag_url(project, "contested"))).json()
    assert stored["version"] == 2 and stored["name"] == winner["name"]
