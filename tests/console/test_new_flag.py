"""A new flag from the console, and a flag's settings: editors create flags of every kind (variations read per
kind), see a refusal at its field, and change the name, tags and client-side setting, each audited as the
signed-in key; readers and operators get neither form."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.api.helpers import flag_url
from tests.console.release_helpers import ENV, audit, console, field_error, flag_on

pytestmark = pytest.mark.anyio


def _new(project: str) -> str:
    return f"/console/projects/{project}/flags/new"


async def test_an_editor_creates_a_boolean_flag_and_lands_on_its_page(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    async with console(app, client, project, "editor") as c:
        listed = await c.http.get(f"{c.base}/flags")
        assert f'href="{_new(project)}">New flag</a>' in listed.text
        form = await c.http.get(_new(project))
        assert form.status_code == 200 and 'value="boolean" checked' in form.text
        created = await c.post(
            _new(project),
            {
                "key": "new-checkout",
                "name": "New checkout",
                "kind": "boolean",
                "variations": "ignored",
                "tags": "checkout, team-a,",
                "temporary": "on",
                "client_side": "on",
            },
        )
        assert created.status_code == 303
        assert created.headers["location"] == f"/console/projects/{project}/flags/new-checkout"
        page = await c.http.get(created.headers["location"])
        assert "Created new-checkout: off in every environment" in page.text
    definition = (await client.get(flag_url(project, "new-checkout"))).json()
    assert definition["variations"] == [True, False] and definition["kind"] == "boolean"
    assert (definition["name"], definition["tags"]) == ("New checkout", ["checkout", "team-a"])
    assert definition["temporary"] is True and definition["client_side"] is True
    [entry] = await audit(client, project, "flag.create")
    assert (entry["actor"], entry["target_key"]) == (c.name, "new-checkout")


@pytest.mark.parametrize(
    ("kind", "typed", "variations"),
    [
        ("string", "blue\n  green \n\nred", ["blue", "green", "red"]),
        ("number", "1\n2.5\n-3", [1, 2.5, -3]),
        ("json", '{"plan": "pro"}\n[1, 2]\n"text"\nnull', [{"plan": "pro"}, [1, 2], "text", None]),
    ],
)
async def test_variations_are_read_one_per_line_as_the_kind_says(
    app: FastAPI, client: httpx.AsyncClient, project: str, kind: str, typed: str, variations: list[Any]
) -> None:
    async with console(app, client, project, "admin") as c:
        created = await c.post(_new(project), {"key": f"a-{kind}", "kind": kind, "variations": typed})
        assert created.status_code == 303, created.text
    definition = (await client.get(flag_url(project, f"a-{kind}"))).json()
    assert definition["variations"] == variations and definition["temporary"] is False


@pytest.mark.parametrize(
    ("fields", "field", "says", "status"),
    [
        ({"key": ""}, "key", "enter the flag's key", 422),
        ({"key": "no spaces"}, "key", "must be 1-200 letters", 422),
        ({"key": "taken"}, "key", "exists already", 409),
        ({"kind": "colour"}, "kind", "choose one of", 422),
        ({"kind": "string", "variations": "  \n"}, "variations", "one per line", 422),
        ({"kind": "number", "variations": "1\nmany"}, "variations", "line 2: 'many' is not a number", 422),
        ({"kind": "json", "variations": "{oops"}, "variations", "line 1 is not JSON", 422),
        ({"name": "n" * 201}, "name", "at most 200 characters", 422),
    ],
)
async def test_a_refused_flag_is_shown_at_its_field_and_nothing_is_created(
    app: FastAPI,
    client: httpx.AsyncClient,
    project: str,
    fields: dict[str, str],
    field: str,
    says: str,
    status: int,
) -> None:
    await flag_on(client, project, "taken")
    async with console(app, client, project, "editor") as c:
        page = await c.post(_new(project), {"key": "fresh", "kind": "boolean", **fields})
    assert page.status_code == status, page.text
    error = field_error(page.text, "flag", field)
    assert error is not None and says in error, error
    key = fields.get("key", "fresh")
    if key:
        assert f'value="{key}"' in page.text  # what was typed stays
    if key != "taken":
        assert (await client.get(flag_url(project, key or "fresh"))).status_code in (404, 422)


async def test_readers_and_operators_get_no_new_flag_or_settings_form(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await flag_on(client, project)
    for role in ("reader", "operator"):
        async with console(app, client, project, role) as c:
            listed = await c.http.get(f"{c.base}/flags")
            assert "New flag" not in listed.text
            assert (await c.http.get(_new(project))).status_code == 403
            assert (await c.post(_new(project), {"key": "x", "kind": "boolean"})).status_code == 403
            settings = f"/console/projects/{project}/flags/checkout/settings"
            assert (await c.http.get(settings)).status_code == 403
            assert (await c.post(settings, {"version": "1", "client_side": "on"})).status_code == 403
            partial = await c.http.get(f"{c.base}/flags/checkout/releases")
            assert settings not in partial.text
    assert (await client.get(flag_url(project, "x"))).status_code == 404


async def test_a_new_flag_without_the_csrf_token_is_refused(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    async with console(app, client, project, "admin") as c:
        refused = await c.http.post(_new(project), data={"key": "sneaky", "kind": "boolean"})
    assert refused.status_code == 403 and "nothing was done" in refused.text
    assert (await client.get(flag_url(project, "sneaky"))).status_code == 404


async def test_turning_client_side_on_writes_every_environment_and_is_audited(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await flag_on(client, project)
    environment = f"/api/v1/projects/{project}/environments/{ENV}"
    revision = (await client.get(environment)).json()["revision"]
    async with console(app, client, project, "editor") as c:
        settings = f"/console/projects/{project}/flags/checkout/settings"
        form = await c.http.get(settings)
        assert 'name="version" value="1"' in form.text
        fields = {"version": "1", "name": "Checkout", "tags": "a, b", "client_side": "on"}
        saved = await c.post(settings, fields)
        assert saved.status_code == 303
    definition = (await client.get(flag_url(project, "checkout"))).json()
    assert definition["client_side"] is True and definition["tags"] == ["a", "b"]
    assert definition["temporary"] is False  # unticked, as sent
    assert (await client.get(environment)).json()["revision"] > revision  # OFREP sees it at once
    flag = (await client.get(f"{environment}/flags/checkout")).json()["flag"]
    assert flag["enabled"] is True  # the targeting as it was
    [entry] = [item for item in await audit(client, project, "flag.update") if item["actor"] == c.name]
    assert entry["after"]["client_side"] is True and entry["before"]["client_side"] is False


async def test_names_and_tags_alone_move_no_revision_and_a_stale_form_is_refused(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await flag_on(client, project)
    environment = f"/api/v1/projects/{project}/environments/{ENV}"
    revision = (await client.get(environment)).json()["revision"]
    async with console(app, client, project, "editor") as c:
        settings = f"/console/projects/{project}/flags/checkout/settings"
        saved = await c.post(settings, {"version": "1", "name": "Checkout", "tags": "x", "temporary": "on"})
        assert saved.status_code == 303
        assert (await client.get(environment)).json()["revision"] == revision
        stale = await c.post(settings, {"version": "1", "name": "Other", "tags": ""})
        assert stale.status_code == 412
        assert "not at version 1" in (field_error(stale.text, "settings", "form") or "")
        assert 'value="Other"' in stale.text and 'name="version" value="1"' in stale.text
    definition = (await client.get(flag_url(project, "checkout"))).json()
    assert (definition["name"], definition["tags"], definition["version"]) == ("Checkout", ["x"], 2)
