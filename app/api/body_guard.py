"""Refuses a JSON request body holding text that is not valid Unicode, or nesting deeper than
`FLAGSTAFF_MAX_JSON_DEPTH`, with 422 naming the field: before any route runs, so before anything commits.

Such a value could be stored but never sent back, so every string in a body is checked, keys included.
"""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from app.api.dependencies import ServicesDep
from app.api.errors import ApiError
from flagstaff.json_values import unstorable

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
# Larger bodies are walked on a worker thread, so that a big write never holds up the event loop.
_WALK_INLINE_BYTES = 16_384


async def check_json_body(request: Request, services: ServicesDep) -> None:
    """An app-wide dependency. A route that takes a body has parsed it already (the result is cached on the
    request); a body the route would ignore is ignored here too."""
    if request.method not in _WITH_BODY:
        return
    body = await request.body()
    if not body:
        return
    try:
        value = await request.json()
    except (ValueError, RecursionError):
        return  # a route that reads the body has refused it already; any other ignores it
    depth = services.settings.max_json_depth
    if len(body) <= _WALK_INLINE_BYTES:
        problem = unstorable(value, "", depth)
    else:
        problem = await run_in_threadpool(unstorable, value, "", depth)
    if problem is not None:
        message = f"{problem.path}: {problem.message}" if problem.path else problem.message
        raise ApiError(422, "invalid", message, problem.path or None)
