"""Routes for projects and environments under `/api/v1/projects`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from app.api.dependencies import actor, require, services
from app.api.errors import WRITE_RESPONSES, ApiError
from app.api.parameters import EnvironmentKey, ProjectKey
from app.api.schemas import (
    EnvironmentIn,
    EnvironmentList,
    EnvironmentOut,
    ProjectIn,
    ProjectList,
    ProjectOut,
)
from app.auth.roles import Permission, Principal
from app.services.project_service import EnvironmentView, ProjectView

router = APIRouter(prefix="/api/v1/projects", tags=["projects"], responses=WRITE_RESPONSES)
_read = Depends(require(Permission.READ))
_manage = Depends(require(Permission.MANAGE))


def _environment(view: EnvironmentView) -> EnvironmentOut:
    return EnvironmentOut.model_validate(view, from_attributes=True)


def _project(view: ProjectView) -> ProjectOut:
    return ProjectOut.model_validate(view, from_attributes=True)


@router.get("", summary="List projects (a project-scoped key sees its own)")
def list_projects(request: Request, principal: Principal = _read) -> ProjectList:
    return ProjectList(
        items=[_project(view) for view in services(request).projects.list_projects(principal.project)]
    )


@router.post("", status_code=201, summary="Create a project with its environments")
def create_project(request: Request, body: ProjectIn, principal: Principal = _manage) -> ProjectOut:
    if principal.project is not None:
        raise ApiError(403, "forbidden", "only a key for all projects may create projects")
    return _project(
        services(request).projects.create_project(
            actor(request, principal), body.key, body.name, body.environments
        )
    )


@router.get("/{project}", summary="Read a project and its environments")
def get_project(request: Request, project: ProjectKey, principal: Principal = _read) -> ProjectOut:
    return _project(services(request).projects.get_project(project))


@router.delete("/{project}", status_code=204, summary="Delete a project and everything in it")
def delete_project(request: Request, project: ProjectKey, principal: Principal = _manage) -> Response:
    services(request).projects.delete_project(actor(request, principal), project)
    return Response(status_code=204)


@router.get("/{project}/environments", summary="List a project's environments")
def list_environments(request: Request, project: ProjectKey, principal: Principal = _read) -> EnvironmentList:
    environments = services(request).projects.get_project(project).environments
    return EnvironmentList(items=[_environment(e) for e in environments])


@router.post("/{project}/environments", status_code=201, summary="Add an environment (gets every flag, off)")
def create_environment(
    request: Request, project: ProjectKey, body: EnvironmentIn, principal: Principal = _manage
) -> EnvironmentOut:
    return _environment(
        services(request).projects.create_environment(actor(request, principal), project, body.key, body.name)
    )


@router.get("/{project}/environments/{env}", summary="Read an environment and its revision")
def get_environment(
    request: Request, project: ProjectKey, env: EnvironmentKey, principal: Principal = _read
) -> EnvironmentOut:
    return _environment(services(request).projects.get_environment(project, env))


@router.delete("/{project}/environments/{env}", status_code=204, summary="Delete an environment")
def delete_environment(
    request: Request, project: ProjectKey, env: EnvironmentKey, principal: Principal = _manage
) -> Response:
    services(request).projects.delete_environment(actor(request, principal), project, env)
    return Response(status_code=204)
