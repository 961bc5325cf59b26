"""Composes stored rows into the SDK wire format (flag-format.md) and back into config columns.

Pure functions over rows; the flag shape itself is checked only by the SDK's validator.
"""

from __future__ import annotations

from typing import Any

from app.storage.models import FlagConfig, FlagDefinition, Segment
from flagstaff import FORMAT_VERSION

# The per-environment part of a flag: what PATCH may change and revert restores.
CONFIG_FIELDS = (
    "enabled",
    "off_variation",
    "targets",
    "rules",
    "fallthrough",
    "prerequisites",
    "track_events",
)
SEGMENT_FIELDS = ("included", "excluded", "rules")


def wire_flag(definition: FlagDefinition, config: FlagConfig) -> dict[str, Any]:
    flag = {
        "key": definition.key,
        "kind": definition.kind,
        "variations": definition.variations,
        "enabled": config.enabled,
        "off_variation": config.off_variation,
        "targets": config.targets,
        "rules": config.rules,
        "fallthrough": config.fallthrough,
        "prerequisites": config.prerequisites,
        "salt": definition.salt,
        "version": config.version,
    }
    # Optional in the format and false for nearly every flag: written only when set, so snapshots stay small.
    if config.track_events:
        flag["track_events"] = True
    return flag


def config_values(config: FlagConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in CONFIG_FIELDS}


def apply_config(config: FlagConfig, values: dict[str, Any]) -> None:
    for name in CONFIG_FIELDS:
        setattr(config, name, values[name])


def config_of(flag: dict[str, Any]) -> dict[str, Any]:
    """The targeting fields of a wire-format flag, with the format's defaults for those it leaves out."""
    values = {name: flag[name] for name in CONFIG_FIELDS if name in flag}
    values.setdefault("track_events", False)
    return values


def default_config(kind: str, variations: list[Any]) -> dict[str, Any]:
    """A new flag is off everywhere. A boolean flag serves `false` when off and `true` when simply turned on;
    other kinds serve their first variation either way, so turning one on changes nothing until targeted."""
    off, on = 0, 0
    if kind == "boolean":
        off = variations.index(False) if False in variations else 0
        on = variations.index(True) if True in variations else 0
    return {
        "enabled": False,
        "off_variation": off if variations else None,
        "targets": [],
        "rules": [],
        "fallthrough": {"variation": on},
        "prerequisites": [],
        "track_events": False,
    }


def wire_segment(segment: Segment) -> dict[str, Any]:
    return {
        "key": segment.key,
        "included": segment.included,
        "excluded": segment.excluded,
        "rules": segment.rules,
        "version": segment.version,
    }


def snapshot(revision: int, flags: dict[str, Any], segments: dict[str, Any]) -> dict[str, Any]:
    return {"format": FORMAT_VERSION, "revision": revision, "flags": flags, "segments": segments}
