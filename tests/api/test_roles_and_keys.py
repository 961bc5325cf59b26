"""Every role against every route class, project scoping, SDK keys kept off admin routes, and revocation."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.api.helpers import create_flag, env_flag_url, error_of, flag_url, sdk_key

pytestmark = pytest.mark.anyio

ROUTE_CLASSES = ("read", "toggle", "edit", "manage")
ALLOWED = {
    "admin": {"read", "toggle", "edit", "manage"},
    "editor": {"read", "toggle", "edit"},
    "operator": {"read", "toggle"},
    "reader": {"read"},
}


async def _admin_key(client: httpx.AsyncClient, role: str, project: str | None) -> str:
    response = await client.post(
        "/api/v1/admin-keys", json={"name": f"{role}-key", "role": role, "project": project}
    )
    assert response.status_code == 201, response.text
    secret: str = response.json()["secret"]
    assert secret.startswith("fs_admin_")
    return secret


async def _call(client: httpx.AsyncClient, route_class: str, project: str, key: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"}
    if route_class == "read":
        return await client.get(env_flag_url(project, "production", "f"), headers=headers)
    if route_class == "toggle":
        return await client.post(env_flag_url(project, "production", "f", "off"), headers=headers)
    if route_class == "edit":
        return await client.patch(env_flag_url(project, "production", "f"), json={}, headers=headers)
    return await client.get(f"/api/v1/projects/{project}/environments/production/sdk-keys", headers=headers)


@pytest.mark.parametrize("role", sorted(ALLOWED))
async def test_each_role_reaches_exactly_its_route_classes(
    client: httpx.AsyncClient, project: str, role: str
):
    await create_flag(client, project, "f")
    key = await _admin_key(client, role, project)
    for route_class in ROUTE_CLASSES:
        response = await _call(client, route_class, project, key)
        expected = 200 if route_class in ALLOWED[role] else 403
        assert response.status_code == expected, (role, route_class, response.text)


@pytest.mark.parametrize("role", sorted(ALLOWED))
async def test_a_project_scoped_key_is_forbidden_in_other_projects(
    client: httpx.AsyncClient, project: str, role: str
):
    other = f"p-{uuid.uuid4().hex[:12]}"
    assert (await client.post("/api/v1/projects", json={"key": other})).status_code == 201
    await create_flag(client, other, "f")
    key = await _admin_key(client, role, project)
    for route_class in ROUTE_CLASSES:
        response = await _call(client, route_class, other, key)
        assert response.status_code == 403, (role, route_class)


async def test_missing_unknown_and_revoked_keys_are_401(client: httpx.AsyncClient, project: str):
    url = flag_url(project, "f")
    assert (await client.get(url, headers={"Authorization": ""})).status_code == 401
    assert (
        await client.get(url, headers={"Authorization": "Bearer fs_admin_000000000000_nope"})
    ).status_code == 401
    key = await _admin_key(client, "reader", project)
    key_id = key.removeprefix("fs_admin_")[:12]
    assert (
        await client.get(f"/api/v1/projects/{project}", headers={"Authorization": key})
    ).status_code == 200
    assert (await client.delete(f"/api/v1/admin-keys/{key_id}")).status_code == 200
    revoked = await client.get(f"/api/v1/projects/{project}", headers={"Authorization": f"Bearer {key}"})
    assert revoked.status_code == 401 and error_of(revoked)["code"] == "unauthorized"


async def test_sdk_keys_never_reach_admin_routes_and_admin_keys_never_reach_sdk_routes(
    client: httpx.AsyncClient, project: str
):
    secret = await sdk_key(client, project, "production")
    assert secret.startswith("fs_sdk_")
    as_admin = await client.get(f"/api/v1/projects/{project}", headers={"Authorization": f"Bearer {secret}"})
    assert as_admin.status_code == 401
    assert (
        await client.get("/sdk/v1/flags")
    ).status_code == 401  # the client's default header is an admin key


async def test_several_sdk_keys_work_at_once_and_revoking_one_leaves_the_other(
    client: httpx.AsyncClient, project: str
):
    first, second = await sdk_key(client, project, "staging"), await sdk_key(client, project, "staging")
    for key in (first, second):
        assert (
            await client.get("/sdk/v1/flags", headers={"Authorization": f"Bearer {key}"})
        ).status_code == 200
    key_id = first.removeprefix("fs_sdk_")[:12]
    revoke = await client.delete(f"/api/v1/projects/{project}/environments/staging/sdk-keys/{key_id}")
    assert revoke.status_code == 200 and revoke.json()["revoked_at"] is not None
    assert (await client.get("/sdk/v1/flags", headers={"Authorization": first})).status_code == 401
    assert (await client.get("/sdk/v1/flags", headers={"Authorization": second})).status_code == 200


async def test_key_listings_never_show_secrets(client: httpx.AsyncClient, project: str):
    await _admin_key(client, "editor", project)
    await sdk_key(client, project, "production")
    admin_keys = (await client.get("/api/v1/admin-keys")).json()["items"]
    sdk_keys = (await client.get(f"/api/v1/projects/{project}/environments/production/sdk-keys")).json()[
        "items"
    ]
    assert admin_keys and sdk_keys
    assert all("secret" not in item for item in admin_keys + sdk_keys)


async def test_a_scoped_admin_cannot_create_keys_or_projects_beyond_its_project(
    client: httpx.AsyncClient, project: str
):
    key = await _admin_key(client, "admin", project)
    headers = {"Authorization": f"Bearer {key}"}
    everywhere = await client.post(
        "/api/v1/admin-keys", json={"name": "x", "role": "reader"}, headers=headers
    )
    assert everywhere.status_code == 403
    new_project = await client.post(
        "/api/v1/projects", json={"key": f"q-{uuid.uuid4().hex[:8]}"}, headers=headers
    )
    assert new_project.status_code == 403
    own = await client.post(
        "/api/v1/admin-keys", json={"name": "x", "role": "reader", "project": project}, headers=headers
    )
    assert own.status_code == 201
