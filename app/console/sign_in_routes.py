"""`/console` itself, sign-in and sign-out: an admin key (any role) is exchanged for a session cookie, and the
key never reaches the browser's storage.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.console.console_route import ConsoleRoute, pages
from app.console.signed_in import (
    Form,
    ServicesDep,
    User,
    check_origin,
    clear_session_cookie,
    read_form,
    set_session_cookie,
)
from app.services.console_session_service import BadKey, TooManyAttempts
from app.services.errors import NotFound

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path of the console itself: never another site (`//evil`, `https://...`)."""
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console"


@router.get("", summary="The console: the flags of the default project's first environment")
def home(services: ServicesDep, user: User) -> Response:
    projects = services.projects.list_projects(user.project)
    if not projects:
        raise NotFound("no project exists yet; create one with the API or `flagstaff` first", "project")
    project = next((p for p in projects if p.key == "default"), projects[0])
    if not project.environments:
        raise NotFound(f"project {project.key!r} has no environment yet", "environment")
    return RedirectResponse(
        f"/console/projects/{project.key}/environments/{project.environments[0].key}/flags", 303
    )


@router.get("/sign-in", summary="The sign-in form")
def sign_in_form(request: Request, next: str | None = None) -> Response:
    return pages(request).render(request, "sign_in.html", {"next": _safe_next(next), "error": None})


@router.post("/sign-in", summary="Sign in with an admin key")
async def sign_in(request: Request, services: ServicesDep) -> Response:
    check_origin(request)  # no session yet, so no CSRF token: the origin check stops another site's form
    form = await read_form(request)
    target = _safe_next(form.get("next"))
    address = request.client.host if request.client else "unknown"
    try:
        signed = await run_in_threadpool(services.console_sessions.sign_in, form.get("key", ""), address)
    except (BadKey, TooManyAttempts) as refused:
        status = 429 if isinstance(refused, TooManyAttempts) else 401
        context = {"next": target, "error": refused.message}
        return pages(request).render(request, "sign_in.html", context, status=status)
    response = RedirectResponse(target, 303)
    lifetime = services.console_sessions.limits.lifetime
    set_session_cookie(response, request, signed.token, int(lifetime.total_seconds()))
    return response


@router.post("/sign-out", summary="Sign out: the session ends on the server too")
def sign_out(request: Request, services: ServicesDep, user: User, form: Form) -> Response:
    services.console_sessions.sign_out(user.identity)
    response = RedirectResponse("/console/sign-in", 303)
    clear_session_cookie(response, request)
    return response
