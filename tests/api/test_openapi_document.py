"""The OpenAPI document describes every operation and parameter, and its browsable pages (/docs, /redoc) work
offline: every script, style sheet and icon they load comes from the server itself."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings

# Every URL a page loads: attributes, and the OpenAPI document handed to the page's script.
_URLS = re.compile(
    r"""(?:src|href)\s*=\s*["']([^"']+)["']|\burl\s*:\s*["']([^"']+)["']|spec-url=["']([^"']+)"""
)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    built: FastAPI = create_app(Settings(database_url="sqlite://"))
    return built.openapi()


@pytest.mark.anyio
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_pages_load_only_same_origin_assets_that_answer(client: httpx.AsyncClient, page: str):
    response = await client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    urls = [next(group for group in found if group) for found in _URLS.findall(html)]
    assert any(url.endswith(".js") for url in urls), html
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.IGNORECASE), html
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url


def test_every_operation_has_a_summary_and_every_parameter_a_description(document: dict[str, Any]):
    missing: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            if not (operation.get("summary") or operation.get("description")):
                missing.append(f"{label}: no summary or description")
            missing.extend(
                f"{label}: {parameter['in']} parameter {parameter['name']!r} has no description"
                for parameter in operation.get("parameters", [])
                if not parameter.get("description")
            )
    assert missing == []
