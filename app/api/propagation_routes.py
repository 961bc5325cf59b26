"""`GET .../environments/{env}/propagation` and the `?wait=` confirmation that write routes attach to their
response: how many connected SDK instances have applied a revision.

HTTP only; the counting is `app.services.propagation`.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from app.api.dependencies import Reader, ServicesDep
from app.api.parameters import EnvironmentKey, ProjectKey
from app.api.schemas import PropagationOut
from app.services.propagation import MAX_WAIT_SECONDS, Propagation, PropagationService

router = APIRouter(prefix="/api/v1/projects/{project}/environments/{env}", tags=["propagation"])
WAIT = Query(
    None,
    ge=0,
    le=MAX_WAIT_SECONDS,
    description="wait up to this many seconds (max 10) for connected SDKs to confirm the change",
)


def _out(result: Propagation) -> PropagationOut:
    return PropagationOut(
        revision=result.revision,
        confirmed=result.confirmed,
        unconfirmed=result.unconfirmed,
        slowest_confirmation_ms=result.slowest_confirmation_ms,
        available=result.available,
        presence=result.presence,
        note=result.note,
    )


def confirmation(
    service: PropagationService,
    project: str,
    env: str,
    revision: int,
    committed_at: float,
    wait: float | None,
) -> PropagationOut | None:
    """For a write route given `?wait=`: blocks until every connected SDK confirmed `revision`, or `wait`
    seconds passed (all of them while presence is unknown). `committed_at` is when the write returned."""
    if wait is None:
        return None
    return _out(service.wait_in(project, env, revision, committed_at, wait))


@router.get("/propagation", summary="How many connected SDK instances have applied the current revision")
def propagation(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, caller: Reader
) -> PropagationOut:
    return _out(services.propagation.current(project, env))
