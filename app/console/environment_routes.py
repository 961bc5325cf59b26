"""An environment's page (`/console/projects/{project}/environments/{env}`): the SDK instances connected to
it, the revision each has applied and when each was last seen, the stale ones first.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.console.console_route import ConsoleRoute, pages
from app.console.place import navigation
from app.console.signed_in import Reader, ServicesDep

router = APIRouter(prefix="/console/projects/{project}", route_class=ConsoleRoute, include_in_schema=False)


@router.get("/environments/{env}", summary="The SDK instances connected to an environment")
def environment_page(
    request: Request, services: ServicesDep, user: Reader, project: str, env: str
) -> Response:
    found = services.propagation.instances(project, env)
    context = {
        **navigation(services, user, project, env),
        "sdk_page": True,
        "project": services.projects.get_project(project),
        "environment": services.projects.get_environment(project, env),
        "found": found,
        "stale": sum(1 for instance in found.instances if instance.stale),
    }
    return pages(request).render(request, "environment.html", context)
