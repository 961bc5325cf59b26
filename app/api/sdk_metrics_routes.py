"""`POST /sdk/v1/metrics`: an SDK instance reports its flag checks and tracked outcomes since its last report.

HTTP only: the key is checked (a cached answer when fresh, as for polls) before the body is looked at, then
`MetricsService` validates the report and stores it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from app.api import wire_schemas
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


def _inlined(node: Any, definitions: dict[str, Any]) -> Any:
    """`node` with each `#/$defs/...` reference replaced by its definition (the report nests one model)."""
    if isinstance(node, dict):
        reference = node.get("$ref", "")
        if reference.startswith("#/$defs/"):
            return _inlined(definitions[reference.removeprefix("#/$defs/")], definitions)
        return {key: _inlined(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_inlined(item, definitions) for item in node]
    return node


def _report_schema() -> dict[str, Any]:
    schema = MetricsReportIn.model_json_schema()
    return dict(_inlined(schema, schema.pop("$defs", {})))


@router.post(
    "/metrics",
    status_code=202,
    summary="Report flag checks and tracked outcomes counted since the last report",
    # The body is documented as the report it must be, and checked by the service on a worker thread.
    openapi_extra=wire_schemas.request_body(_report_schema()),
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
    services: ServicesDep,
    environment: ReportingEnvironment,
    body: Any = Body(description="the report: see the request body's schema"),
) -> MetricsAcceptedOut:
    # Synchronous, so FastAPI runs it on a worker thread: neither checking the report nor writing it holds
    # up the event loop.
    return services.sdk_metrics.ingest(environment, body)
