"""Releases of an environment (`/console/projects/{project}/environments/{env}/releases`): its rollout plans,
scheduled changes, triggers and webhooks; one flag's releases on a page of their own; the plans table's rows
for the live script; and the rollout plan forms: start (editors), pause and abort (operators too: break-glass,
like the kill switch), resume (editors). Each plan change is `services.rollouts`, as the REST API's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from app.console import release_forms
from app.console.console_route import ConsoleRoute, pages
from app.console.pages import security_headers
from app.console.place import navigation
from app.console.release_forms import FormError
from app.console.release_pages import (
    done,
    environment_plans,
    plan_views,
    refused,
    render_flag_releases,
    render_releases,
    safe_next,
)
from app.console.release_views import ReleaseUrls
from app.console.signed_in import ConsoleUser, Editor, Form, Reader, Refused, ServicesDep, Toggler
from app.services.container import Services
from app.services.errors import ServiceError
from app.services.flag_config_service import FlagRef
from app.services.input_models import RolloutIn
from app.services.read_models import RolloutOut
from app.services.rollout_service import EnvironmentRef

router = APIRouter(prefix="/console/projects/{project}", route_class=ConsoleRoute, include_in_schema=False)
PlanId = Annotated[int, Path(ge=1, le=2**53)]
MAX_REASON_LENGTH = 2000  # as the REST API's
# action -> (its verb, who may: "toggle" for operators and up, "edit" for editors and up)
PLAN_ACTIONS = {"pause": ("Pause", "toggle"), "resume": ("Resume", "edit"), "abort": ("Abort", "toggle")}
DONE = {"pause": "Paused", "resume": "Resumed", "abort": "Aborted"}


@router.get("/environments/{env}/releases", summary="An environment's rollout plans, schedules, triggers")
def releases(request: Request, services: ServicesDep, user: Reader, project: str, env: str) -> Response:
    return render_releases(request, services, user, project, env)


@router.get("/environments/{env}/releases/plans", summary="The plans table's rows, for the live script")
def plan_rows(
    request: Request,
    services: ServicesDep,
    user: Reader,
    project: str,
    env: str,
    flag: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """JSON: `html` (the rows) and `active` (a plan is running or paused: the script asks again soon)."""
    views = environment_plans(services, EnvironmentRef(project, env), flag)
    context = {"plans": views, "urls": ReleaseUrls(project, env, flag or ""), "user": user}
    body = {
        "html": pages(request).fragment("release_plan_rows.html", context),
        "active": any(view.active for view in views),
    }
    return JSONResponse(body, headers=security_headers())


@router.get("/environments/{env}/flags/{flag}/releases", summary="A flag's releases in one environment")
def flag_releases_page(
    request: Request, services: ServicesDep, user: Reader, project: str, env: str, flag: str
) -> Response:
    return render_flag_releases(request, services, user, FlagRef(project, env, flag))


@router.post("/environments/{env}/rollouts", summary="Start a rollout plan")
def start_rollout(
    request: Request, services: ServicesDep, user: Editor, form: Form, project: str, env: str
) -> Response:
    where = EnvironmentRef(project, env)
    flag = form.get("flag", "").strip()
    try:
        if not flag:
            raise FormError("choose the flag to roll out", "flag")
        variations = services.flag_definitions.get(project, flag).variations
        body = RolloutIn.model_validate(release_forms.rollout_body(form, variations))
        plan = services.rollouts.start(user.actor, where, body)
    except (FormError, ValidationError, ServiceError) as error:
        return refused(request, services, user, where, "start", form, error, release_forms.ROLLOUT_FIELDS)
    message = f"Started rollout plan {plan.id}: {flag} at {plan.percent:g}% in {env}"
    if plan.next_percent is not None:
        message += f", next {plan.next_percent:g}%"
    return done(request, form, ReleaseUrls(project, env).releases, message + ".")


def _plan_routes(action: str) -> None:
    """GET: the confirmation page (a reason for the audit log); POST: the change. Pause and abort admit
    operators, resume only editors, as the REST API."""
    verb, permission = PLAN_ACTIONS[action]
    path = f"/environments/{{env}}/rollouts/{{plan}}/{action}"

    def confirm(
        request: Request, services: ServicesDep, user: Reader, project: str, env: str, plan: PlanId
    ) -> Response:
        _allowed(user, permission, verb)
        back = request.query_params.get("next", "")
        where = EnvironmentRef(project, env)
        return _confirm_page(request, services, user, where, plan, action, back, "", None)

    def change(
        request: Request,
        services: ServicesDep,
        user: Toggler,
        form: Form,
        project: str,
        env: str,
        plan: PlanId,
    ) -> Response:
        _allowed(user, permission, verb)
        where = EnvironmentRef(project, env)
        reason = form.get("reason", "").strip()
        if len(reason) > MAX_REASON_LENGTH:
            error = f"At most {MAX_REASON_LENGTH} characters, please."
            back = form.get("next", "")
            return _confirm_page(request, services, user, where, plan, action, back, reason, error)
        moves = {
            "pause": services.rollouts.pause,
            "resume": services.rollouts.resume,
            "abort": services.rollouts.abort,
        }
        changed = moves[action](user.actor, where, plan, None, reason or None)
        message = f"{DONE[action]} rollout plan {plan} of {changed.flag} in {env}"
        if action == "abort":
            message += ": the flag is back as it was before the plan"
        return done(request, form, ReleaseUrls(project, env).releases, message + ".")

    router.add_api_route(path, confirm, methods=["GET"], summary=f"Confirm: {verb.lower()} a rollout plan")
    router.add_api_route(path, change, methods=["POST"], summary=f"{verb} a rollout plan")


def _allowed(user: ConsoleUser, permission: str, verb: str) -> None:
    # Toggle admits the route; resuming needs edit on top, as the REST API's resume does.
    if permission == "edit" and not user.may_edit:
        raise Refused(403, "Not allowed", f"The {user.role} role may not {verb.lower()} a rollout plan.")
    if permission == "toggle" and not user.may_toggle:
        raise Refused(403, "Not allowed", f"The {user.role} role may not {verb.lower()} a rollout plan.")


def _confirm_page(
    request: Request,
    services: Services,
    user: ConsoleUser,
    where: EnvironmentRef,
    plan_id: int,
    action: str,
    back: str,
    reason: str,
    error: str | None,
) -> Response:
    plan: RolloutOut = services.rollouts.get(where, plan_id)
    urls = ReleaseUrls(where.project, where.environment, plan.flag)
    context = {
        **navigation(services, user, where.project, where.environment),
        "view": plan_views(services, where, [plan])[0],
        "action": action,
        "verb": PLAN_ACTIONS[action][0],
        "reason": reason,
        "error": error,
        "action_url": urls.rollout(plan_id, action),
        "back_url": safe_next(back, urls.releases),
        "urls": urls,
    }
    return pages(request).render(request, "confirm_plan.html", context, status=422 if error else 200)


for _action in PLAN_ACTIONS:
    _plan_routes(_action)
