"""Kill, on and off from the console: for one flag in one environment, for a flag in every environment, and
for every flag with a tag. Each is a confirmation page (GET, works without JavaScript) and its form (POST, the
CSRF-checked `Form`), then a page of live confirmation counters: how many connected SDK instances applied the
new revision. The console's script confirms in a dialog instead and posts the same form with fetch.

Every write goes through `services.flag_configs.kill/turn_on/turn_off`, one audited change per flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from app.console.console_route import ConsoleRoute, pages, wants_json
from app.console.counters import Counter
from app.console.pages import flash, security_headers
from app.console.place import navigation
from app.console.signed_in import ConsoleUser, Form, Reader, Refused, ServicesDep, Toggler
from app.services.container import Services
from app.services.flag_config_service import FlagRef
from app.services.read_models import EnvironmentFlag

router = APIRouter(prefix="/console/projects/{project}", route_class=ConsoleRoute, include_in_schema=False)

Action = Literal["kill", "on", "off"]
VERBS: dict[str, str] = {"kill": "Kill", "on": "Turn on", "off": "Turn off"}
DONE: dict[str, str] = {"kill": "Killed", "on": "Turned on", "off": "Turned off"}
MAX_REASON_LENGTH = 2000  # as the REST API's kill, on and off bodies
MAX_CONFIRMATIONS = 50


def _base(project: str, env: str | None = None) -> str:
    base = f"/console/projects/{project}"
    return base if env is None else f"{base}/environments/{env}"


def _reason(form: dict[str, str], action: str) -> tuple[str, str | None]:
    """The form's reason, and what is wrong with it (None when nothing is)."""
    reason = form.get("reason", "").strip()
    if action == "kill" and not reason:
        return reason, "A kill needs a reason: it goes in the audit log with your name."
    if len(reason) > MAX_REASON_LENGTH:
        return reason, f"At most {MAX_REASON_LENGTH} characters, please."
    return reason, None


def _switch(services: Services, user: ConsoleUser, ref: FlagRef, action: str, reason: str) -> EnvironmentFlag:
    if action == "kill":
        return services.flag_configs.kill(user.actor, ref, reason)
    if action == "on":
        return services.flag_configs.turn_on(user.actor, ref, reason or None)
    return services.flag_configs.turn_off(user.actor, ref, reason or None)


def _counter_url(project: str, env: str, revision: int) -> str:
    return f"{_base(project, env)}/propagation.json?revision={revision}"


def _confirmations_url(project: str, at: list[tuple[str, int]], flags: list[str], action: str) -> str:
    query = [("at", f"{env}:{revision}") for env, revision in at]
    query += [("flag", key) for key in flags[:MAX_CONFIRMATIONS]] + [("action", action)]
    return f"{_base(project)}/confirmations?{urlencode(query)}"


def _answer(request: Request, target: str, message: str, details: dict[str, Any]) -> Response:
    """After a change: JSON for the console's script, else a redirect to the counters with a flash message."""
    if wants_json(request):
        return JSONResponse({"message": message, "page_url": target, **details}, headers=security_headers())
    response = RedirectResponse(target, 303)
    flash(response, request, message)
    return response


# -- one flag in one environment ------


def _confirm_page(
    request: Request,
    services: Services,
    user: ConsoleUser,
    ref: FlagRef,
    action: str,
    reason: str,
    error: str | None,
) -> Response:
    context = {
        **navigation(services, user, ref.project, ref.environment),
        "row": services.flag_overview.row(ref.project, ref.environment, ref.flag),
        "action": action,
        "verb": VERBS[action],
        "reason": reason,
        "error": error,
        "action_url": request.url.path,
        "back_url": f"{_base(ref.project, ref.environment)}/flags",
    }
    return pages(request).render(request, "confirm_switch.html", context, status=422 if error else 200)


def _switch_routes(action: str) -> None:
    """GET: the confirmation page; POST: the switch. One pair per action, so that other pages may live under a
    flag's path (`.../flags/{flag}/history`) without this route taking their requests."""
    path = f"/environments/{{env}}/flags/{{flag}}/{action}"

    def confirm(
        request: Request, services: ServicesDep, user: Toggler, project: str, env: str, flag: str
    ) -> Response:
        return _confirm_page(request, services, user, FlagRef(project, env, flag), action, "", None)

    def switch(
        request: Request, services: ServicesDep, user: Toggler, form: Form, project: str, env: str, flag: str
    ) -> Response:
        ref = FlagRef(project, env, flag)
        reason, error = _reason(form, action)
        if error is not None:
            if wants_json(request):
                body = {"error": {"title": "Invalid input", "message": error, "field": "reason"}}
                return JSONResponse(body, 422, headers=security_headers())
            return _confirm_page(request, services, user, ref, action, reason, error)
        state = _switch(services, user, ref, action, reason)
        message = (
            f"{DONE[action]} {flag} in {env}."
            if state.changed
            else f"{flag} was already {'on' if action == 'on' else 'off'} in {env}."
        )
        target = _confirmations_url(project, [(env, state.revision)], [flag], action)
        counter = _counter_url(project, env, state.revision)
        return _answer(
            request,
            target,
            message,
            {"revision": state.revision, "changed": state.changed, "counter_url": counter},
        )

    router.add_api_route(path, confirm, methods=["GET"], summary=f"Confirm: {VERBS[action].lower()}")
    router.add_api_route(path, switch, methods=["POST"], summary=VERBS[action])


for _action in VERBS:
    _switch_routes(_action)


# -- a flag in every environment ------


@router.get("/flags/{flag}/kill-everywhere", summary="Confirm killing a flag in every environment")
def confirm_kill_everywhere(
    request: Request, services: ServicesDep, user: Toggler, project: str, flag: str
) -> Response:
    return _kill_everywhere_page(request, services, user, project, flag, "", None)


def _kill_everywhere_page(
    request: Request,
    services: Services,
    user: ConsoleUser,
    project: str,
    flag: str,
    reason: str,
    error: str | None,
) -> Response:
    found = services.flag_overview.everywhere(project, flag)
    context = {
        **navigation(services, user, project),
        "heading": f"Kill {flag} in every environment?",
        "items": [(environment, row) for environment, row in found.environments],
        "reason": reason,
        "error": error,
        "action_url": request.url.path,
        "back_url": f"{_base(project)}/flags/{flag}",
        "button": f"Kill {flag} in {len(found.environments)} environments",
    }
    return pages(request).render(request, "confirm_bulk.html", context, status=422 if error else 200)


@router.post("/flags/{flag}/kill-everywhere", summary="Kill a flag in every environment")
def kill_everywhere(
    request: Request, services: ServicesDep, user: Toggler, form: Form, project: str, flag: str
) -> Response:
    reason, error = _reason(form, "kill")
    if error is not None:
        return _kill_everywhere_page(request, services, user, project, flag, reason, error)
    environments = [
        environment for environment, _ in services.flag_overview.everywhere(project, flag).environments
    ]
    at = [
        (env, services.flag_configs.kill(user.actor, FlagRef(project, env, flag), reason).revision)
        for env in environments
    ]
    target = _confirmations_url(project, at, [flag], "kill")
    return _answer(request, target, f"Killed {flag} in {len(at)} environments.", {"at": dict(at)})


# -- every flag with a tag ------


@router.get("/environments/{env}/kill-tagged", summary="Confirm killing every flag with a tag")
def confirm_kill_tagged(
    request: Request,
    services: ServicesDep,
    user: Toggler,
    project: str,
    env: str,
    tag: Annotated[str, Query(min_length=1, max_length=200)],
) -> Response:
    return _kill_tagged_page(request, services, user, project, env, tag, "", None)


def _kill_tagged_page(
    request: Request,
    services: Services,
    user: ConsoleUser,
    project: str,
    env: str,
    tag: str,
    reason: str,
    error: str | None,
) -> Response:
    rows = services.flag_overview.tagged(project, env, tag)
    context = {
        **navigation(services, user, project, env),
        "heading": f"Kill every flag tagged {tag} in {env}?",
        "items": [(row.key, row) for row in rows],
        "tag": tag,
        "reason": reason,
        "error": error,
        "action_url": request.url.path,
        "back_url": f"{_base(project, env)}/flags?{urlencode({'tag': tag})}",
        "button": f"Kill {len(rows)} flags",
    }
    return pages(request).render(request, "confirm_bulk.html", context, status=422 if error else 200)


@router.post("/environments/{env}/kill-tagged", summary="Kill every flag with a tag, each audited")
def kill_tagged(
    request: Request, services: ServicesDep, user: Toggler, form: Form, project: str, env: str
) -> Response:
    tag = form.get("tag", "")
    if not tag or len(tag) > 200:
        raise Refused(422, "Invalid input", "Name the tag whose flags to kill.")
    reason, error = _reason(form, "kill")
    if error is not None:
        return _kill_tagged_page(request, services, user, project, env, tag, reason, error)
    keys = [row.key for row in services.flag_overview.tagged(project, env, tag)]
    revision = services.projects.get_environment(project, env).revision
    killed = []
    for key in keys:
        state = services.flag_configs.kill(user.actor, FlagRef(project, env, key), reason)
        revision = max(revision, state.revision)
        if state.changed:
            killed.append(key)
    message = f"Killed {len(keys)} flags tagged {tag} in {env}."
    if len(killed) < len(keys):
        off = len(keys) - len(killed)
        were = "was" if off == 1 else "were"
        message = f"Killed {len(killed)} flags tagged {tag} in {env}; {off} more {were} off already."
    target = _confirmations_url(project, [(env, revision)], keys, "kill")
    return _answer(request, target, message, {"revision": revision, "killed": killed})


# -- confirmation counters ------


@router.get("/environments/{env}/propagation.json", summary="How many SDK instances confirmed a revision")
def propagation(
    services: ServicesDep,
    user: Reader,
    project: str,
    env: str,
    revision: Annotated[int, Query(ge=0, le=2**53)],
) -> Response:
    counter = Counter.of(services.propagation.of_revision(project, env, revision))
    return JSONResponse(
        {
            "text": counter.text,
            "done": counter.done,
            "note": counter.note,
            "confirmed": counter.confirmed,
            "total": counter.total,
            "revision": counter.revision,
        },
        headers=security_headers(),
    )


@dataclass(frozen=True, slots=True)
class CounterItem:
    environment: str
    report: Counter
    url: str


@router.get("/confirmations", summary="Live counters of SDK confirmations after a change")
def confirmations(
    request: Request,
    services: ServicesDep,
    user: Reader,
    project: str,
    at: Annotated[list[str], Query(max_length=MAX_CONFIRMATIONS)],
    flag: Annotated[list[str] | None, Query(max_length=MAX_CONFIRMATIONS)] = None,
    action: Action = "kill",
) -> Response:
    """`at=production:12`: an environment and the revision its SDKs should confirm, one per change."""
    counters = []
    for item in at:
        env, _, revision = item.rpartition(":")
        if not env or not revision.isdigit() or len(revision) > 15:
            raise Refused(422, "Invalid input", f"{item!r} is not an environment and a revision.")
        report = Counter.of(services.propagation.of_revision(project, env, int(revision)))
        counters.append(CounterItem(env, report, _counter_url(project, env, int(revision))))
    flags = flag or []
    single = counters[0].environment if len(counters) == 1 else ""
    if single:
        back = f"{_base(project, single)}/flags"
    else:
        back = f"{_base(project)}/flags/{flags[0]}" if flags else "/console"
    context = {
        **navigation(services, user, project, single),
        "heading": f"{DONE[action]}: waiting for SDK instances to confirm",
        "flags": flags,
        "counters": counters,
        "done": all(item.report.done != "false" for item in counters),
        "back_url": back,
    }
    return pages(request).render(request, "confirmations.html", context)
