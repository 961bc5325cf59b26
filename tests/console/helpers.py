"""A browser-like client of the console for the tests that need no browser: its own cookies, its own client
address (so sign-in limits never cross tests), and the session's CSRF token as its pages carry it."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_addresses = itertools.count(1)


async def admin_key(client: httpx.AsyncClient, role: str, project: str | None = None) -> tuple[str, str]:
    """A new admin key of `role` (made by the bootstrap admin `client`): (secret, key id)."""
    response = await client.post(
        "/api/v1/admin-keys", json={"name": f"{role}-{next(_addresses)}", "role": role, "project": project}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["secret"], body["key_id"]


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "the page carries no CSRF token"
    return found.group(1)


@asynccontextmanager
async def browser(app: FastAPI, base_url: str = "http://flagstaff.test") -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client from an address of its own (10.0.x.y)."""
    number = next(_addresses)
    address = f"10.0.{number // 250}.{number % 250 + 1}"
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
        yield http


async def sign_in(http: httpx.AsyncClient, key: str) -> str:
    """Signs in with `key`; returns the session's CSRF token, read from the page signing in leads to."""
    response = await http.post("/console/sign-in", data={"key": key, "next": "/console"})
    assert response.status_code == 303, response.text
    page = await http.get("/console", follow_redirects=True)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)
