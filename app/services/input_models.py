"""What use cases accept as an entity's fields, checked when built: lengths, and no NUL character (PostgreSQL
text cannot hold one; refusing it here keeps both backends answering alike).

The API takes these as its request bodies unchanged, under the names its OpenAPI document has always used.
Comments, not docstrings, describe the classes: a docstring would become a description in that document.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from app.services.read_models import ScheduleAction


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
# RFC 3339's date-time: the zone is required (a time without one would mean whatever the server's zone is).
_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)([Zz]|[+-]\d{2}:\d{2})")
_RFC3339_HELP = "must be an RFC 3339 time with a zone, like 2026-12-01T09:00:00Z or 2026-12-01T10:00:00+01:00"


def rfc3339(value: object) -> datetime:
    """An RFC 3339 time as UTC; anything else (no zone, a number, another ISO 8601 form) is refused. Code may
    pass an aware datetime."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    match = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(_RFC3339_HELP)
    date, time, zone = match.groups()
    try:
        return datetime.fromisoformat(f"{date}T{time}{zone.upper()}").astimezone(UTC)
    except (ValueError, OverflowError):  # 2026-02-30, or a zone that takes year 1 out of range
        raise ValueError(_RFC3339_HELP + "; this one is no such time") from None


Rfc3339 = Annotated[datetime, BeforeValidator(rfc3339)]
_TEMPORARY = "true for a release flag meant to be removed once rolled out; false for a permanent one"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlagDefinitionIn(Strict):
    name: Text = Field("", max_length=200, description="a display name; empty means the flag's key")
    description: Text = Field("", max_length=10_000)
    kind: Text = Field(description="boolean, string, number or json (see the flag format)")
    variations: list[Any] = Field(description="the values this flag can serve, referred to by index")
    tags: list[Text] = Field(default=[], max_length=50, description="labels to filter lists by (`?tag=`)")
    temporary: bool = Field(True, description=_TEMPORARY)
    salt: Text | None = Field(None, description="bucketing salt; defaults to the flag key")
    client_side: bool = Field(
        False, description="true: client keys (fs_client_..., public) may evaluate this flag over OFREP"
    )


class FlagDefinitionPatch(Strict):
    """The descriptive fields of a definition; an absent (or null) field is left as it is."""

    name: Text | None = Field(None, max_length=200, description="a display name; empty means the flag's key")
    description: Text | None = Field(None, max_length=10_000)
    tags: list[Text] | None = Field(None, max_length=50, description="replaces the whole list of tags")
    temporary: bool | None = Field(None, description=_TEMPORARY)


class ScheduleIn(Strict):
    flag: Text = Field(min_length=1, max_length=200, description="the flag's key")
    at: Rfc3339 = Field(description="when: an RFC 3339 time with a zone, e.g. 2026-12-01T09:00:00Z")
    action: ScheduleAction = Field(
        description="patch (with `changes`), or one of the switches on, off and kill"
    )
    changes: dict[str, Any] | None = Field(
        None,
        description="patch only: what a PATCH of the flag's targeting would send, without its reason",
    )
    reason: Text | None = Field(
        None, max_length=2000, description="recorded in the audit log; required for kill"
    )
    apply_if_changed: bool = Field(
        False,
        description="false: refuse the change if the flag was written since `if_version`; true: apply anyway",
    )
    if_version: int | None = Field(
        None, ge=1, le=2**53, description="the flag version the change expects; default: the current one"
    )
