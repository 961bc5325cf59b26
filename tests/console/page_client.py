"""Signed-in console clients for the page tests that need no browser: each with its own cookies and client
address, an admin key of one role, and the session's CSRF token as the pages carry it."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S)
_numbers = itertools.count(1)


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
    number = next(_numbers)
    name = f"{role}-{number}"
    created = await admin.post("/api/v1/admin-keys", json={"name": name, "role": role})
    assert created.status_code == 201, created.text
    transport = httpx.ASGITransport(app=app, client=(f"10.9.{number // 250}.{number % 250 + 1}", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://flagstaff.test") as http:
        answer = await http.post(
            "/console/sign-in", data={"key": created.json()["secret"], "next": "/console/audit"}
        )
        assert answer.status_code == 303, answer.text
        page = await http.get("/console/audit")
        found = _CSRF.search(page.text)
        assert found is not None, page.text
        yield Console(http, found.group(1), name)


def post_forms(html: str) -> list[str]:
    """Every form of a page that posts (a GET form changes nothing and needs no token)."""
    return [form for form in _FORM.findall(html) if 'method="post"' in form]
