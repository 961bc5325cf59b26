"""`/docs` (Swagger UI) and `/redoc`, with their scripts and styles served by the server itself from the
`fastapi-offline` package's copies, so the pages work with no network and load nothing from a CDN."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_ASSETS = "/docs-assets"


def install_docs_pages(app: FastAPI) -> None:
    """Adds the two pages and their assets to an app built with `docs_url=None, redoc_url=None`. The pages are
    the same for every request, so each is rendered once, here."""
    assets = str(files("fastapi_offline") / "static")
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    swagger_ui = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        # Swagger UI would otherwise send the document to an online validator for its badge.
        swagger_ui_parameters={"validatorUrl": None},
    )
    redoc = get_redoc_html(
        openapi_url=openapi_url,
        title=f"{app.title} - ReDoc",
        redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        with_google_fonts=False,
    )
    app.add_api_route("/docs", _serving(bytes(swagger_ui.body)), include_in_schema=False)
    app.add_api_route("/redoc", _serving(bytes(redoc.body)), include_in_schema=False)


def _serving(page: bytes) -> Callable[[], Awaitable[HTMLResponse]]:
    async def serve() -> HTMLResponse:
        return HTMLResponse(page)

    return serve
