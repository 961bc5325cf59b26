"""A flag's page (`/console/projects/{project}/flags/{flag}`): the flag and its state in every environment of
its project, with kill, on and off for each and a kill in every environment at once; and its targeting in each
environment as sentences, each leading to that environment's page of the flag (edits, history, revert).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.console.console_route import ConsoleRoute, pages
from app.console.flag_detail import targeting_everywhere
from app.console.place import navigation
from app.console.signed_in import Reader, ServicesDep

router = APIRouter(prefix="/console/projects/{project}", route_class=ConsoleRoute, include_in_schema=False)


@router.get("/flags/{flag}", summary="A flag in every environment of its project")
def flag_page(request: Request, services: ServicesDep, user: Reader, project: str, flag: str) -> Response:
    context = {
        **navigation(services, user, project),
        "flag": services.flag_overview.everywhere(project, flag),
        "targeting": targeting_everywhere(services, project, flag),
    }
    return pages(request).render(request, "flag.html", context)
