"""A signed-in console client for the page tests (built on `tests.console.helpers`): an admin key of one role,
its name (the audit log's actor), and form posts carrying the session's CSRF token as the pages do."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from tests.console.helpers import admin_key, browser, sign_in

_FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S)


@dataclass(frozen=True, slots=True)
class Console:
    http: httpx.AsyncClient
    csrf: str
    key_name: str

    async def post(self, path: str, fields: dict[str, str]) -> httpx.Response:
        """A form post as the page sends it: with the session's CSRF token."""
        return await self.http.post(path, data={**fields, "csrf_token": self.csrf})


@asynccontextmanager
async def signed_in(app: FastAPI, admin: httpx.AsyncClient, role: str) -> AsyncIterator[Console]:
    """A browser-like client signed in with a new admin key of `role` (made by the bootstrap admin)."""
    secret, key_id = await admin_key(admin, role)
    keys = (await admin.get("/api/v1/admin-keys")).json()["items"]
    name = next(key["name"] for key in keys if key["key_id"] == key_id)
    async with browser(app) as http:
        yield Console(http, await sign_in(http, secret), name)


def post_forms(html: str) -> list[str]:
    """Every form of a page that posts (a GET form changes nothing and needs no token)."""
    return [form for form in _FORM.findall(html) if 'method="post"' in form]
