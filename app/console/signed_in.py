"""Who is using the console, as typed dependencies declared once here: `User` (any signed-in key), `Reader`,
`Toggler`, `Editor`, `Manager` (a permission and the path's project), and `Form` (a POST body whose CSRF token
and origin were checked before the route runs).

The session cookie holds a random token only (HttpOnly, SameSite=Strict, Path=/console, Secure over HTTPS);
`app.services.console_session_service` resolves it on every request.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from fastapi.responses import Response

from app.auth.roles import GRANTS, Permission
from app.services.change_transaction import Actor
from app.services.console_session_service import ConsoleIdentity
from app.services.container import Services

SESSION_COOKIE = "flagstaff_console"
COOKIE_PATH = "/console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_MAX_FORM_FIELDS = 200


class SignInRequired(Exception):
    """No valid session: the console answers with the sign-in page (a redirect to it, for a page)."""


class Refused(Exception):
    """A request the console refuses with a readable page: `status`, a title and what to do about it."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """The signed-in admin key, as templates and routes see it: never its secret."""

    identity: ConsoleIdentity
    request_id: str | None

    @property
    def name(self) -> str:
        return self.identity.principal.name

    @property
    def role(self) -> str:
        return self.identity.principal.role.value

    @property
    def project(self) -> str | None:
        """The one project the key is limited to; None for every project."""
        return self.identity.principal.project

    @property
    def csrf_token(self) -> str:
        return self.identity.csrf_token

    @property
    def permissions(self) -> frozenset[Permission]:
        return GRANTS[self.identity.principal.role]

    @property
    def may_toggle(self) -> bool:
        return Permission.TOGGLE in self.permissions

    @property
    def may_edit(self) -> bool:
        return Permission.EDIT in self.permissions

    @property
    def may_manage(self) -> bool:
        return Permission.MANAGE in self.permissions

    def covers(self, project: str) -> bool:
        return self.identity.principal.covers(project)

    @property
    def actor(self) -> Actor:
        """Who the audit log names for this user's changes: the key's name, as for the REST API."""
        return Actor(self.name, self.request_id)


def console_services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(console_services)]


def signed_in(request: Request, services: ServicesDep) -> ConsoleUser:
    identity = services.console_sessions.resolve(request.cookies.get(SESSION_COOKIE))
    if identity is None:
        raise SignInRequired()
    user = ConsoleUser(identity, getattr(request.state, "request_id", None))
    request.state.console_user = user  # for the page layout, error pages included
    return user


User = Annotated[ConsoleUser, Depends(signed_in)]


def require(permission: Permission) -> Callable[..., ConsoleUser]:
    """A dependency admitting users whose role grants `permission` and whose key covers the path's project."""

    def dependency(request: Request, user: User) -> ConsoleUser:
        if permission not in user.permissions:
            raise Refused(403, "Not allowed", f"The {user.role} role may not {permission.value}.")
        project = request.path_params.get("project")
        if project is not None and not user.covers(project):
            raise Refused(403, "Not allowed", f"This key is limited to project {user.project}.")
        return user

    return dependency


Reader = Annotated[ConsoleUser, Depends(require(Permission.READ))]
Toggler = Annotated[ConsoleUser, Depends(require(Permission.TOGGLE))]
Editor = Annotated[ConsoleUser, Depends(require(Permission.EDIT))]
Manager = Annotated[ConsoleUser, Depends(require(Permission.MANAGE))]


def check_origin(request: Request) -> None:
    """Refuses a request another site's page made: by `Sec-Fetch-Site` where the browser sends it (every
    current browser; it needs no knowledge of the server's own address, which a proxy may hide), else by
    `Origin`. Neither header present (curl, an old browser) leaves the decision to the CSRF token."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site not in ("same-origin", "none"):
            raise Refused(403, "Refused", "This form was sent from another site; nothing was done.")
        return
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise Refused(403, "Refused", "This form was sent from another origin; nothing was done.")


async def read_form(request: Request) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body (what the console's forms and script send), first value of
    each field. The request middleware has bounded its size already."""
    body = (await request.body()).decode("utf-8", "replace")
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS)
    except ValueError:
        raise Refused(400, "Unreadable form", "The form sent too many fields.") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value.replace("\x00", ""))
    return form


async def checked_form(request: Request, user: User) -> dict[str, str]:
    """The POST body, once the request is known to come from the console's own page: same origin, and the
    session's CSRF token in the form (`csrf_token`) or the `X-CSRF-Token` header. Checked before the route
    runs, so a refused request changes nothing."""
    check_origin(request)
    form = await read_form(request)
    given = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD, "")
    if not given or not hmac.compare_digest(given.encode(), user.csrf_token.encode()):
        raise Refused(
            403,
            "Refused: the form has expired",
            "The form did not carry this session's security token, so nothing was done. "
            "Reload the page and try again.",
        )
    return form


Form = Annotated[dict[str, str], Depends(checked_form)]


def set_session_cookie(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        # As the server sees the request: behind a proxy, uvicorn takes the scheme from X-Forwarded-Proto
        # when the proxy's address is trusted (FORWARDED_ALLOW_IPS; docs/console.md).
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
