"""The audit log, read-only: `GET /api/v1/audit` with filters and pagination."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query

from app.api.dependencies import Reader, ServicesDep
from app.api.errors import COMMON_RESPONSES, ApiError
from app.api.parameters import Before, EntriesPerPage
from app.api.schemas import AuditPage

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=COMMON_RESPONSES)


@router.get("", summary="Audit entries, newest first")
def list_audit(
    services: ServicesDep,
    caller: Reader,
    project: str | None = Query(None, max_length=64, description="only this project's entries"),
    environment: str | None = Query(None, max_length=64, description="only this environment's entries"),
    flag: str | None = Query(None, max_length=200, description="only entries about this flag"),
    actor: str | None = Query(None, max_length=200, description="only changes by this key name"),
    action: str | None = Query(
        None, max_length=64, description="only entries of this action, e.g. flag.kill"
    ),
    since: datetime | None = Query(None, description="inclusive, RFC 3339"),
    until: datetime | None = Query(None, description="exclusive, RFC 3339"),
    before: Before = None,
    limit: EntriesPerPage = 100,
) -> AuditPage:
    principal = caller.principal
    if principal.project is not None:
        if project is not None and project != principal.project:
            raise ApiError(
                403, "forbidden", f"this key is limited to project {principal.project!r}", "project"
            )
        project = principal.project  # a scoped key sees only its own project's entries
    entries = services.audit.query(
        project=project,
        environment=environment,
        flag=flag,
        actor=actor,
        action=action,
        since=_utc(since, "since"),
        until=_utc(until, "until"),
        before_id=before,
        limit=limit + 1,
    )
    items = entries[:limit]
    return AuditPage(items=items, next=items[-1].id if len(entries) > limit else None)


def _utc(value: datetime | None, field: str) -> datetime | None:
    """Times without a zone are UTC; a time with no UTC equivalent (year 1 at +01:00) is refused."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ApiError(422, "invalid", "time is out of range", field) from None
