"""Renders the console's Jinja2 templates into HTML responses, with the headers every console page carries
(a content security policy that allows only this server, no caching, no framing) and the one-shot flash
message. Presentation only: templates format what services return and decide nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

PACKAGE = Path(__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"
STATIC_PATH = "/console/static"
FLASH_COOKIE = "flagstaff_console_flash"
COOKIE_PATH = "/console"
# Every script, style, image and connection comes from this server: the console works offline, and a page
# can never be made to load anything from elsewhere.
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_FLASH_KINDS = ("ok", "error", "info")


def security_headers() -> dict[str, str]:
    return dict(_SECURITY_HEADERS)


def _ago(moment: datetime | None, now: datetime | None = None) -> str:
    """ "3 min ago": how long ago, in the largest whole unit."""
    if moment is None:
        return "never"
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    if seconds < 60:
        return "just now"
    for size, unit in ((86_400, "d"), (3_600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def _value(value: Any) -> str:
    """A variation's value as people read it: `true`, `blue`, `42`, or compact JSON cut at 60 characters."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= 60 else text[:59] + "…"


def _percent(share: float) -> str:
    # Weights are thousandths of a percent, so three decimals say every share exactly.
    return f"{share:.3f}".rstrip("0").rstrip(".") + "%"


def _timestamp(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class Pages:
    """The console's template environment, built once per app."""

    def __init__(self) -> None:
        self.environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,  # a misspelt name fails the test that renders it, not silently
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # Each asset's URL carries a hash of its content, so browsers may cache it and never run a stale one.
        self._versions = {
            path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            for path in STATIC.iterdir()
            if path.is_file()
        }
        self.environment.globals["static_url"] = self.static_url
        self.environment.filters["ago"] = _ago
        self.environment.filters["timestamp"] = _timestamp
        self.environment.filters["value"] = _value
        self.environment.filters["percent"] = _percent
        self.environment.filters["q"] = lambda value: quote(str(value), safe="")

    def static_url(self, name: str) -> str:
        return f"{STATIC_PATH}/{name}?v={self._versions[name]}"

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status: int = 200,
    ) -> HTMLResponse:
        """The page, with the signed-in user (if any) and the pending flash message, which it then clears."""
        flash = _read_flash(request)
        values = {
            "request": request,
            "user": getattr(request.state, "console_user", None),
            "flash": flash,
            **(context or {}),
        }
        body = self.environment.get_template(template).render(values)
        response = HTMLResponse(body, status_code=status, headers=security_headers())
        if flash is not None:
            response.delete_cookie(FLASH_COOKIE, path=COOKIE_PATH)
        return response

    def fragment(self, template: str, context: Mapping[str, Any]) -> str:
        """Part of a page (table rows) as HTML, for the console's own script to swap in."""
        return self.environment.get_template(template).render(context)


def flash(response: Response, request: Request, message: str, kind: str = "ok") -> None:
    """A message for the next page this browser renders: "Killed checkout in production"."""
    response.set_cookie(
        FLASH_COOKIE,
        quote(f"{kind}:{message[:300]}", safe=""),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _read_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    kind, _, message = unquote(raw).partition(":")
    return {"kind": kind if kind in _FLASH_KINDS else "info", "message": message}
