"""Reverting a flag in one environment to an earlier version: a confirmation page showing what the revert will
change (GET), and the revert itself (POST, editors and admins), which `services.flag_configs.revert` writes as
a new, audited version with the reason given. History only grows.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.console.console_route import ConsoleRoute, pages
from app.console.flag_detail import flag_url, revert_changes
from app.console.pages import flash
from app.console.place import navigation
from app.console.signed_in import ConsoleUser, Editor, Form, ServicesDep
from app.services.container import Services
from app.services.errors import NotFound, VersionMismatch
from app.services.flag_config_service import FlagRef

router = APIRouter(prefix="/console/projects/{project}", route_class=ConsoleRoute, include_in_schema=False)

MAX_REASON_LENGTH = 2000  # as the REST API's revert body


@router.get("/environments/{env}/flags/{flag}/revert", summary="Confirm: revert a flag to an earlier version")
def confirm_revert(
    request: Request,
    services: ServicesDep,
    user: Editor,
    project: str,
    env: str,
    flag: str,
    version: int = Query(ge=0, description="the version whose targeting to restore"),
) -> Response:
    return _confirm_page(request, services, user, FlagRef(project, env, flag), version)


@router.post("/environments/{env}/flags/{flag}/revert", summary="Revert a flag to an earlier version")
def revert(
    request: Request, services: ServicesDep, user: Editor, form: Form, project: str, env: str, flag: str
) -> Response:
    ref = FlagRef(project, env, flag)
    version, if_match = form.get("version", ""), form.get("current", "")
    if not version.isdigit() or not if_match.isdigit():
        return _confirm_page(
            request, services, user, ref, None, error="The form did not say which versions; reload the page."
        )
    reason = form.get("reason", "").strip()
    if len(reason) > MAX_REASON_LENGTH:
        return _confirm_page(
            request,
            services,
            user,
            ref,
            int(version),
            reason,
            f"At most {MAX_REASON_LENGTH} characters, please.",
        )
    try:
        state = services.flag_configs.revert(user.actor, ref, int(version), int(if_match), reason or None)
    except VersionMismatch:
        return _confirm_page(request, services, user, ref, int(version), reason, conflict=True)
    response = RedirectResponse(f"{flag_url(ref)}#history", 303)
    message = (
        f"Reverted {flag} in {env} to version {version}: now version {state.flag['version']}."
        if state.changed
        else f"{flag} in {env} already had the targeting of version {version}; nothing changed."
    )
    flash(response, request, message)
    return response


def _confirm_page(
    request: Request,
    services: Services,
    user: ConsoleUser,
    ref: FlagRef,
    version: int | None,
    reason: str = "",
    error: str | None = None,
    *,
    conflict: bool = False,
) -> Response:
    current = services.flag_configs.get(ref).flag
    target = None
    if version is not None:
        found = services.flag_configs.history(ref, before=version + 1, limit=1)
        if not found or found[0].version != version or found[0].flag is None:
            raise NotFound(f"flag {ref.flag!r} has no version {version} in {ref.environment!r}", "version")
        target = found[0]
    context = {
        **navigation(services, user, ref.project, ref.environment),
        "ref": ref,
        "flag_url": flag_url(ref),
        "current": current,
        "target": target,
        "changes": revert_changes(current, target.flag) if target and target.flag else (),
        "reason": reason,
        "error": error,
        "conflict": conflict,
    }
    status = 409 if conflict else 422 if error else 200
    return pages(request).render(request, "revert_confirm.html", context, status=status)
