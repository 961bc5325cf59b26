"""Importing an Unleash document through the admin API: every flag lands in the environment, with a report."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.api.helpers import env_flag_url

pytestmark = pytest.mark.anyio

SPECIFICATIONS = (
    Path(__file__).resolve().parents[2] / "sdk/tests/data/unleash-client-specification/specifications"
)


def _import_url(project: str, env: str) -> str:
    return f"/api/v1/projects/{project}/environments/{env}/import/unleash"


async def test_an_unleash_document_imports_into_one_environment_with_its_report(
    client: httpx.AsyncClient, project: str
) -> None:
    document = json.loads((SPECIFICATIONS / "17-dependent-features.json").read_text(encoding="utf-8"))[
        "state"
    ]
    response = await client.post(_import_url(project, "staging"), json=document)
    assert response.status_code == 200, response.text
    body = response.json()
    assert {f["status"] for f in body["flags"]} == {"created"}
    assert len(body["flags"]) == len(document["features"])
    assert any(u["flag"] == "child.with.cycle" for u in body["unmapped"])
    child = (await client.get(env_flag_url(project, "staging", "parent.enabled.child.enabled"))).json()[
        "flag"
    ]
    assert child["enabled"] is True and child["prerequisites"] == [{"flag": "parent.enabled", "variation": 0}]
    other = (await client.get(env_flag_url(project, "production", "parent.enabled"))).json()["flag"]
    assert other["enabled"] is False  # new flags start off in the environments not imported into


async def test_importing_again_updates_the_flags_in_place(client: httpx.AsyncClient, project: str) -> None:
    document = {"features": [{"name": "banner", "enabled": True, "strategies": [{"name": "default"}]}]}
    await client.post(_import_url(project, "staging"), json=document)
    document["features"][0]["enabled"] = False
    response = await client.post(_import_url(project, "staging"), json=document)
    assert [f["status"] for f in response.json()["flags"]] == ["updated"]
    flag = (await client.get(env_flag_url(project, "staging", "banner"))).json()["flag"]
    assert flag["enabled"] is False


async def test_a_body_that_is_not_an_unleash_document_is_refused(
    client: httpx.AsyncClient, project: str
) -> None:
    response = await client.post(_import_url(project, "staging"), json={"flags": {}})
    assert response.status_code == 422
