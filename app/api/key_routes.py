"""Routes for admin keys (`/api/v1/admin-keys`) and SDK keys (per environment). Secrets appear only in the
response that creates them."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.dependencies import Manager, ServicesDep
from app.api.errors import WRITE_RESPONSES
from app.api.parameters import EnvironmentKey, KeyId, ProjectKey
from app.api.schemas import AdminKeyIn, AdminKeyList, SdkKeyIn, SdkKeyList
from app.services.read_models import AdminKeyCreated, AdminKeyOut, SdkKeyCreated, SdkKeyOut

router = APIRouter(prefix="/api/v1", tags=["keys"], responses=WRITE_RESPONSES)
_SDK_KEYS = "/projects/{project}/environments/{env}/sdk-keys"


@router.get("/admin-keys", summary="List admin keys (a project-scoped admin sees its project's)")
def list_admin_keys(services: ServicesDep, caller: Manager) -> AdminKeyList:
    return AdminKeyList(items=services.keys.list_admin_keys(caller.principal))


@router.post("/admin-keys", status_code=201, summary="Create an admin key; the secret is shown once")
def create_admin_key(services: ServicesDep, body: AdminKeyIn, caller: Manager) -> AdminKeyCreated:
    return services.keys.create_admin_key(caller.actor, caller.principal, body.name, body.role, body.project)


@router.delete("/admin-keys/{key_id}", summary="Revoke an admin key")
def revoke_admin_key(services: ServicesDep, key_id: KeyId, caller: Manager) -> AdminKeyOut:
    return services.keys.revoke_admin_key(caller.actor, caller.principal, key_id)


@router.get(_SDK_KEYS, summary="List the environment's SDK keys")
def list_sdk_keys(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, caller: Manager
) -> SdkKeyList:
    return SdkKeyList(items=services.keys.list_sdk_keys(project, env))


@router.post(
    _SDK_KEYS,
    status_code=201,
    summary="Create an SDK key (or, with kind client, a public client key); several may be active",
)
def create_sdk_key(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, body: SdkKeyIn, caller: Manager
) -> SdkKeyCreated:
    return services.keys.create_sdk_key(caller.actor, project, env, body.name, body.kind)


@router.delete(_SDK_KEYS + "/{key_id}", summary="Revoke an SDK key")
def revoke_sdk_key(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, key_id: KeyId, caller: Manager
) -> SdkKeyOut:
    return services.keys.revoke_sdk_key(caller.actor, project, env, key_id)
