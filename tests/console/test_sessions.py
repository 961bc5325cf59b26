"""Signing in to the console: a key for a session cookie (HttpOnly, SameSite=Strict, Path=/console, Secure
over HTTPS) that never holds the key, a readable refusal of a bad key, limits on failed attempts, sign-out,
expiry and revocation ending a session, each sign-in and sign-out audited by the key's name."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from app.auth.api_keys import hash_key
from app.storage.models import AdminKey, ConsoleSession, utcnow
from tests.console.helpers import admin_key, browser, sign_in

pytestmark = pytest.mark.anyio


def _cookie_attributes(response: httpx.Response, name: str) -> dict[str, str]:
    header = next(value for value in response.headers.get_list("set-cookie") if value.startswith(f"{name}="))
    parts = [part.strip() for part in header.split(";")]
    attributes = {part.partition("=")[0].lower(): part.partition("=")[2] for part in parts[1:]}
    attributes["value"] = parts[0].partition("=")[2]
    return attributes


async def test_signing_in_sets_a_strict_http_only_cookie_that_is_not_the_key(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    key, _ = await admin_key(client, "operator")
    async with browser(app) as http:
        response = await http.post("/console/sign-in", data={"key": key, "next": "/console"})
    assert response.status_code == 303
    assert response.headers["location"] == "/console"
    cookie = _cookie_attributes(response, "flagstaff_console")
    assert "httponly" in cookie
    assert cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/console"
    assert "secure" not in cookie  # served over plain HTTP, as `make serve` does
    assert cookie["value"] and key not in cookie["value"] and cookie["value"] not in key


async def test_over_https_the_cookie_is_secure(app: FastAPI, client: httpx.AsyncClient) -> None:
    key, _ = await admin_key(client, "reader")
    async with browser(app, "https://flagstaff.test") as http:
        response = await http.post("/console/sign-in", data={"key": key})
        assert "secure" in _cookie_attributes(response, "flagstaff_console")
        assert (await http.get("/console")).status_code == 303  # signed in: on to the flag list


async def test_a_bad_key_shows_the_form_again_with_401(app: FastAPI) -> None:
    async with browser(app) as http:
        response = await http.post("/console/sign-in", data={"key": "fs_admin_000000000000_wrong"})
        assert response.status_code == 401
        assert "not a valid admin key" in response.text
        assert 'name="key"' in response.text
        assert "flagstaff_console=" not in response.headers.get("set-cookie", "")
        assert (await http.get("/console")).headers["location"].startswith("/console/sign-in")


async def test_an_sdk_key_cannot_sign_in(app: FastAPI, client: httpx.AsyncClient, project: str) -> None:
    created = await client.post(
        f"/api/v1/projects/{project}/environments/production/sdk-keys", json={"name": "app"}
    )
    async with browser(app) as http:
        response = await http.post("/console/sign-in", data={"key": created.json()["secret"]})
    assert response.status_code == 401


async def test_failed_sign_ins_are_limited_per_address(app: FastAPI, client: httpx.AsyncClient) -> None:
    limit = app.state.services.settings.console_sign_in_failures_per_minute
    key, _ = await admin_key(client, "reader")
    async with browser(app) as http:
        for _ in range(limit):
            assert (await http.post("/console/sign-in", data={"key": "guess"})).status_code == 401
        refused = await http.post("/console/sign-in", data={"key": key})
        assert refused.status_code == 429  # even the right key, until the minute has passed
        assert "too many failed sign-ins" in refused.text
    async with browser(app) as elsewhere:  # another address is not held up
        assert (await elsewhere.post("/console/sign-in", data={"key": key})).status_code == 303


async def test_sign_in_and_sign_out_are_audited_by_the_keys_name(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    key, key_id = await admin_key(client, "operator")
    keys = (await client.get("/api/v1/admin-keys")).json()["items"]
    name = next(item["name"] for item in keys if item["key_id"] == key_id)
    async with browser(app) as http:
        csrf = await sign_in(http, key)
        signed_out = await http.post("/console/sign-out", data={"csrf_token": csrf})
        assert signed_out.status_code == 303
        assert signed_out.headers["location"] == "/console/sign-in"
        assert (await http.get("/console")).headers["location"].startswith("/console/sign-in")
    entries = (await client.get("/api/v1/audit", params={"actor": name})).json()["items"]
    assert [entry["action"] for entry in entries] == ["console.sign_out", "console.sign_in"]
    assert {entry["target_key"] for entry in entries} == {key_id}


async def test_a_signed_out_sessions_cookie_no_longer_works(app: FastAPI, client: httpx.AsyncClient) -> None:
    key, _ = await admin_key(client, "reader")
    async with browser(app) as http:
        csrf = await sign_in(http, key)
        token = http.cookies["flagstaff_console"]
        await http.post("/console/sign-out", data={"csrf_token": csrf})
    async with browser(app) as thief:
        thief.cookies.set("flagstaff_console", token, domain="flagstaff.test", path="/console")
        response = await thief.get("/console/projects/default/environments/production/flags")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/sign-in")


async def test_revoking_the_key_ends_its_sessions_at_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    key, key_id = await admin_key(client, "operator")
    async with browser(app) as http:
        await sign_in(http, key)
        page = "/console/projects/default/environments/production/flags"
        assert (await http.get(page)).status_code == 200
        assert (await client.delete(f"/api/v1/admin-keys/{key_id}")).status_code == 200
        response = await http.get(page)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/console/sign-in")
    with app.state.services.database.transaction() as session:
        ended = session.scalars(
            select(ConsoleSession.ended_at)
            .join(AdminKey, AdminKey.id == ConsoleSession.admin_key_id)
            .where(AdminKey.key_id == key_id)
        ).all()
    assert ended and all(moment is not None for moment in ended)  # the revocation recorded their end


@pytest.mark.parametrize("column", ["expires_at", "last_seen_at"])
async def test_an_expired_or_idle_session_asks_to_sign_in_again(
    app: FastAPI, client: httpx.AsyncClient, column: str
) -> None:
    key, _ = await admin_key(client, "reader")
    async with browser(app) as http:
        await sign_in(http, key)
        # As if the absolute lifetime, or the idle timeout, had passed since.
        limits = app.state.services.console_sessions.limits
        past = utcnow() - (
            timedelta(seconds=1) if column == "expires_at" else limits.idle + timedelta(seconds=1)
        )
        token_hash = hash_key(http.cookies["flagstaff_console"])
        with app.state.services.database.transaction() as session:
            session.execute(
                update(ConsoleSession).where(ConsoleSession.token_hash == token_hash).values({column: past})
            )
        target = f"/console/projects/default/environments/production/flags?q={uuid.uuid4().hex[:6]}"
        response = await http.get(target)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/console/sign-in?next=%2Fconsole%2Fprojects")
        assert "flagstaff_console=" in response.headers.get("set-cookie", "")  # and the browser forgets it


async def test_sign_in_goes_back_only_to_console_pages(app: FastAPI, client: httpx.AsyncClient) -> None:
    key, _ = await admin_key(client, "reader")
    for target, expected in [
        ("/console/projects/default/flags/x", "/console/projects/default/flags/x"),
        ("https://elsewhere.example/console", "/console"),
        ("//elsewhere.example/console", "/console"),
    ]:
        async with browser(app) as http:
            response = await http.post("/console/sign-in", data={"key": key, "next": target})
            assert response.headers["location"] == expected
