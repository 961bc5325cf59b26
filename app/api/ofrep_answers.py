"""OFREP's answer shapes for the engine's evaluations: a success (`key`, `value`, `reason`, `variant`,
`metadata`), a failure (`key`, `errorCode`, `errorDetails`) and its HTTP status, and the OpenAPI fragments
that document them. Pure: no I/O.
"""

from __future__ import annotations

import json
import time
from typing import Any

from app.services.ofrep_service import CompiledEnvironment
from flagstaff import ErrorCode, Evaluation

# The failure codes OFREP names for an evaluation; any other code of the engine is GENERAL.
_OFREP_CODES = frozenset({"PARSE_ERROR", "TARGETING_KEY_MISSING", "INVALID_CONTEXT", "GENERAL"})


class BadRequest(Exception):
    """A request OFREP answers with 400: `code` is INVALID_CONTEXT or PARSE_ERROR."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details

    def body(self, key: str | None) -> dict[str, Any]:
        found: dict[str, Any] = {"errorCode": self.code, "errorDetails": self.details}
        return found if key is None else {"key": key, **found}


def dumps(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def single(
    environment: CompiledEnvironment, client_only: bool, key: str, context: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """The status and body for one flag: 200, 400 (an evaluation error) or 404 (FLAG_NOT_FOUND)."""
    if client_only and key not in environment.client_side:
        return 404, _not_found(key, environment.revision)
    result = environment.snapshot.evaluate(key, context, time.time())
    if result.error_code is ErrorCode.FLAG_NOT_FOUND:
        return 404, _not_found(key, environment.revision)
    if result.error_code is not None:
        return 400, _failure(key, result)
    return 200, _success(environment, key, result, client_only)


def bulk(
    environment: CompiledEnvironment,
    client_only: bool,
    context: dict[str, Any],
    stream_uri: str | None = None,
) -> dict[str, Any]:
    """Every flag the key may see, each a success or a failure, in key order (so equal answers are equal
    bytes, and share an ETag); with `stream_uri`, the event stream that says when to fetch them again."""
    now = time.time()
    snapshot = environment.snapshot
    keys = sorted(environment.client_side if client_only else snapshot.flags)
    flags = []
    for key in keys:
        result = snapshot.evaluate(key, context, now)
        flags.append(
            _failure(key, result)
            if result.error_code is not None
            else _success(environment, key, result, client_only)
        )
    if stream_uri is None:
        return {"flags": flags}
    # OFREP's event streams: without an origin, a provider connects to the origin it evaluates on.
    return {"flags": flags, "eventStreams": [{"type": "sse", "endpoint": {"requestUri": stream_uri}}]}


def _success(
    environment: CompiledEnvironment, key: str, result: Evaluation, client_only: bool
) -> dict[str, Any]:
    flag = environment.snapshot.flags[key]
    metadata: dict[str, Any] = {} if flag.version < 0 else {"version": flag.version}
    # A rule's id may name who it is for ("staff-only"): a public client key is not told it.
    if result.rule_id is not None and not client_only:
        metadata["rule_id"] = result.rule_id
    answer: dict[str, Any] = {"key": key, "reason": result.reason.value, "metadata": metadata}
    # A killed flag without an off variation serves the caller's default: no value and no variant, so the
    # provider serves its default, as OFREP's providers do for an absent value.
    if result.variation_index is not None:
        answer["value"] = result.value
        answer["variant"] = str(result.variation_index)
    return answer


def _failure(key: str, result: Evaluation) -> dict[str, Any]:
    code = result.error_code.value if result.error_code is not None else "GENERAL"
    if code == "FLAG_NOT_FOUND":
        return {"key": key, "errorCode": code, "errorDetails": result.error_message or ""}
    message = result.error_message or ""
    if code == "TARGETING_KEY_MISSING":
        message = message.partition("; served")[0]  # OFREP's providers serve the default, not the last bucket
    return {"key": key, "errorCode": code if code in _OFREP_CODES else "GENERAL", "errorDetails": message}


def _not_found(key: str, revision: int) -> dict[str, Any]:
    return {
        "key": key,
        "errorCode": "FLAG_NOT_FOUND",
        "errorDetails": f"no flag {key!r} in revision {revision}",
    }


_REQUEST = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"context": {"type": "object", "description": "`targetingKey` and attributes"}},
            }
        }
    }
}
_SUCCESS = {
    "type": "object",
    "required": ["key", "reason"],
    "properties": {
        "key": {"type": "string"},
        "value": {"description": "absent when a killed flag without an off variation serves the default"},
        "reason": {"type": "string"},
        "variant": {"type": "string"},
        "metadata": {"type": "object"},
    },
}
_FAILURE = {
    "type": "object",
    "required": ["errorCode"],
    "properties": {
        "key": {"type": "string"},
        "errorCode": {"type": "string"},
        "errorDetails": {"type": "string"},
    },
}


def _content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


SINGLE_OPENAPI: dict[str, Any] = {
    "requestBody": _REQUEST,
    "responses": {
        "200": {"description": "The evaluation", **_content(_SUCCESS)},
        "400": {"description": "An evaluation error, or a context that cannot be read", **_content(_FAILURE)},
        "401": {"description": "No key, or an unknown or revoked one"},
        "404": {
            "description": "FLAG_NOT_FOUND: no such flag, or one the key may not see",
            **_content(_FAILURE),
        },
    },
}
BULK_OPENAPI: dict[str, Any] = {
    "requestBody": _REQUEST,
    "parameters": [
        {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": "the ETag of the answer you hold",
        }
    ],
    "responses": {
        "200": {
            "description": "Every flag the key may see; ETag names the answer",
            **_content({"type": "object", "properties": {"flags": {"type": "array"}}}),
        },
        "304": {"description": "The answer is the one If-None-Match names"},
        "400": {"description": "A context that cannot be read", **_content(_FAILURE)},
        "401": {"description": "No key, or an unknown or revoked one"},
    },
}
