"""What the release pages' tests share: a signed-in console of a given role with a known key name (the audit
log's actor), a boolean flag that is on, and reading a form's refusal at its field."""

from __future__ import annotations

import html as markup
import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from tests.api.helpers import create_flag, env_flag_url
from tests.console.helpers import browser, sign_in

ENV = "production"
_names = itertools.count(1)


@dataclass
class Console:
    """A signed-in browser-like client: its key's name (the actor) and its CSRF token."""

    http: httpx.AsyncClient
    name: str
    csrf: str
    project: str

    @property
    def base(self) -> str:
        return f"/console/projects/{self.project}/environments/{ENV}"

    async def post(self, path: str, fields: dict[str, str], **options: Any) -> httpx.Response:
        return await self.http.post(path, data={**fields, "csrf_token": self.csrf}, **options)


@asynccontextmanager
async def console(app: FastAPI, client: httpx.AsyncClient, project: str, role: str) -> AsyncIterator[Console]:
    name = f"{role}-release-{next(_names)}"
    created = await client.post("/api/v1/admin-keys", json={"name": name, "role": role, "project": None})
    assert created.status_code == 201, created.text
    async with browser(app) as http:
        csrf = await sign_in(http, created.json()["secret"])
        yield Console(http, name, csrf, project)


async def flag_on(client: httpx.AsyncClient, project: str, key: str = "checkout") -> None:
    """A boolean flag, on in production: it serves true to everyone."""
    await create_flag(client, project, key, {"kind": "boolean", "variations": [True, False]})
    assert (await client.post(env_flag_url(project, ENV, key, "on"))).status_code == 200


def field_error(html: str, form: str, field: str) -> str | None:
    """The refusal a page shows at a form's field (its input marked invalid and described by it), or None."""
    found = re.search(rf'<p class="field-error" id="{form}-{field}-error" role="alert">([^<]*)</p>', html)
    if found is None:
        return None
    if field != "form":  # a refusal of the whole form stands above its button, about no one input
        assert f'aria-describedby="{form}-{field}-error"' in html, "the field is not described by its error"
    return markup.unescape(found.group(1))


async def audit(client: httpx.AsyncClient, project: str, action: str) -> list[dict[str, Any]]:
    items = (await client.get("/api/v1/audit", params={"project": project, "limit": 200})).json()["items"]
    return [item for item in items if item["action"] == action]


async def plans(client: httpx.AsyncClient, project: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/projects/{project}/environments/{ENV}/rollouts")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
