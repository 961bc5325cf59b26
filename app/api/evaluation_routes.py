"""Server-side evaluation, for previews and for clients that cannot evaluate locally (bounded: see
`app.services.evaluation_service`)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.dependencies import Reader, ServicesDep
from app.api.errors import COMMON_RESPONSES
from app.api.parameters import EnvironmentKey, ProjectKey
from app.api.schemas import EvaluateIn, EvaluateOut, EvaluationOut

router = APIRouter(
    prefix="/api/v1/projects/{project}/environments/{env}", tags=["evaluation"], responses=COMMON_RESPONSES
)


@router.post("/evaluate", summary="Evaluate one flag (or all) for a context, with reasons")
async def evaluate(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, body: EvaluateIn, caller: Reader
) -> EvaluateOut:
    # Async: waiting for an evaluation worker holds none of the threads that writes and kills need.
    revision, results = await services.evaluations.evaluate(project, env, body.context, body.flag)
    return EvaluateOut(
        revision=revision,
        results={key: EvaluationOut.model_validate(result) for key, result in results.items()},
    )
