"""The audit log page (`/console/audit`): entries newest first, filtered by project, environment, flag, actor,
action and time, a page at a time; each entry with what it changed. Read-only, like the log itself.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.console.audit_view import ACTIONS, audit_rows, read_query
from app.console.console_route import ConsoleRoute, pages
from app.console.place import navigation
from app.console.signed_in import Reader, Refused, ServicesDep

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

ENTRIES_PER_PAGE = 50


@router.get("/audit", summary="The audit log, filtered and paginated")
def audit_page(
    request: Request,
    services: ServicesDep,
    user: Reader,
    before: int | None = Query(None, ge=1, description="older entries: ids before this one"),
) -> Response:
    query = read_query(request.query_params)
    project = query.value("project")
    if user.project is not None:
        if project is not None and project != user.project:
            raise Refused(403, "Not allowed", f"This key is limited to project {user.project!r}.")
        project = user.project  # a scoped key sees only its own project's entries, as in the REST API
    entries = []
    if not query.errors:
        entries = services.audit.query(
            project=project,
            environment=query.value("environment"),
            flag=query.value("flag"),
            actor=query.value("actor"),
            action=query.value("action"),
            since=query.since,
            until=query.until,
            before_id=before,
            limit=ENTRIES_PER_PAGE + 1,
        )
    shown = entries[:ENTRIES_PER_PAGE]
    context = {
        "query": query,
        "project": project,
        **navigation(services, user, project or ""),
        "audit_page": True,
        "actions": ACTIONS,
        "audit_rows": audit_rows(shown),
        "next": shown[-1].id if len(entries) > ENTRIES_PER_PAGE else None,
        "filtered": {name: value for name, value in query.text.items() if value},
    }
    return pages(request).render(request, "audit.html", context, status=422 if query.errors else 200)
