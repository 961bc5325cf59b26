"""Mounts the console on an app: its routers, its static files (`/console/static`) and its template
environment. Called once by the app factory."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from app.console import sign_in_routes
from app.console.pages import STATIC, STATIC_PATH, Pages

ROUTERS = (sign_in_routes.router,)


def install_console(app: FastAPI) -> None:
    app.state.console_pages = Pages()
    for router in ROUTERS:
        app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC), name="console-static")
