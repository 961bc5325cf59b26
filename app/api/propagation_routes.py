"""`GET .../environments/{env}/propagation` and the `?wait=` confirmation that write routes attach to their
response: how many connected SDK instances have applied a revision.

HTTP only; the counting is `app.services.propagation`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from app.api.dependencies import require
from app.api.parameters import EnvironmentKey, ProjectKey
from app.api.schemas import PropagationOut
from app.auth.roles import Permission, Principal
from app.services.propagation import MAX_WAIT_SECONDS, Propagation, PropagationService

router = APIRouter(prefix="/api/v1/projects/{project}/environments/{env}", tags=["propagation"])
_read = Depends(require(Permission.READ))
WAIT = Query(
    None,
    ge=0,
    le=MAX_WAIT_SECONDS,
    description="wait up to this many seconds (max 10) for connected SDKs to confirm the change",
)


def _service(request: Request) -> PropagationService:
    found: PropagationService = request.app.state.propagation
    return found


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
    request: Request, project: str, env: str, revision: int, committed_at: float, wait: float | None
) -> PropagationOut | None:
    """For a write route given `?wait=`: blocks until every connected SDK confirmed `revision`, or `wait`
    seconds passed (all of them while presence is unknown). `committed_at` is when the write returned."""
    if wait is None:
        return None
    service = _service(request)
    return _out(service.wait_in(project, env, revision, committed_at, wait))


@router.get("/propagation", summary="How many connected SDK instances have applied the current revision")
def propagation(
    request: Request, project: ProjectKey, env: EnvironmentKey, principal: Principal = _read
) -> PropagationOut:
    return _out(_service(request).current(project, env))
