"""The flag list of one environment (`/console/projects/{project}/environments/{env}/flags`): search and
filters as query parameters (a plain GET form), each flag's running or paused rollout plan, and the rows
changed since a revision, as HTML for the live script to swap in.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from app.console.console_route import ConsoleRoute, pages
from app.console.pages import security_headers
from app.console.place import Place, navigation
from app.console.signed_in import Reader, ServicesDep
from app.services.container import Services
from app.services.flag_overview_service import MAX_SEARCH_LENGTH, FlagQuery
from app.services.read_models import RolloutOut
from app.services.rollout_service import EnvironmentRef

router = APIRouter(prefix="/console/projects/{project}", route_class=ConsoleRoute, include_in_schema=False)
_MAX_PLANS = 1000  # active plans shown per status: at most one per flag, so as many as the rows shown


def flag_query(
    q: Annotated[str, Query(max_length=MAX_SEARCH_LENGTH)] = "",
    tag: Annotated[str, Query(max_length=200)] = "",
    state: Annotated[str, Query(max_length=16)] = "",
) -> FlagQuery:
    return FlagQuery(search=q.strip(), tag=tag, state=state)


QueryDep = Annotated[FlagQuery, Depends(flag_query)]


def _active_plans(services: Services, project: str, env: str) -> dict[str, RolloutOut]:
    """The running or paused rollout plan of each flag that has one (at most one each), for its row."""
    where = EnvironmentRef(project, env)
    return {
        plan.flag: plan
        for status in ("paused", "running")
        for plan in services.rollouts.list(where, flag=None, status=status, before=None, limit=_MAX_PLANS)
    }


def _query_string(query: FlagQuery) -> str:
    """The page's filters, kept when switching environments and when fetching changed rows."""
    fields = {"q": query.search, "tag": query.tag, "state": query.state}
    encoded = urlencode({name: value for name, value in fields.items() if value})
    return f"?{encoded}" if encoded else ""


@router.get("/environments/{env}/flags", summary="The environment's flags, searchable and filtered")
def flags(
    request: Request, services: ServicesDep, user: Reader, project: str, env: str, query: QueryDep
) -> Response:
    table = services.flag_overview.table(project, env, query, services.settings.console_max_flag_rows)
    context = {
        **navigation(services, user, project, env),
        "project": services.projects.get_project(project),
        "table": table,
        "plans": _active_plans(services, project, env),
        "query": query,
        "query_string": _query_string(query),
    }
    return pages(request).render(request, "flags.html", context)


@router.get("/environments/{env}/flags/rows", summary="Rows changed since a revision, for the live script")
def changed_rows(
    request: Request,
    services: ServicesDep,
    user: Reader,
    project: str,
    env: str,
    query: QueryDep,
    since: Annotated[int, Query(ge=0, le=2**53)],
) -> Response:
    changed = services.flag_overview.changed_since(project, env, since, query)
    plans = _active_plans(services, project, env) if changed.rows else {}
    context = {"rows": changed.rows, "place": Place(project, env), "user": user, "plans": plans}
    html = pages(request).fragment("flag_rows.html", context)
    body = {
        "revision": changed.revision,
        "complete": changed.complete,
        "gone": list(changed.gone),
        "rows": html,
    }
    return JSONResponse(body, headers=security_headers())
