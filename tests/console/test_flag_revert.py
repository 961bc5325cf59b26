"""Revert from the console: a confirmation page says what will change; confirming (editors and admins, with
the CSRF token and a reason) writes the earlier targeting as a new, audited version; a change that came in
between stops it."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.api.helpers import create_flag, env_flag_url
from tests.console.page_client import post_forms, signed_in

pytestmark = pytest.mark.anyio

HALF = {"rollout": {"variations": [{"variation": 0, "weight": 50000}, {"variation": 1, "weight": 50000}]}}


def _page(project: str) -> str:
    return f"/console/projects/{project}/environments/production/flags/checkout"


async def _flag(client: httpx.AsyncClient, project: str) -> dict[str, Any]:
    found: dict[str, Any] = (await client.get(env_flag_url(project, "production", "checkout"))).json()["flag"]
    return found


async def _two_versions(client: httpx.AsyncClient, project: str) -> tuple[int, int]:
    """A flag whose version 2 serves a 50/50 rollout and whose version 3 serves true to everyone."""
    await create_flag(client, project, "checkout")
    url = env_flag_url(project, "production", "checkout")
    half = (await client.patch(url, json={"fallthrough": HALF})).json()["flag"]["version"]
    whole = (await client.patch(url, json={"fallthrough": {"variation": 0}})).json()["flag"]["version"]
    return half, whole


async def test_reverting_writes_the_earlier_targeting_as_a_new_audited_version(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    half, whole = await _two_versions(client, project)

    async with signed_in(app, client, "editor") as editor:
        confirm = await editor.http.get(f"{_page(project)}/revert", params={"version": half})
        (form,) = [f for f in post_forms(confirm.text) if "/revert" in f]
        reverted = await editor.post(
            f"{_page(project)}/revert",
            {"version": str(half), "current": str(whole), "reason": "back to 50/50"},
        )

    assert confirm.status_code == 200
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", confirm.text)))
    assert "Everyone else: now true for 50%, false for 50% (was true)" in text
    assert f'name="csrf_token" value="{editor.csrf}"' in form and f'name="current" value="{whole}"' in form
    assert reverted.status_code == 303
    after = await _flag(client, project)
    assert after["version"] == whole + 1 and after["fallthrough"] == HALF
    entry = (
        await client.get("/api/v1/audit", params={"project": project, "flag": "checkout", "limit": 1})
    ).json()
    item = entry["items"][0]
    assert (item["action"], item["actor"], item["reason"]) == (
        "flag.revert",
        editor.key_name,
        "back to 50/50",
    )


async def test_a_revert_after_another_change_reverts_nothing(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    half, whole = await _two_versions(client, project)
    await client.patch(
        env_flag_url(project, "production", "checkout"), json={"fallthrough": {"variation": 1}}
    )

    async with signed_in(app, client, "editor") as editor:
        stale = await editor.post(f"{_page(project)}/revert", {"version": str(half), "current": str(whole)})

    assert stale.status_code == 409
    assert "changed by someone else meanwhile" in stale.text
    assert (await _flag(client, project))["fallthrough"] == {"variation": 1}


async def test_history_offers_revert_only_to_editors_and_never_for_the_current_version(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    half, whole = await _two_versions(client, project)

    async with signed_in(app, client, "editor") as editor:
        page = await editor.http.get(_page(project))
    async with signed_in(app, client, "operator") as operator:
        operator_page = await operator.http.get(_page(project))
        confirm = await operator.http.get(f"{_page(project)}/revert", params={"version": half})
        refused = await operator.post(
            f"{_page(project)}/revert", {"version": str(half), "current": str(whole)}
        )

    assert f"revert?version={half}" in page.text and f"revert?version={whole}" not in page.text
    assert "revert?version=" not in operator_page.text
    assert (confirm.status_code, refused.status_code) == (403, 403)
    assert (await _flag(client, project))["version"] == whole


async def test_a_revert_without_the_csrf_token_is_refused(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    half, whole = await _two_versions(client, project)

    async with signed_in(app, client, "admin") as admin:
        refused = await admin.http.post(
            f"{_page(project)}/revert", data={"version": str(half), "current": str(whole)}
        )

    assert refused.status_code == 403
    assert (await _flag(client, project))["version"] == whole


async def test_reverting_to_a_version_that_never_was_is_not_found(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await _two_versions(client, project)

    async with signed_in(app, client, "editor") as editor:
        missing = await editor.http.get(f"{_page(project)}/revert", params={"version": 99})

    assert missing.status_code == 404
