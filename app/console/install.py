"""Mounts the console on an app: its routers, its static files (`/console/static`) and its template
environment. Called once by the app factory."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from app.console import (
    audit_page_routes,
    environment_routes,
    flag_detail_routes,
    flag_revert_routes,
    sign_in_routes,
)
from app.console.pages import STATIC, STATIC_PATH, Pages

# A router with a fixed path segment (`.../flags/rows`) comes before one that takes any flag key there.
ROUTERS = (
    sign_in_routes.router,
    flag_revert_routes.router,
    flag_detail_routes.router,
    environment_routes.router,
    audit_page_routes.router,
)


def install_console(app: FastAPI) -> None:
    app.state.console_pages = Pages()
    for router in ROUTERS:
        app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC), name="console-static")
