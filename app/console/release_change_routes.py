"""The release page's other forms, all for editors and admins, each one call of a service the REST API calls:
schedule a change and cancel one (`services.schedules`), create and revoke a trigger (`services.triggers`),
create and delete a webhook (`services.webhooks`).

A trigger's URL and a webhook's signing secret are shown once, on the page that answers their creation: never
through a redirect, whose message would travel in a cookie, as the console never lets a browser store a
secret.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.console import release_forms
from app.console.console_route import ConsoleRoute, pages
from app.console.place import navigation
from app.console.release_forms import FormError
from app.console.release_pages import done, refused, safe_next
from app.console.release_views import ReleaseUrls
from app.console.signed_in import ConsoleUser, Editor, Form, ServicesDep
from app.services.container import Services
from app.services.errors import ServiceError
from app.services.input_models import ScheduleIn, TriggerIn, WebhookIn
from app.services.rollout_service import EnvironmentRef

router = APIRouter(prefix="/console/projects/{project}", route_class=ConsoleRoute, include_in_schema=False)
# The tables' 32-bit integer keys; a larger id could name none.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


# -- scheduled changes ------


@router.post("/environments/{env}/schedules", summary="Schedule a change of a flag")
def create_schedule(
    request: Request, services: ServicesDep, user: Editor, form: Form, project: str, env: str
) -> Response:
    where = EnvironmentRef(project, env)
    try:
        body = ScheduleIn.model_validate(release_forms.schedule_body(form, datetime.now(UTC)))
        created = services.schedules.create(user.actor, project, env, body)
    except (FormError, ValidationError, ServiceError) as error:
        fields = release_forms.schedule_fields(form)
        return refused(request, services, user, where, "schedule", form, error, fields)
    at = created.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    message = f"Scheduled {created.action} of {created.flag} in {env} at {at} (change {created.id})."
    return done(request, form, ReleaseUrls(project, env).releases, message)


@router.post("/environments/{env}/schedules/{schedule}/cancel", summary="Cancel a pending scheduled change")
def cancel_schedule(
    request: Request,
    services: ServicesDep,
    user: Editor,
    form: Form,
    project: str,
    env: str,
    schedule: RowId,
) -> Response:
    reason = form.get("reason", "").strip()[:2000] or None
    cancelled = services.schedules.cancel(user.actor, project, env, schedule, reason)
    message = f"Cancelled the scheduled {cancelled.action} of {cancelled.flag} (change {schedule})."
    return done(request, form, ReleaseUrls(project, env).releases, message)


# -- triggers ------


@router.post("/environments/{env}/triggers", summary="Create a trigger: its secret URL is shown once")
def create_trigger(
    request: Request, services: ServicesDep, user: Editor, form: Form, project: str, env: str
) -> Response:
    where = EnvironmentRef(project, env)
    try:
        body = TriggerIn.model_validate(release_forms.trigger_body(form))
        created = services.triggers.create(user.actor, project, env, body)
    except (ValidationError, ServiceError) as error:
        return refused(request, services, user, where, "trigger", form, error, release_forms.TRIGGER_FIELDS)
    url = str(request.url_for("fire_trigger", secret=created.secret))
    what = f"{created.action} {created.flag} in {env}"
    return _created(
        request,
        services,
        user,
        where,
        form,
        heading=f"Trigger {created.name} created",
        label="Its URL",
        secret=url,
        explain=f"A POST to this URL (from Alertmanager, or curl -X POST) will {what}; it needs no key, so "
        "keep it as you would a password.",
    )


@router.post("/environments/{env}/triggers/{trigger}/revoke", summary="Revoke a trigger")
def revoke_trigger(
    request: Request,
    services: ServicesDep,
    user: Editor,
    form: Form,
    project: str,
    env: str,
    trigger: RowId,
) -> Response:
    revoked = services.triggers.revoke(user.actor, project, env, trigger)
    message = f"Revoked trigger {revoked.name}: its URL answers 404 from now on."
    return done(request, form, ReleaseUrls(project, env).releases, message)


# -- webhooks ------


@router.post("/environments/{env}/webhooks", summary="Create a webhook: its signing secret is shown once")
def create_webhook(
    request: Request, services: ServicesDep, user: Editor, form: Form, project: str, env: str
) -> Response:
    where = EnvironmentRef(project, env)
    try:
        body = WebhookIn.model_validate(release_forms.webhook_body(form))
        created = services.webhooks.create(user.actor, project, env, body)
    except (ValidationError, ServiceError) as error:
        return refused(request, services, user, where, "webhook", form, error, release_forms.WEBHOOK_FIELDS)
    return _created(
        request,
        services,
        user,
        where,
        form,
        heading=f"Webhook {created.name} created",
        label="Its signing secret",
        secret=created.secret,
        explain=f"Every delivery to {created.url} carries a signature made with this secret: check it "
        "before trusting a delivery (docs/releases-triggers-webhooks.md).",
    )


@router.post("/environments/{env}/webhooks/{webhook}/delete", summary="Delete a webhook")
def delete_webhook(
    request: Request,
    services: ServicesDep,
    user: Editor,
    form: Form,
    project: str,
    env: str,
    webhook: RowId,
) -> Response:
    deleted = services.webhooks.delete(user.actor, project, env, webhook)
    message = f"Deleted webhook {deleted.name}: nothing more is sent to it; its deliveries stay listed."
    return done(request, form, ReleaseUrls(project, env).releases, message)


def _created(
    request: Request,
    services: Services,
    user: ConsoleUser,
    where: EnvironmentRef,
    form: dict[str, str],
    *,
    heading: str,
    label: str,
    secret: str,
    explain: str,
) -> Response:
    """The one page that shows a new secret; `Cache-Control: no-store` (every console page) keeps it out of
    the browser's cache."""
    urls = ReleaseUrls(where.project, where.environment)
    context = {
        **navigation(services, user, where.project, where.environment),
        "heading": heading,
        "label": label,
        "secret": secret,
        "explain": explain,
        "back_url": safe_next(form.get("next", ""), urls.releases),
    }
    return pages(request).render(request, "release_created.html", context, status=201)
