"""Routes that import flags from other systems: `/api/v1/projects/{project}/environments/{env}/import/...`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from pydantic import BaseModel

from app.api.dependencies import Editor, ServicesDep
from app.api.errors import WRITE_RESPONSES
from app.api.parameters import EnvironmentKey, ProjectKey
from app.services.unleash_import import import_unleash_document

router = APIRouter(
    prefix="/api/v1/projects/{project}/environments/{env}/import",
    tags=["import"],
    responses=WRITE_RESPONSES,
)
_EXAMPLE = {
    "version": 2,
    "features": [{"name": "new-checkout", "enabled": True, "strategies": [{"name": "default"}]}],
    "segments": [],
}


class ImportedFlag(BaseModel):
    key: str
    status: str
    message: str


class UnmappedItem(BaseModel):
    flag: str
    what: str
    why: str


class ImportOut(BaseModel):
    flags: list[ImportedFlag]
    unmapped: list[UnmappedItem]


@router.post("/unleash", summary="Import an Unleash client-features document into this environment")
def import_unleash(
    services: ServicesDep,
    project: ProjectKey,
    env: EnvironmentKey,
    caller: Editor,
    body: dict[str, Any] = Body(
        description="the document Unleash serves at /api/client/features (features, segments)",
        examples=[_EXAMPLE],
    ),
) -> ImportOut:
    report = import_unleash_document(services, caller.actor, project, env, body)
    return ImportOut(
        flags=[ImportedFlag(key=f.key, status=f.status, message=f.message) for f in report.flags],
        unmapped=[UnmappedItem(flag=u.flag, what=u.what, why=u.why) for u in report.unmapped],
    )
