"""Text that is not valid Unicode, and JSON nested too deeply, are refused with 422 before anything commits;
rows that an older version stored with such values still read back (200): a bad write cannot break a read."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.api.helpers import (
    create_flag,
    env_flag_url,
    environment_row,
    error_of,
    flag_row,
    flag_url,
    sdk_key,
    store_json,
)

pytestmark = pytest.mark.anyio

LONE = "x\ud800y"  # valid JSON ("x\ud800y"), not valid Unicode: it has no UTF-8 form


def raw(body: Any) -> dict[str, Any]:
    """Request arguments sending `body` as JSON with \\u escapes: how any client can send a lone surrogate."""
    return {"content": json.dumps(body).encode(), "headers": {"Content-Type": "application/json"}}


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def _rule(clause: dict[str, Any], rule_id: str = "r") -> dict[str, Any]:
    return {"rules": [{"id": rule_id, "clauses": [clause], "serve": {"variation": 0}}]}


PATCHES = [
    ({"targets": [{"variation": 0, "values": [LONE]}]}, "targets[0].values[0]"),
    ({"rules": [{"id": LONE, "clauses": [], "serve": {"variation": 0}}]}, "rules[0].id"),
    (_rule({"attribute": "country", "op": "in", "values": [LONE]}), "rules[0].clauses[0].values[0]"),
    (_rule({"attribute": "email", "op": "matches", "values": [LONE]}), "rules[0].clauses[0].values[0]"),
    (_rule({"attribute": LONE, "op": "in", "values": ["NL"]}), "rules[0].clauses[0].attribute"),
    ({"enabled": True, "reason": LONE}, "reason"),
]


async def _audit_ids(client: httpx.AsyncClient, project: str) -> list[int]:
    response = await client.get("/api/v1/audit", params={"project": project})
    assert response.status_code == 200, response.text
    return [entry["id"] for entry in response.json()["items"]]


@pytest.mark.parametrize(("body", "field"), PATCHES)
async def test_a_patch_with_text_that_is_not_unicode_is_refused_and_nothing_commits(
    client: httpx.AsyncClient, project: str, body: dict[str, Any], field: str
):
    await create_flag(client, project, "f")
    url = env_flag_url(project, "production", "f")
    audited = await _audit_ids(client, project)

    response = await client.patch(url, **raw(body))

    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["field"] == field and "Unicode" in error["message"]
    current = await client.get(url)
    assert current.status_code == 200 and current.json()["flag"]["version"] == 1
    assert await _audit_ids(client, project) == audited


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "string", "variations": ["a", LONE]}, "variations[1]"),
        ({"kind": "json", "variations": [{LONE: 1}]}, "variations[0].x\\ud800y"),
        ({"kind": "boolean", "variations": [True, False], "name": LONE}, "name"),
        ({"kind": "boolean", "variations": [True, False], "description": LONE}, "description"),
        ({"kind": "boolean", "variations": [True, False], "tags": ["ok", LONE]}, "tags[1]"),
        ({"kind": "json", "variations": [nested(300)]}, "variations[0]" + "[0]" * 30),
        ({"kind": "json", "variations": [nested(31)]}, "variations[0]" + "[0]" * 30),
    ],
)
async def test_a_definition_with_unserialisable_values_is_refused_naming_the_field(
    client: httpx.AsyncClient, project: str, body: dict[str, Any], field: str
):
    audited = await _audit_ids(client, project)

    response = await client.put(flag_url(project, "bad"), **raw(body))

    assert response.status_code == 422, response.text
    assert error_of(response)["field"] == field
    assert (await client.get(flag_url(project, "bad"))).status_code == 404
    assert await _audit_ids(client, project) == audited


async def test_json_as_deep_as_the_limit_is_accepted(client: httpx.AsyncClient, project: str):
    # The body is level 1 and `variations` level 2, so this variation's own 30 levels make 32 in all.
    response = await client.put(flag_url(project, "deep"), json={"kind": "json", "variations": [nested(30)]})
    assert response.status_code == 201, response.text
    assert (await client.get(flag_url(project, "deep"))).json()["variations"] == [nested(30)]


async def test_a_body_too_deep_for_the_json_parser_is_422_not_500(client: httpx.AsyncClient, project: str):
    body = b'{"kind": "json", "variations": [' + b"[" * 30_000 + b"]" * 30_000 + b"]}"
    response = await client.put(
        flag_url(project, "abyss"), content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert error_of(response)["code"] == "invalid"


async def test_segments_keys_and_kill_reasons_are_checked_too(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "f")
    segment_url = f"/api/v1/projects/{project}/environments/production/segments/s"
    member = await client.put(segment_url, **raw({"included": ["ok", LONE]}))
    assert member.status_code == 422 and error_of(member)["field"] == "included[1]"
    named = await client.put(segment_url, **raw({"name": LONE}))
    assert named.status_code == 422 and error_of(named)["field"] == "name"
    killed = await client.post(env_flag_url(project, "production", "f", "kill"), **raw({"reason": LONE}))
    assert killed.status_code == 422 and error_of(killed)["field"] == "reason"
    admin_key = await client.post("/api/v1/admin-keys", **raw({"name": LONE, "role": "reader"}))
    assert admin_key.status_code == 422 and error_of(admin_key)["field"] == "name"
    evaluated = await client.post(
        f"/api/v1/projects/{project}/environments/production/evaluate", **raw({"context": {LONE: "v"}})
    )
    assert evaluated.status_code == 422 and error_of(evaluated)["field"] == "context.x\\ud800y"
    assert (await client.get(segment_url)).status_code == 404
    audit = (await client.get("/api/v1/audit", params={"project": project})).json()["items"]
    assert [entry["action"] for entry in audit] == ["flag.create", "project.create"]


async def test_values_stored_by_an_older_version_still_read_back(
    app: FastAPI, client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "legacy", {"kind": "json", "variations": [1, 2]})
    segment_url = f"/api/v1/projects/{project}/environments/production/segments/members"
    assert (await client.put(segment_url, json={"included": ["a"]})).status_code == 201
    url = env_flag_url(project, "production", "legacy")
    assert (await client.patch(url, json={"enabled": True, "reason": "go"})).status_code == 200
    environment_id = environment_row(project, "production")
    flag_id = flag_row(project, "legacy")
    store_json(app, "flag_definitions", "variations", f"id = {flag_id}", [nested(300), LONE])
    targets = [{"variation": 0, "values": [LONE]}]
    where = f"flag_id = {flag_id} AND environment_id = {environment_id}"
    store_json(app, "flag_configs", "targets", where, targets)
    store_json(app, "segments", "included", f"environment_id = {environment_id}", [LONE])
    history = {"key": "legacy", "variations": [nested(300)], "targets": targets}
    store_json(app, "flag_config_versions", "payload", f"environment_id = {environment_id}", history)
    store_json(app, "audit_log", "before", f"project_key = '{project}'", {"name": LONE})
    store_json(app, "audit_log", "after", f"project_key = '{project}'", {"variations": [nested(300)]})

    reads = [
        url,
        f"/api/v1/projects/{project}/environments/production/flags",
        flag_url(project, "legacy"),
        f"/api/v1/projects/{project}/flags",
        f"{url}/history",
        segment_url,
        f"/api/v1/projects/{project}/environments/production/segments",
        f"/api/v1/audit?project={project}",
    ]
    for read in reads:
        response = await client.get(read)
        assert response.status_code == 200, (read, response.text)
    assert (await client.get(url)).json()["flag"]["targets"][0]["values"] == ["x\ufffdy"]
    evaluated = await client.post(
        f"/api/v1/projects/{project}/environments/production/evaluate", json={"context": {"key": "k"}}
    )
    assert evaluated.status_code == 200, evaluated.text
    key = await sdk_key(client, project, "production")
    polled = await client.get("/sdk/v1/flags", headers={"Authorization": f"Bearer {key}"})
    assert polled.status_code == 200, polled.text
    killed = await client.post(f"{url}/kill", json={"reason": "legacy data"})
    assert killed.status_code == 200, killed.text
    assert (await client.get(f"/api/v1/audit?project={project}")).status_code == 200
