"""Gathers the release pages from the services and renders them: an environment's releases (rollout plans,
scheduled changes, triggers, webhooks), one flag's releases (the `flag_releases.html` partial, on a page of
its own or included in the flag page), and the plans table's rows for the live script. A form that a service
refused comes back to its page, with what was typed and the message at the field it names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.console.console_route import pages
from app.console.counters import Counter
from app.console.pages import flash
from app.console.place import navigation
from app.console.release_forms import FORM_LEVEL, FormError, Submitted, at_field
from app.console.release_views import (
    ACTIVE,
    EnvironmentReleases,
    FlagReleases,
    PlanView,
    ReleaseUrls,
    WebhookView,
)
from app.console.signed_in import ConsoleUser
from app.services.container import Services
from app.services.errors import Conflict, InvalidInput, NotFound, ServiceError, VersionMismatch
from app.services.flag_config_service import FlagRef
from app.services.read_models import RolloutOut
from app.services.rollout_service import EnvironmentRef

FLAG_PLANS_SHOWN = 5
"""Plans of one flag its partial lists, newest first: the active one (always the newest) and a few before."""
DELIVERIES_SHOWN = 5
"""A webhook's latest deliveries the releases page shows; the API pages through all of them."""
EVALUATION_HOURS = 24
# A form naming something that does not exist (a flag) is refused at that field as invalid input.
_STATUS = {InvalidInput: 422, Conflict: 409, NotFound: 422, VersionMismatch: 412}


def plan_views(services: Services, where: EnvironmentRef, plans: Sequence[RolloutOut]) -> list[PlanView]:
    """Each plan with its flag's variations and, while it is active, the SDK confirmations of the revision
    it last wrote."""
    found = services.flag_definitions.get_many(where.project, {plan.flag for plan in plans})
    # A flag deleted since has no variations to read: its plans name them as #index.
    variations: dict[str, Sequence[Any] | None] = {key: found[key].variations for key in found}
    active = [plan for plan in plans if plan.status in ACTIVE]
    confirmed = services.rollouts.confirmations(where, active) if active else {}
    counters = {plan_id: Counter.of(report) for plan_id, report in confirmed.items()}
    return [PlanView(plan, variations.get(plan.flag), counters.get(plan.id)) for plan in plans]


def environment_plans(services: Services, where: EnvironmentRef, flag: str | None) -> list[PlanView]:
    """Active plans first (newest first), then the latest that ended; one flag's when `flag` is given."""
    limit = FLAG_PLANS_SHOWN if flag else services.settings.console_max_release_rows
    active = [
        plan
        for status in ACTIVE
        for plan in services.rollouts.list(where, flag=flag, status=status, before=None, limit=limit)
    ]
    active.sort(key=lambda plan: plan.id, reverse=True)
    ended = [
        plan
        for plan in services.rollouts.list(where, flag=flag, status=None, before=None, limit=limit)
        if plan.status not in ACTIVE
    ]
    return plan_views(services, where, (active + ended)[: max(limit, len(active))])


def flag_releases(services: Services, ref: FlagRef, submitted: Submitted | None = None) -> FlagReleases:
    """The context of the `flag_releases.html` partial for `ref`'s flag in `ref`'s environment."""
    where = EnvironmentRef(ref.project, ref.environment)
    definition = services.flag_definitions.get(ref.project, ref.flag)
    pending = services.schedules.list(
        ref.project, ref.environment, flag=ref.flag, status="pending", after=None, limit=FLAG_PLANS_SHOWN
    )
    triggers = [
        trigger
        for trigger in services.triggers.list(ref.project, ref.environment)
        if trigger.flag == ref.flag and trigger.revoked_at is None
    ]
    metrics = services.sdk_metrics.flag_metrics(ref, EVALUATION_HOURS)
    return FlagReleases(
        urls=ReleaseUrls(ref.project, ref.environment, ref.flag),
        variations=definition.variations,
        client_side=definition.client_side,
        plans=environment_plans(services, where, ref.flag),
        pending=pending,
        triggers=triggers,
        evaluations=[entry for entry in metrics.variations if entry.evaluations],
        evaluation_hours=EVALUATION_HOURS,
        submitted=submitted or Submitted(),
    )


def environment_releases(
    services: Services, project: str, env: str, submitted: Submitted | None = None
) -> EnvironmentReleases:
    limit = services.settings.console_max_release_rows
    where = EnvironmentRef(project, env)
    # Read first: a change made while the page is gathered is then newer than the page says, and followed.
    revision = services.projects.get_environment(project, env).revision
    triggers = services.triggers.list(project, env)
    webhooks = services.webhooks.list(project, env)
    # Those in force first; the revoked ones after them, as a record of what was.
    triggers.sort(key=lambda trigger: trigger.revoked_at is not None)
    webhooks.sort(key=lambda webhook: webhook.revoked_at is not None)
    flags = services.flag_definitions.list(
        project, tag=None, after=None, limit=services.settings.console_max_flag_rows
    )
    return EnvironmentReleases(
        urls=ReleaseUrls(project, env),
        plans=environment_plans(services, where, None),
        pending=services.schedules.list(project, env, flag=None, status="pending", after=None, limit=limit),
        settled=services.schedules.recent(project, env, flag=None, limit=limit),
        triggers=triggers[:limit],
        webhooks=[
            WebhookView(
                webhook,
                services.webhooks.deliveries(project, env, webhook.id, before=None, limit=DELIVERIES_SHOWN),
            )
            for webhook in webhooks[:limit]
        ],
        flags=[definition.key for definition in flags],
        revision=revision,
        submitted=submitted or Submitted(),
    )


def render_releases(
    request: Request,
    services: Services,
    user: ConsoleUser,
    project: str,
    env: str,
    submitted: Submitted | None = None,
    status: int = 200,
) -> Response:
    context = {
        **navigation(services, user, project, env),
        "releases": environment_releases(services, project, env, submitted),
    }
    return pages(request).render(request, "releases.html", context, status=status)


def render_flag_releases(
    request: Request,
    services: Services,
    user: ConsoleUser,
    ref: FlagRef,
    submitted: Submitted | None = None,
    status: int = 200,
) -> Response:
    context = {
        **navigation(services, user, ref.project, ref.environment),
        "releases": flag_releases(services, ref, submitted),
    }
    return pages(request).render(request, "flag_releases_page.html", context, status=status)


def refused(
    request: Request,
    services: Services,
    user: ConsoleUser,
    where: EnvironmentRef,
    form_name: str,
    form: Mapping[str, str],
    error: Exception,
    fields: Mapping[str, str],
) -> Response:
    """The page the form was on, with what was typed and the refusal at its field: the flag's releases page
    for a form of the partial (it sends `origin_flag`), else the environment's releases page.

    Re-raises an error that is not about the form (an environment that does not exist), for the console's
    error page."""
    status, field, message = refusal(error, fields)
    values = {name: value for name, value in form.items() if name != "csrf_token"}
    submitted = Submitted(form_name, values, {field: message})
    origin = form.get("origin_flag", "")
    if origin:
        ref = FlagRef(where.project, where.environment, origin)
        return render_flag_releases(request, services, user, ref, submitted, status)
    return render_releases(request, services, user, where.project, where.environment, submitted, status)


def refusal(error: Exception, fields: Mapping[str, str]) -> tuple[int, str, str]:
    """(status, form field, message) of a form's refusal; re-raises an error that is no fault of the form."""
    if isinstance(error, FormError):
        return 422, error.field, error.message
    if isinstance(error, ValidationError):
        error = InvalidInput.from_validation(error)
    if isinstance(error, ServiceError):
        status = _STATUS.get(type(error))
        field, message = at_field(error.message, error.field, fields)
        # A missing environment or project is no fault of the form: the console's error page says so.
        if status is not None and not (isinstance(error, NotFound) and field == FORM_LEVEL):
            return status, field, message
    raise error


def done(request: Request, form: Mapping[str, str], fallback: str, message: str) -> Response:
    """After a change: back to the page the form was on (its `next`, a console path), with a message."""
    response = RedirectResponse(safe_next(form.get("next", ""), fallback), 303)
    flash(response, request, message)
    return response


def safe_next(target: str, fallback: str) -> str:
    """`target` if it is a path of the console on this server; anything else (another host, a scheme,
    `//elsewhere`) is replaced by `fallback`, so a form can never send a browser away."""
    inside = target.startswith("/console/") and "\\" not in target
    if inside and all(ord(character) > 32 for character in target):
        return target
    return fallback
