"""Small request builders shared by the API tests."""

from __future__ import annotations

from typing import Any

import httpx

BOOLEAN_FLAG: dict[str, Any] = {"kind": "boolean", "variations": [True, False], "tags": ["checkout"]}


def flag_url(project: str, flag: str) -> str:
    return f"/api/v1/projects/{project}/flags/{flag}"


def env_flag_url(project: str, env: str, flag: str, action: str = "") -> str:
    base = f"/api/v1/projects/{project}/environments/{env}/flags/{flag}"
    return f"{base}/{action}" if action else base


async def create_flag(
    client: httpx.AsyncClient, project: str, flag: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.put(flag_url(project, flag), json=body or BOOLEAN_FLAG)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def sdk_key(client: httpx.AsyncClient, project: str, env: str) -> str:
    response = await client.post(
        f"/api/v1/projects/{project}/environments/{env}/sdk-keys", json={"name": "t"}
    )
    assert response.status_code == 201, response.text
    secret: str = response.json()["secret"]
    return secret


def error_of(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "field"}, body
    return dict(body["error"])
