"""The one error shape, `{"error": {"code", "message", "field"}}`, and the handlers that produce it for every
failure, including FastAPI's own validation errors, so that no input ever yields a bare 500."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.body_errors import unreadable_body
from app.services import errors
from flagstaff.json_values import printable_path

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """Raised by routes and dependencies for failures decided at the HTTP level (auth, headers)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


_STATUS: dict[type[errors.ServiceError], int] = {
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.VersionMismatch: 412,
    errors.PreconditionRequired: 428,
    errors.InvalidInput: 422,
    errors.PermissionDenied: 403,
    errors.Busy: 503,
    errors.RateLimited: 429,
}
_DOCUMENTED = {
    401: "No key, or an unknown or revoked one",
    403: "The key's role or project does not allow this",
    404: "Unknown project, environment, flag or segment",
    413: "Request body too large",
    415: "The body was not sent as `Content-Type: application/json`",
    422: "Invalid input; `field` names it",
    503: "The database is unavailable, or (evaluate) too many evaluations are queued; retry",
}
# Listed on every operation, so clients (and the schema tests) know every status they can get.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in _DOCUMENTED.items()
}
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **COMMON_RESPONSES,
    409: {"model": ErrorBody, "description": "Conflicts with current state"},
    412: {"model": ErrorBody, "description": "`If-Match` names an older version; nothing was changed"},
}


def error_response(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    # Messages and fields may quote the input; a lone surrogate in it must not make the error itself fail.
    field = None if field is None else printable_path(field)
    body = ErrorBody(error=ErrorDetail(code=code, message=printable_path(message), field=field))
    return JSONResponse(body.model_dump(), status_code=status)


def _field(loc: tuple[Any, ...]) -> str | None:
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    return errors.field_path(parts) or (str(loc[0]) if loc else None)


async def _on_api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.field)


async def _on_service_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.ServiceError)
    response = error_response(_STATUS.get(type(exc), 400), exc.code, exc.message, exc.field)
    if isinstance(exc, errors.Busy):
        response.headers["Retry-After"] = "1"
    elif isinstance(exc, errors.RateLimited):
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return response


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    unreadable = unreadable_body(exc, request.headers.get("content-type"))
    if unreadable is not None:
        return error_response(*unreadable)
    found = list(exc.errors())
    if not found:
        return error_response(422, "invalid", "invalid request")
    first = found[0]
    field = _field(tuple(first.get("loc", ())))
    messages = "; ".join(f"{_field(tuple(e.get('loc', ())))}: {e.get('msg', 'invalid')}" for e in found[:5])
    return error_response(422, "invalid", messages, field)


async def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, RecursionError):
        # FastAPI reports a body too deeply nested for the JSON parser as a 400 caused by the parser's error.
        return error_response(422, "invalid", "the body nests objects and lists too deeply to be read")
    code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "http_error")
    response = error_response(exc.status_code, code, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _on_data_error(_: Request, exc: Exception) -> JSONResponse:
    # A value the database cannot hold (out of range, NUL byte) that got past validation is still bad input.
    log.info("database refused a value: %s", exc)
    return error_response(422, "invalid", "a value is not acceptable to the database")


async def _on_integrity_error(_: Request, exc: Exception) -> JSONResponse:
    # Two requests created the same key at once; the loser learns it here.
    log.info("integrity error: %s", exc)
    return error_response(409, "conflict", "conflicts with a concurrent change; retry")


async def _on_database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    # Not the caller's fault and worth retrying: the database is down, restarting, stalled past the connect or
    # statement timeout, has no pooled connection free within the pool timeout, or (SQLite) stayed locked.
    log.warning("database unavailable: %s", exc)
    response = error_response(503, "unavailable", "the database is unavailable; retry shortly")
    response.headers["Retry-After"] = "1"
    return response


async def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal", "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(errors.ServiceError, _on_service_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(DataError, _on_data_error)
    app.add_exception_handler(IntegrityError, _on_integrity_error)
    app.add_exception_handler(OperationalError, _on_database_unavailable)
    app.add_exception_handler(InterfaceError, _on_database_unavailable)
    app.add_exception_handler(PoolTimeout, _on_database_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)
