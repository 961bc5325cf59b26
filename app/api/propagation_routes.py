"""`GET .../environments/{env}/propagation`: how many connected SDK instances have applied the environment's
current revision.

HTTP only; the counting is `app.services.propagation`, which also serves the `?wait=` of write routes.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.api.dependencies import Reader, ServicesDep
from app.api.parameters import EnvironmentKey, ProjectKey
from app.services.read_models import PropagationOut

router = APIRouter(prefix="/api/v1/projects/{project}/environments/{env}", tags=["propagation"])


@router.get("/propagation", summary="How many connected SDK instances have applied the current revision")
def propagation(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, caller: Reader
) -> PropagationOut:
    return services.propagation.current(project, env)
