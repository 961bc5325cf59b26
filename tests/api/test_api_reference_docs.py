"""docs/api.md keeps up with the server: it names every operation with its query parameters, no route the
server lacks, and every error status and code the API answers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings
from tests.api.helpers import BOOLEAN_FLAG, create_flag, env_flag_url, flag_url

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
# `GET /{flag}/history?before=&limit=`: a method and a path, absolute or relative to the latest "Under `...`".
_ROUTE = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s?]*)?(?:\?([^`\s]*))?`")
_UNDER = re.compile(r"Under `(/[^`]+)`")
_ERROR_ROW = re.compile(r"^\| (\d{3}) \| `([a-z_]+)` \|", re.MULTILINE)


def documented_routes(text: str) -> dict[tuple[str, str], set[str]]:
    """(method, path) -> the query parameters named with it, from every route mentioned in the text."""
    routes: dict[tuple[str, str], set[str]] = {}
    prefix = ""
    for line in text.splitlines():
        if line.startswith("#"):
            prefix = ""
        under = _UNDER.search(line)
        if under:
            prefix = under.group(1)
        for method, path, query in _ROUTE.findall(line):
            if not path.startswith(("/api/", "/sdk/")) and prefix:
                path = prefix + path
            names = {part.split("=")[0] for part in query.split("&") if part}
            routes.setdefault((method, path), set()).update(names)
    return routes


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    built: FastAPI = create_app(Settings(database_url="sqlite://"))
    return built.openapi()


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    return {
        (method.upper(), path): {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }


def test_every_operation_and_its_query_parameters_are_in_the_api_reference(document: dict[str, Any]):
    documented = documented_routes(API_DOC.read_text(encoding="utf-8"))
    missing: list[str] = []
    for (method, path), query in sorted(_operations(document).items()):
        if (method, path) not in documented:
            missing.append(f"{method} {path}")
        missing.extend(
            f"{method} {path}?{name}=" for name in sorted(query - documented.get((method, path), query))
        )
    assert missing == [], "\n".join(["docs/api.md does not mention:", *missing])


def test_the_api_reference_names_no_route_the_server_lacks(document: dict[str, Any]):
    operations = _operations(document)
    documented = documented_routes(API_DOC.read_text(encoding="utf-8"))
    stale = sorted(f"{method} {path}" for method, path in documented if (method, path) not in operations)
    assert stale == []
    unknown = sorted(
        f"{method} {path}?{name}="
        for (method, path), names in documented.items()
        if (method, path) in operations
        for name in names - operations[(method, path)]
    )
    assert unknown == []


@pytest.mark.anyio
async def test_every_error_the_api_answers_is_in_the_error_table(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "f")
    reader = await client.post("/api/v1/admin-keys", json={"name": "docs-reader", "role": "reader"})
    assert reader.status_code == 201, reader.text
    as_reader = {"Authorization": f"Bearer {reader.json()['secret']}"}
    answers = [
        await client.get("/api/v1/projects", headers={"Authorization": "Bearer fs_admin_unknown"}),
        await client.put(flag_url(project, "g"), json=BOOLEAN_FLAG, headers=as_reader),
        await client.get(flag_url(project, "missing")),
        await client.post(flag_url(project, "f"), json=BOOLEAN_FLAG),
        await client.post("/api/v1/projects", json={"key": project}),
        await client.patch(env_flag_url(project, "production", "f"), json={}, headers={"If-Match": '"9"'}),
        await client.put(flag_url(project, "big"), json={"kind": "string", "variations": ["x" * 100_000]}),
        await client.put(flag_url(project, "g"), content=b"{}", headers={"Content-Type": "text/plain"}),
        await client.get(f"/api/v1/projects/{project}/flags", params={"limit": "many"}),
        await client.put(flag_url(project, "f"), json={**BOOLEAN_FLAG, "tags": []}),
    ]
    seen = {(r.status_code, r.json()["error"]["code"]) for r in answers}
    assert {status for status, _ in seen} == {401, 403, 404, 405, 409, 412, 413, 415, 422, 428}
    table = set(_ERROR_ROW.findall(API_DOC.read_text(encoding="utf-8")))
    assert {(str(status), code) for status, code in seen} - table == set()
