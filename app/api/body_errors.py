"""Says why a request body could not be read: it was not sent as JSON, or its JSON does not parse.

FastAPI reports both as validation errors (`Input should be a valid dictionary`, a field of `[46]`); these say
what the caller has to change instead. HTTP only; the error shape itself is `app.api.errors`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi.exceptions import RequestValidationError

JSON_MEDIA_TYPE = "application/json"


def unreadable_body(
    exc: RequestValidationError, content_type: str | None
) -> tuple[int, str, str, str] | None:
    """(status, code, message, field) when the body itself is unreadable; None for an ordinary field error."""
    found = list(exc.errors())
    broken = next((error for error in found if error.get("type") == "json_invalid"), None)
    if broken is not None:
        return 422, "invalid", _invalid_json(broken, exc.body), "body"
    # FastAPI leaves a body as bytes exactly when its Content-Type is not JSON, so it never reached a model.
    sent = isinstance(exc.body, bytes | bytearray) and len(exc.body) > 0
    if sent and any(tuple(error.get("loc", ()))[:1] == ("body",) for error in found):
        given = f"this request said {content_type!r}" if content_type else "this request had none"
        message = f"the body must be JSON: send Content-Type: {JSON_MEDIA_TYPE} ({given})"
        return 415, "unsupported_media_type", message, "Content-Type"
    return None


def _invalid_json(error: Mapping[str, Any], document: Any) -> str:
    loc = tuple(error.get("loc", ()))
    position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    reason = str(error.get("ctx", {}).get("error", "not valid JSON"))
    if position is None:
        return f"invalid JSON: {reason}"
    if not isinstance(document, str):
        return f"invalid JSON at position {position}: {reason}"
    # JSONDecodeError computes the line and column of a position in a document; nothing is parsed again.
    located = json.JSONDecodeError(reason, document, position)
    return f"invalid JSON at line {located.lineno}, column {located.colno}: {reason}"
