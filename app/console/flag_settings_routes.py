"""A new flag (`/console/projects/{project}/flags/new`) and a flag's settings (`.../flags/{flag}/settings`:
name, description, tags, temporary, client-side), for editors and admins, through
`services.flag_definitions` as the REST API's PUT and PATCH.

Client-side (whether browsers may evaluate the flag over OFREP) is set by a PUT of the whole definition, as
the API has it: a new revision of every environment, so OFREP's compiled snapshots see it. The descriptive
fields alone are a PATCH, which moves no revision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.console import release_forms
from app.console.console_route import ConsoleRoute, pages
from app.console.pages import flash
from app.console.place import navigation
from app.console.release_forms import FormError, Submitted
from app.console.release_pages import refusal
from app.console.signed_in import ConsoleUser, Editor, Form, ServicesDep
from app.services.container import Services
from app.services.errors import Conflict, PreconditionRequired, ServiceError
from app.services.input_models import FlagDefinitionIn, FlagDefinitionPatch
from app.services.read_models import FlagDefinitionOut
from flagstaff.flags import KINDS

router = APIRouter(prefix="/console/projects/{project}", route_class=ConsoleRoute, include_in_schema=False)


def _flag_url(project: str, flag: str) -> str:
    return f"/console/projects/{quote(project, safe='')}/flags/{quote(flag, safe='')}"


# -- a new flag ------


@router.get("/flags/new", summary="The form for a new flag")
def new_flag_form(request: Request, services: ServicesDep, user: Editor, project: str) -> Response:
    return _new_flag_page(request, services, user, project, Submitted("flag"), 200)


@router.post("/flags/new", summary="Create a flag: off in every environment")
def create_flag(request: Request, services: ServicesDep, user: Editor, form: Form, project: str) -> Response:
    try:
        key, fields = release_forms.new_flag(form)
        body = FlagDefinitionIn.model_validate(fields)
        try:
            definition, created = services.flag_definitions.put(
                user.actor, project, key, body, None, may_replace=False
            )
        except PreconditionRequired:
            created = False
        if not created:
            raise Conflict(f"a flag {key!r} exists already: choose another key", "key")
    except (FormError, ValidationError, ServiceError) as error:
        status, field, message = refusal(error, release_forms.NEW_FLAG_FIELDS)
        submitted = Submitted("flag", _typed(form), {field: message})
        return _new_flag_page(request, services, user, project, submitted, status)
    response = RedirectResponse(_flag_url(project, definition.key), 303)
    flash(response, request, f"Created {definition.key}: off in every environment until you turn it on.")
    return response


def _new_flag_page(
    request: Request,
    services: Services,
    user: ConsoleUser,
    project: str,
    submitted: Submitted,
    status: int,
) -> Response:
    environments = services.projects.get_project(project).environments
    back = f"/console/projects/{quote(project, safe='')}"
    back += f"/environments/{quote(environments[0].key, safe='')}/flags" if environments else ""
    context = {
        **navigation(services, user, project),
        "kinds": KINDS,
        "submitted": submitted,
        "back_url": back if environments else "/console",
    }
    return pages(request).render(request, "flag_new.html", context, status=status)


# -- a flag's settings ------


@router.get("/flags/{flag}/settings", summary="A flag's name, description, tags and client-side setting")
def settings_form(request: Request, services: ServicesDep, user: Editor, project: str, flag: str) -> Response:
    definition = services.flag_definitions.get(project, flag)
    return _settings_page(request, services, user, project, definition, Submitted("settings"), 200)


@router.post("/flags/{flag}/settings", summary="Save a flag's settings")
def save_settings(
    request: Request, services: ServicesDep, user: Editor, form: Form, project: str, flag: str
) -> Response:
    current = services.flag_definitions.get(project, flag)
    try:
        version = _version(form)
        changes = release_forms.settings_changes(form)
        saved = _save(services, user, project, current, changes, version)
    except (FormError, ValidationError, ServiceError) as error:
        status, field, message = refusal(error, release_forms.SETTINGS_FIELDS)
        submitted = Submitted("settings", _typed(form), {field: message})
        return _settings_page(request, services, user, project, current, submitted, status)
    side = "on: browsers may evaluate it" if saved.client_side else "off"
    response = RedirectResponse(_flag_url(project, flag), 303)
    flash(response, request, f"Saved the settings of {flag} (client-side {side}).")
    return response


def _version(form: Mapping[str, str]) -> int:
    text = form.get("version", "")
    if not text.isdigit() or len(text) > 15:
        raise FormError("the form names no version of the flag: reload the page", release_forms.FORM_LEVEL)
    return int(text)


def _save(
    services: Services,
    user: ConsoleUser,
    project: str,
    current: FlagDefinitionOut,
    changes: dict[str, Any],
    version: int,
) -> FlagDefinitionOut:
    """A PUT when client-side changes (everything else as it is), else a PATCH; both only over `version`."""
    if changes["client_side"] != current.client_side:
        body = FlagDefinitionIn.model_validate(
            {"kind": current.kind, "variations": current.variations, "salt": current.salt, **changes}
        )
        saved, _ = services.flag_definitions.put(user.actor, project, current.key, body, version)
        return saved
    patch = FlagDefinitionPatch.model_validate(
        {name: value for name, value in changes.items() if name != "client_side"}
    )
    return services.flag_definitions.patch(user.actor, project, current.key, patch, version)


def _settings_page(
    request: Request,
    services: Services,
    user: ConsoleUser,
    project: str,
    definition: FlagDefinitionOut,
    submitted: Submitted,
    status: int,
) -> Response:
    context = {
        **navigation(services, user, project),
        "definition": definition,
        "flag_url": _flag_url(project, definition.key),
        "submitted": submitted,
    }
    return pages(request).render(request, "flag_settings.html", context, status=status)


def _typed(form: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in form.items() if name != "csrf_token"}
