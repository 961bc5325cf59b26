"""Mounts the console on an app: its routers, its static files (`/console/static`) and its template
environment. Called once by the app factory."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from app.console import (
    audit_page_routes,
    environment_routes,
    flag_detail_routes,
    flag_list_routes,
    flag_page_routes,
    flag_revert_routes,
    flag_settings_routes,
    live_routes,
    release_change_routes,
    release_routes,
    sign_in_routes,
    switch_routes,
)
from app.console.pages import STATIC, STATIC_PATH, Pages

# The list routes come before the switch routes: `.../flags/rows` is a page, not a flag named `rows`; and the
# new-flag form before the flag page: `/flags/new` is the form, not a flag named `new`.
ROUTERS = (
    sign_in_routes.router,
    flag_list_routes.router,
    flag_settings_routes.router,
    flag_page_routes.router,
    switch_routes.router,
    live_routes.router,
    flag_revert_routes.router,
    flag_detail_routes.router,
    environment_routes.router,
    audit_page_routes.router,
    release_routes.router,
    release_change_routes.router,
)


def install_console(app: FastAPI) -> None:
    app.state.console_pages = Pages()
    for router in ROUTERS:
        app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC), name="console-static")
