"""One flag in one environment (`/console/projects/{project}/environments/{env}/flags/{flag}`): its targeting
as sentences, the segments it uses, its fallthrough; the edit forms (editors and admins); its history as
readable diffs and its audit entries.

Every edit is `services.flag_configs.patch` with `If-Match` on the version the page showed: a refusal comes
back to the page with its message at the field it names, a version conflict with a link to reload.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from app.console import flag_forms
from app.console.console_route import ConsoleRoute
from app.console.flag_detail import flag_url
from app.console.flag_detail_page import render_flag_page
from app.console.pages import flash, security_headers
from app.console.signed_in import ConsoleUser, Editor, Form, Reader, ServicesDep
from app.services.container import Services
from app.services.errors import InvalidInput, VersionMismatch
from app.services.flag_config_service import FlagRef

router = APIRouter(prefix="/console/projects/{project}", route_class=ConsoleRoute, include_in_schema=False)

MAX_REASON_LENGTH = 2000  # as the REST API's bodies
_SAVED = {
    "targets": "targets",
    "rollout": "fallthrough",
    "rule": "new rule",
    "rules": "rule order",
    "json": "targeting",
}


@router.get(
    "/environments/{env}/flags/{flag}", summary="A flag in one environment: targeting, history, audit"
)
def flag_in_environment(
    request: Request,
    services: ServicesDep,
    user: Reader,
    project: str,
    env: str,
    flag: str,
    history_before: int | None = Query(None, ge=1, description="older history: versions before this one"),
) -> Response:
    return render_flag_page(
        request, services, user, FlagRef(project, env, flag), history_before=history_before
    )


@router.get(
    "/environments/{env}/flags/{flag}/version.json", summary="The flag's version, for the page's script"
)
def flag_version(services: ServicesDep, user: Reader, project: str, env: str, flag: str) -> Response:
    state = services.flag_configs.get(FlagRef(project, env, flag))
    body = {"version": state.flag["version"], "revision": state.revision}
    return JSONResponse(body, headers=security_headers())


@router.post("/environments/{env}/flags/{flag}/edit/{form_name}", summary="Edit the flag's targeting")
def edit(
    request: Request,
    services: ServicesDep,
    user: Editor,
    form: Form,
    project: str,
    env: str,
    flag: str,
    form_name: flag_forms.FormName,
) -> Response:
    name = form_name
    ref = FlagRef(project, env, flag)
    current = services.flag_configs.get(ref).flag
    try:
        if_match = _version(form)
        reason = _reason(form)
        changes = _changes(name, current, form)
        state = services.flag_configs.patch(user.actor, ref, changes, if_match, reason)
    except flag_forms.FormError as refused:
        return _refused(request, services, user, ref, name, form, refused.field, refused.message)
    except InvalidInput as invalid:
        field = flag_forms.field_for(name, invalid.field, current)
        return _refused(request, services, user, ref, name, form, field, invalid.message)
    except VersionMismatch:
        context = {"conflict": name, "submitted": {name: form}}
        return render_flag_page(request, services, user, ref, extra=context, status=409)
    response = RedirectResponse(f"{flag_url(ref)}#{name}", 303)
    version = state.flag["version"]
    message = (
        f"Saved the {_SAVED[name]} of {flag} in {env}: version {version}."
        if state.changed
        else f"Nothing to save: {flag} in {env} already was so."
    )
    flash(response, request, message)
    return response


def _changes(
    name: flag_forms.FormName, current: Mapping[str, Any], form: Mapping[str, str]
) -> dict[str, Any]:
    if name == "targets":
        return flag_forms.targets_change(
            current, form.get("action", ""), form.get("variation", ""), form.get("keys", "")
        )
    if name == "rollout":
        return flag_forms.rollout_change(current, form)
    if name == "rule":
        return flag_forms.add_rule_change(current, form)
    if name == "rules":
        if form.get("do") == "remove":
            return flag_forms.remove_rule_change(current, form.get("rule", ""))
        return flag_forms.move_rule_change(current, form.get("rule", ""), form.get("do", ""))
    return flag_forms.json_change(form.get("json", ""))


def _version(form: Mapping[str, str]) -> int:
    """The version the page showed, for `If-Match`: a form without one could overwrite another's change."""
    text = form.get("version", "")
    if not text.isdigit():
        raise flag_forms.FormError("the form did not say which version it edits; reload the page", "")
    return int(text)


def _reason(form: Mapping[str, str]) -> str | None:
    reason = form.get("reason", "").strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise flag_forms.FormError(f"at most {MAX_REASON_LENGTH} characters, please", "reason")
    return reason or None


def _refused(
    request: Request,
    services: Services,
    user: ConsoleUser,
    ref: FlagRef,
    name: flag_forms.FormName,
    form: Mapping[str, str],
    field: str,
    message: str,
) -> Response:
    context = {"errors": {name: {field: message}}, "submitted": {name: form}}
    return render_flag_page(request, services, user, ref, extra=context, status=422)
