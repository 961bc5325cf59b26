"""Routes that import flags from other systems: `/api/v1/projects/{project}/environments/{env}/import/...`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from app.api.dependencies import Editor, ServicesDep
from app.api.errors import WRITE_RESPONSES
from app.api.parameters import EnvironmentKey, ProjectKey
from app.services.read_models import ImportOut

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
UnleashDocument = Annotated[
    dict[str, Any],
    Body(
        description="the document Unleash serves at /api/client/features (features, segments)",
        examples=[_EXAMPLE],
    ),
]


@router.post("/unleash", summary="Import an Unleash client-features document into this environment")
def import_unleash(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, caller: Editor, body: UnleashDocument
) -> ImportOut:
    return services.imports.import_document(caller.actor, project, env, body)
