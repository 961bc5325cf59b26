"""Liveness (`/healthz`), readiness (`/readyz`: database reachable, migrations at head) and `/metrics`.

Liveness and metrics are answered on the event loop (`async`, no synchronous dependency): when the database
stalls and every worker thread waits on it, they still answer, so an orchestrator does not restart a healthy
process.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.api.dependencies import ServicesDep

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up (never touches the database)")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Ready to serve: database reachable and migrated (answers within the readiness timeout)",
    responses={503: {"description": "Not ready; `database` is the database's state, `reason` says why"}},
)
async def readyz(services: ServicesDep) -> JSONResponse:
    readiness = await services.readiness.check()
    if not readiness.ready:
        body = {"status": "unavailable", "database": readiness.database, "reason": readiness.reason}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})
    return JSONResponse({"status": "ok", "database": readiness.database})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    return Response(generate_latest(services.metrics), media_type=CONTENT_TYPE_LATEST)
