"""OpenAPI schemas for flag data, cut from the SDK's JSON Schema: the snapshot as components, and the request
bodies of PATCH (targeting) and segment PUT. Nothing here describes the flag shape by hand."""

from __future__ import annotations

from typing import Any

import flagstaff
from app.services.wire_format import CONFIG_FIELDS, SEGMENT_FIELDS

_PREFIX = "Snapshot_"


def snapshot_components() -> dict[str, Any]:
    """`Snapshot` plus one `Snapshot_<name>` component per `$defs` entry of the SDK's schema."""
    schema = dict(flagstaff.SNAPSHOT_SCHEMA)
    definitions = schema.pop("$defs", {})
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    components: dict[str, Any] = {"Snapshot": _rewrite(schema)}
    components.update({f"{_PREFIX}{name}": _rewrite(body) for name, body in definitions.items()})
    return components


def flag_patch_body() -> dict[str, Any]:
    properties = _definition("flag")["properties"]
    fields = {name: _rewrite(properties[name]) for name in CONFIG_FIELDS if name in properties}
    return _object({**fields, "reason": {"type": "string", "maxLength": 2000}})


def segment_put_body() -> dict[str, Any]:
    properties = _definition("segment")["properties"]
    fields = {name: _rewrite(properties[name]) for name in SEGMENT_FIELDS if name in properties}
    return _object(
        {**fields, "name": {"type": "string", "maxLength": 200}, "description": {"type": "string"}}
    )


def request_body(schema: dict[str, Any]) -> dict[str, Any]:
    """For a route's `openapi_extra`: replaces the generic object FastAPI infers for a `dict` body."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _definition(name: str) -> dict[str, Any]:
    found: dict[str, Any] = flagstaff.SNAPSHOT_SCHEMA["$defs"][name]
    return found


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties}


def _rewrite(node: Any) -> Any:
    """JSON Schema `#/$defs/x` references become OpenAPI `#/components/schemas/Snapshot_x` ones."""
    if isinstance(node, dict):
        return {
            key: value.replace("#/$defs/", f"#/components/schemas/{_PREFIX}")
            if key == "$ref"
            else _rewrite(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite(item) for item in node]
    return node
