"""Projects and environments: the default layout, adding an environment to a project that has flags, deletion,
and readiness on a database that is not migrated."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.api.helpers import create_flag, env_flag_url, error_of

pytestmark = pytest.mark.anyio


async def test_a_new_project_has_development_staging_and_production_at_revision_zero(
    client: httpx.AsyncClient, project: str
):
    body = (await client.get(f"/api/v1/projects/{project}")).json()
    assert [(e["key"], e["revision"]) for e in body["environments"]] == [
        ("development", 0),
        ("staging", 0),
        ("production", 0),
    ]
    listed = (await client.get("/api/v1/projects")).json()["items"]
    assert project in [p["key"] for p in listed]


async def test_environments_are_listed_as_items_like_every_other_list(
    client: httpx.AsyncClient, project: str
):
    response = await client.get(f"/api/v1/projects/{project}/environments")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items"}
    assert [(e["key"], e["revision"]) for e in body["items"]] == [
        ("development", 0),
        ("staging", 0),
        ("production", 0),
    ]


async def test_the_bootstrapped_default_project_exists(client: httpx.AsyncClient):
    body = (await client.get("/api/v1/projects/default")).json()
    assert [e["key"] for e in body["environments"]] == ["development", "staging", "production"]


async def test_a_new_environment_gets_every_flag_switched_off_at_revision_one(
    client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "existing")
    created = await client.post(f"/api/v1/projects/{project}/environments", json={"key": "qa", "name": "QA"})
    assert created.status_code == 201 and created.json()["revision"] == 1
    flag = (await client.get(env_flag_url(project, "qa", "existing"))).json()["flag"]
    assert flag["enabled"] is False and flag["version"] == 1
    duplicate = await client.post(f"/api/v1/projects/{project}/environments", json={"key": "qa"})
    assert duplicate.status_code == 409 and error_of(duplicate)["field"] == "key"


async def test_deleting_an_environment_or_a_project_removes_what_is_in_it(
    client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "gone")
    assert (await client.delete(f"/api/v1/projects/{project}/environments/staging")).status_code == 204
    assert (await client.get(env_flag_url(project, "staging", "gone"))).status_code == 404
    assert (await client.get(env_flag_url(project, "production", "gone"))).status_code == 200
    assert (await client.delete(f"/api/v1/projects/{project}")).status_code == 204
    assert (await client.get(f"/api/v1/projects/{project}")).status_code == 404


async def test_readiness_fails_until_the_database_is_migrated(tmp_path: Path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'unmigrated.db'}"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://flagstaff.test") as http:
        response = await http.get("/readyz")
        assert (await http.get("/healthz")).status_code == 200
    app.state.services.database.dispose()
    assert response.status_code == 503 and response.json()["reason"] == "migrations pending"
