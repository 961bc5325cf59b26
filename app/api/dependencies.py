"""What routes take from a request besides its parameters, as typed dependencies declared once here: the
services (`ServicesDep`), the calling admin key checked against a permission and the path's project (`Reader`,
`Toggler`, `Editor`, `Manager`), and `If-Match` parsing.

Routes name these aliases instead of reading `app.state`, so what each needs shows in its signature.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from app.api.errors import ApiError
from app.auth.roles import Permission, Principal
from app.services.change_transaction import Actor
from app.services.container import Services

# Declared as security schemes so the OpenAPI document (and its clients) know how to authenticate.
admin_key_header = APIKeyHeader(
    name="Authorization",
    scheme_name="AdminKey",
    auto_error=False,
    description="`Bearer fs_admin_...` (or the bare key)",
)
sdk_key_header = APIKeyHeader(
    name="Authorization",
    scheme_name="SdkKey",
    auto_error=False,
    description="`Bearer fs_sdk_...` (or the bare key)",
)
_VERSION = re.compile(r'\s*(?:W/)?"?(\d{1,15})"?\s*')


def services(request: Request) -> Services:
    """The app's services, for code that holds the request itself; routes declare `ServicesDep` instead."""
    found: Services = request.app.state.services
    return found


async def get_services(request: Request) -> Services:
    # Async, so answered on the event loop: routes that must answer while every worker thread waits on a
    # stalled database (liveness, metrics, readiness) take no thread for it.
    return services(request)


ServicesDep = Annotated[Services, Depends(get_services)]


@dataclass(frozen=True, slots=True)
class Caller:
    """The admin key making a request: what it may do (`principal`), and who its changes are audited as."""

    principal: Principal
    actor: Actor


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" and rest.strip() else header.strip()


def require(permission: Permission) -> Callable[..., Caller]:
    """A dependency admitting admin keys whose role grants `permission` and whose scope covers the path."""

    def dependency(
        request: Request, services: ServicesDep, authorization: str | None = Depends(admin_key_header)
    ) -> Caller:
        token = bearer_token(authorization)
        principal = services.keys.authenticate_admin(token) if token else None
        if principal is None:
            raise ApiError(
                401, "unauthorized", "an admin API key is required: Authorization: Bearer fs_admin_..."
            )
        if not principal.may(permission):
            raise ApiError(403, "forbidden", f"the {principal.role.value} role may not {permission.value}")
        project = request.path_params.get("project")
        if project is not None and not principal.covers(project):
            raise ApiError(
                403, "forbidden", f"this key is limited to project {principal.project!r}", "project"
            )
        return Caller(principal, Actor(principal.name, getattr(request.state, "request_id", None)))

    return dependency


Reader = Annotated[Caller, Depends(require(Permission.READ))]
Toggler = Annotated[Caller, Depends(require(Permission.TOGGLE))]
Editor = Annotated[Caller, Depends(require(Permission.EDIT))]
Manager = Annotated[Caller, Depends(require(Permission.MANAGE))]


def if_match_version(header: str | None) -> int | None:
    """`If-Match: "7"` (or 7, or W/"7") names the version the caller last saw; `*` or nothing means any."""
    if header is None or header.strip() == "*":
        return None
    match = _VERSION.fullmatch(header)
    if match is None:
        raise ApiError(422, "invalid", 'If-Match must be a version number, like "7"', "If-Match")
    return int(match.group(1))
