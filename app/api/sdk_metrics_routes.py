"""`POST /sdk/v1/metrics`: an SDK instance reports its flag checks and tracked outcomes since its last report.

HTTP only: the key is checked (a cached answer when fresh, as for polls) before the body is looked at, then
`MetricsService` validates and stores the report.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.api.dependencies import ServicesDep, bearer_token, sdk_key_header
from app.api.errors import ApiError, ErrorBody
from app.services.input_models import MetricsReportIn
from app.services.read_models import MetricsAcceptedOut

router = APIRouter(prefix="/sdk/v1", tags=["sdk"])


async def _reporting_environment(
    services: ServicesDep, authorization: str | None = Depends(sdk_key_header)
) -> int:
    # Async: a key answered from memory costs no worker thread; a database check runs on one.
    environment = await services.sdk_metrics.reporter(bearer_token(authorization))
    if environment is None:
        raise ApiError(401, "unauthorized", "an SDK key is required: Authorization: Bearer fs_sdk_...")
    return environment


ReportingEnvironment = Annotated[int, Depends(_reporting_environment)]


@router.post(
    "/metrics",
    status_code=202,
    summary="Report flag checks and tracked outcomes counted since the last report",
    responses={
        401: {"model": ErrorBody, "description": "No SDK key, or an unknown or revoked one"},
        403: {"model": ErrorBody, "description": "A client key (fs_client_...): it may not report metrics"},
        413: {"model": ErrorBody, "description": "Request body too large"},
        415: {"model": ErrorBody, "description": "The body was not sent as `Content-Type: application/json`"},
        422: {"model": ErrorBody, "description": "Invalid report; `field` names the first bad value"},
        503: {"model": ErrorBody, "description": "The database is unavailable; retry"},
    },
)
def report_metrics(
    services: ServicesDep, environment: ReportingEnvironment, body: MetricsReportIn
) -> MetricsAcceptedOut:
    # Synchronous, so FastAPI runs it on a worker thread: the write never holds up the event loop.
    return services.sdk_metrics.ingest(environment, body)
