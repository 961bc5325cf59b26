"""The route class of every console router: turns a failure into a readable page instead of the API's JSON.
No session: the sign-in page (a redirect for a GET, 401 otherwise); a refusal or a service error: an error
page with its status; a script's request (`Accept: application/json`): a small JSON error it can show.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.console.pages import Pages, security_headers
from app.console.signed_in import Refused, SignInRequired, clear_session_cookie
from app.services import errors

log = logging.getLogger(__name__)

_STATUS: dict[type[errors.ServiceError], tuple[int, str]] = {
    errors.NotFound: (404, "Not found"),
    errors.Conflict: (409, "Conflict"),
    errors.VersionMismatch: (412, "Changed meanwhile"),
    errors.InvalidInput: (422, "Invalid input"),
    errors.PermissionDenied: (403, "Not allowed"),
    errors.Busy: (503, "Busy"),
}


def pages(request: Request) -> Pages:
    found: Pages = request.app.state.console_pages
    return found


def wants_json(request: Request) -> bool:
    """The console's script (fetch, EventSource) asks for JSON or events; a browser navigating, for HTML."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept or "text/event-stream" in accept


def refusal_page(request: Request, status: int, title: str, message: str) -> Response:
    if wants_json(request):
        return JSONResponse(
            {"error": {"title": title, "message": message}}, status, headers=security_headers()
        )
    return pages(request).render(
        request, "error.html", {"title": title, "message": message, "status": status}, status=status
    )


def sign_in_answer(request: Request) -> Response:
    if request.method == "GET" and not wants_json(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response: Response = RedirectResponse(f"/console/sign-in?next={quote(target, safe='')}", 303)
    else:
        response = refusal_page(request, 401, "Signed out", "Your session has ended. Sign in again.")
    clear_session_cookie(response, request)
    return response


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except SignInRequired:
                return sign_in_answer(request)
            except Refused as refused:
                return refusal_page(request, refused.status, refused.title, refused.message)
            except errors.ServiceError as error:
                status, title = _STATUS.get(type(error), (400, "Refused"))
                return refusal_page(request, status, title, error.message)
            except RequestValidationError as error:
                found = error.errors()
                where = ".".join(str(part) for part in found[0].get("loc", ())[1:]) if found else ""
                message = f"{where}: {found[0].get('msg', 'invalid')}" if found else "invalid request"
                return refusal_page(request, 422, "Invalid input", message)
            except (OperationalError, InterfaceError, PoolTimeout) as error:
                log.warning("database unavailable: %s", error)
                message = "The database is unavailable. Nothing was changed; retry in a moment."
                return refusal_page(request, 503, "Unavailable", message)

        return handler
