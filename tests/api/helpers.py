"""Small request builders shared by the API tests."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

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


def store_json(app: FastAPI, table: str, column: str, where: str, value: Any) -> None:
    """Writes a JSON column straight into the database, as an older version that did not check it would."""
    database = app.state.services.database
    placeholder = "CAST(:value AS json)" if database.is_postgresql else ":value"
    with database.engine.begin() as connection:
        connection.execute(
            text(f"UPDATE {table} SET {column} = {placeholder} WHERE {where}"), {"value": json.dumps(value)}
        )


def flag_row(project: str, flag: str) -> str:
    """SQL for the id of a flag's definition row, for `store_json`'s `where`."""
    return f"(SELECT id FROM flag_definitions WHERE key = '{flag}' AND project_id = {project_row(project)})"


def project_row(project: str) -> str:
    return f"(SELECT id FROM projects WHERE key = '{project}')"


def environment_row(project: str, env: str) -> str:
    return f"(SELECT id FROM environments WHERE key = '{env}' AND project_id = {project_row(project)})"
