"""The documented mapping of an Unleash context onto a Flagstaff context.

Standard fields keep their names, ``properties`` are lifted to the top level, ``currentTime`` becomes ``now``,
and ``key`` is the Unleash default stickiness (``userId``, else ``sessionId``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STANDARD_FIELDS = ("userId", "sessionId", "remoteAddress", "environment", "appName")
HOSTNAME = "hostname"
"""The attribute the ``applicationHostname`` strategy is imported against: the application's host name."""


def attribute_for(context_name: str) -> str:
    """The Flagstaff attribute an Unleash ``contextName`` is read from."""
    return "now" if context_name == "currentTime" else context_name


def to_flagstaff_context(context: Mapping[str, Any], *, hostname: str | None = None) -> dict[str, Any]:
    """A Flagstaff context for an Unleash one. ``hostname``: this application's host name, if flags use it.

    Empty and null values are left out, as Unleash treats them as absent.
    """
    result: dict[str, Any] = {}
    properties = context.get("properties")
    if isinstance(properties, Mapping):
        # Standard fields win over a property of the same name, as in Unleash's context resolution.
        result.update({str(k): v for k, v in properties.items() if v is not None})
    for name in STANDARD_FIELDS:
        value = context.get(name)
        if value is not None and value != "":
            result[name] = value
    current_time = context.get("currentTime")
    if current_time is not None and current_time != "":
        result["now"] = current_time
    for name in ("userId", "sessionId"):
        value = context.get(name)
        if isinstance(value, str) and value:
            result["key"] = value
            break
    if hostname is not None:
        result[HOSTNAME] = hostname
    return result
