"""Routes for projects and environments under `/api/v1/projects`."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.dependencies import Manager, Reader, ServicesDep
from app.api.errors import WRITE_RESPONSES, ApiError
from app.api.parameters import EnvironmentKey, ProjectKey
from app.api.schemas import EnvironmentIn, EnvironmentList, ProjectIn, ProjectList
from app.services.read_models import EnvironmentOut, ProjectOut

router = APIRouter(prefix="/api/v1/projects", tags=["projects"], responses=WRITE_RESPONSES)


@router.get("", summary="List projects (a project-scoped key sees its own)")
def list_projects(services: ServicesDep, caller: Reader) -> ProjectList:
    return ProjectList(items=services.projects.list_projects(caller.principal.project))


@router.post("", status_code=201, summary="Create a project with its environments")
def create_project(services: ServicesDep, body: ProjectIn, caller: Manager) -> ProjectOut:
    if caller.principal.project is not None:
        raise ApiError(403, "forbidden", "only a key for all projects may create projects")
    return services.projects.create_project(caller.actor, body.key, body.name, body.environments)


@router.get("/{project}", summary="Read a project and its environments")
def get_project(services: ServicesDep, project: ProjectKey, caller: Reader) -> ProjectOut:
    return services.projects.get_project(project)


@router.delete("/{project}", status_code=204, summary="Delete a project and everything in it")
def delete_project(services: ServicesDep, project: ProjectKey, caller: Manager) -> Response:
    services.projects.delete_project(caller.actor, project)
    return Response(status_code=204)


@router.get("/{project}/environments", summary="List a project's environments")
def list_environments(services: ServicesDep, project: ProjectKey, caller: Reader) -> EnvironmentList:
    return EnvironmentList(items=services.projects.get_project(project).environments)


@router.post("/{project}/environments", status_code=201, summary="Add an environment (gets every flag, off)")
def create_environment(
    services: ServicesDep, project: ProjectKey, body: EnvironmentIn, caller: Manager
) -> EnvironmentOut:
    return services.projects.create_environment(caller.actor, project, body.key, body.name)


@router.get("/{project}/environments/{env}", summary="Read an environment and its revision")
def get_environment(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, caller: Reader
) -> EnvironmentOut:
    return services.projects.get_environment(project, env)


@router.delete("/{project}/environments/{env}", status_code=204, summary="Delete an environment")
def delete_environment(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, caller: Manager
) -> Response:
    services.projects.delete_environment(caller.actor, project, env)
    return Response(status_code=204)
