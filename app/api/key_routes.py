"""Routes for admin keys (`/api/v1/admin-keys`) and SDK keys (per environment). Secrets appear only in the
response that creates them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from app.api.dependencies import actor, require, services
from app.api.errors import WRITE_RESPONSES
from app.api.parameters import EnvironmentKey, KeyId, ProjectKey
from app.api.schemas import (
    AdminKeyCreated,
    AdminKeyIn,
    AdminKeyList,
    AdminKeyOut,
    SdkKeyCreated,
    SdkKeyIn,
    SdkKeyList,
    SdkKeyOut,
)
from app.auth.roles import Permission, Principal
from app.services.key_service import AdminKeyView, SdkKeyView

router = APIRouter(prefix="/api/v1", tags=["keys"], responses=WRITE_RESPONSES)
_manage = Depends(require(Permission.MANAGE))
_SDK_KEYS = "/projects/{project}/environments/{env}/sdk-keys"


def _admin(view: AdminKeyView) -> AdminKeyOut:
    return AdminKeyOut.model_validate(view, from_attributes=True)


def _sdk(view: SdkKeyView) -> SdkKeyOut:
    return SdkKeyOut.model_validate(view, from_attributes=True)


@router.get("/admin-keys", summary="List admin keys (a project-scoped admin sees its project's)")
def list_admin_keys(request: Request, principal: Principal = _manage) -> AdminKeyList:
    return AdminKeyList(items=[_admin(view) for view in services(request).keys.list_admin_keys(principal)])


@router.post("/admin-keys", status_code=201, summary="Create an admin key; the secret is shown once")
def create_admin_key(request: Request, body: AdminKeyIn, principal: Principal = _manage) -> AdminKeyCreated:
    view, secret = services(request).keys.create_admin_key(
        actor(request, principal), principal, body.name, body.role, body.project
    )
    return AdminKeyCreated(**_admin(view).model_dump(), secret=secret)


@router.delete("/admin-keys/{key_id}", summary="Revoke an admin key")
def revoke_admin_key(request: Request, key_id: KeyId, principal: Principal = _manage) -> AdminKeyOut:
    return _admin(services(request).keys.revoke_admin_key(actor(request, principal), principal, key_id))


@router.get(_SDK_KEYS, summary="List the environment's SDK keys")
def list_sdk_keys(
    request: Request, project: ProjectKey, env: EnvironmentKey, principal: Principal = _manage
) -> SdkKeyList:
    return SdkKeyList(items=[_sdk(view) for view in services(request).keys.list_sdk_keys(project, env)])


@router.post(
    _SDK_KEYS,
    status_code=201,
    summary="Create an SDK key (or, with kind client, a public client key); several may be active",
)
def create_sdk_key(
    request: Request, project: ProjectKey, env: EnvironmentKey, body: SdkKeyIn, principal: Principal = _manage
) -> SdkKeyCreated:
    view, secret = services(request).keys.create_sdk_key(
        actor(request, principal), project, env, body.name, body.kind
    )
    return SdkKeyCreated(**_sdk(view).model_dump(), secret=secret)


@router.delete(_SDK_KEYS + "/{key_id}", summary="Revoke an SDK key")
def revoke_sdk_key(
    request: Request, project: ProjectKey, env: EnvironmentKey, key_id: KeyId, principal: Principal = _manage
) -> SdkKeyOut:
    return _sdk(services(request).keys.revoke_sdk_key(actor(request, principal), project, env, key_id))
