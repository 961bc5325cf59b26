"""What use cases accept as an entity's fields, checked when built: lengths, and no NUL character (PostgreSQL
text cannot hold one; refusing it here keeps both backends answering alike).

The API takes these as its request bodies unchanged, under the names its OpenAPI document has always used.
Comments, not docstrings, describe the classes: a docstring would become a description in that document.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from app.services.read_models import ScheduleAction
from app.streaming.ack_registry import INSTANCE_ID
from flagstaff.keys import KEY_PATTERN
from flagstaff.limits import MAX_VARIATIONS

MAX_METRIC_COUNT = 10**12
"""One count of a metrics report; far above what an SDK counts between two reports, and far enough below the
64-bit column that a bucket adding millions of reports cannot overflow it."""
MAX_METRIC_SUM = 1e18
"""The magnitude of one `sum` of a metrics report, so that no bucket's sum can overflow to infinity."""
MAX_WEBHOOK_URL_LENGTH = 2000


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


def _flag_key(value: str) -> str:
    if not KEY_PATTERN.fullmatch(value):
        raise ValueError("must be a flag key: 1-200 letters, digits, '_', '-', '.' or ':'")
    return value


# One count of an SDK's metrics report: flag checks (`$evaluation`) or `client.track` outcomes.
class MetricCountIn(BaseModel):
    # Unknown fields are ignored: an SDK newer than the server may report more about a count.
    flag: Annotated[str, AfterValidator(_flag_key)] | None = Field(
        None,
        description="the flag checked, or the one the outcome is attributed to; null for neither",
    )
    variation: int | None = Field(
        None,
        strict=True,
        ge=0,
        lt=MAX_VARIATIONS,
        description="the variation served; null when the caller's default was (flag off, error)",
    )
    event: Text = Field(
        min_length=1,
        max_length=200,
        description="`$evaluation` for flag checks, else the name given to `client.track`",
    )
    count: int = Field(strict=True, ge=0, le=MAX_METRIC_COUNT, description="how many since the last report")
    sum: float = Field(
        0.0,
        allow_inf_nan=False,
        ge=-MAX_METRIC_SUM,
        le=MAX_METRIC_SUM,
        description="the sum of the values tracked with the event (0 for flag checks)",
    )


# What an SDK instance counted between two reports (`POST /sdk/v1/metrics`).
class MetricsReportIn(BaseModel):
    instance: str = Field(
        pattern=f"^{INSTANCE_ID.pattern}$", description="the reporting SDK instance's id (as it polls with)"
    )
    start: float = Field(allow_inf_nan=False, ge=0, description="when counting began (Unix seconds)")
    end: float = Field(allow_inf_nan=False, ge=0, description="when counting ended (Unix seconds)")
    counts: list[MetricCountIn]
    dropped: int = Field(
        0, strict=True, ge=0, le=MAX_METRIC_COUNT, description="counts the SDK could not keep (its bound)"
    )


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


# One step of a rollout plan: the share of the flag's fallthrough served the released variation, held at least
# `dwell_seconds` before the next step (or, after the last, before the plan completes).
class RolloutStepIn(Strict):
    percent: float = Field(
        gt=0,
        le=100,
        strict=True,
        allow_inf_nan=False,
        description="0 < percent <= 100, at most 3 decimals (0.001% steps)",
    )
    dwell_seconds: float = Field(
        ge=0, strict=True, allow_inf_nan=False, description="the least time spent at this step"
    )


# A rollout plan to start: `variation` (the treatment) released to the fallthrough step by step, against
# `control`, with an optional guard that rolls it back when the treatment fails more than the control.
class RolloutIn(Strict):
    flag: Text = Field(min_length=1, max_length=200, description="the flag's key")
    variation: int = Field(ge=0, strict=True, description="the variation released, by index")
    control: int | None = Field(
        None,
        ge=0,
        strict=True,
        description="the variation everyone else keeps, by index; default: the one the fallthrough serves",
    )
    steps: list[RolloutStepIn] = Field(min_length=1, description="strictly increasing percents")
    guard: dict[str, Any] | None = Field(
        None,
        description="source, ratio, min_sample, confidence, failure_event, total_event, on_trip, prometheus",
    )
    reason: Text | None = Field(None, max_length=2000, description="why, for the audit log")


# A secret URL that performs one action on one flag when monitoring calls it (docs/api.md, Triggers).
class TriggerIn(Strict):
    name: Text = Field(
        min_length=1, max_length=200, description="what fires it; its changes are audited as `trigger:<name>`"
    )
    flag: Text = Field(min_length=1, max_length=200, description="the flag's key")
    action: Literal["kill", "on", "off"] = Field(description="what a fire does to the flag here")
    fire_on_resolved: bool = Field(
        False,
        description="also perform the action when the alert resolves; by default a resolved notification "
        "is acknowledged and ignored",
    )


# `flag.kill`, or every action of a kind (`flag.*`), or everything (`*`).
EventPattern = Annotated[str, StringConstraints(pattern=r"^(\*|[a-z_]{1,32}\.(\*|[a-z_]{1,32}))$")]


# A URL that receives a signed event for each audited change of one environment (docs/api.md, Webhooks).
class WebhookIn(Strict):
    name: Text = Field(min_length=1, max_length=200)
    url: Text = Field(min_length=1, max_length=MAX_WEBHOOK_URL_LENGTH, description="http:// or https://")
    events: list[EventPattern] | None = Field(
        None,
        min_length=1,
        max_length=50,
        description="audit actions to send (`flag.kill`, `flag.*`, `schedule.*`, ...); null sends every one",
    )
    secret: Text | None = Field(
        None,
        min_length=16,
        max_length=128,
        description="the key that signs each delivery; left out, one is generated (and shown once)",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if any(character.isspace() or ord(character) < 32 for character in url):
            raise ValueError("must not contain spaces or control characters")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not hold credentials (readers see the URL); check the signature instead")
        try:
            parts.port  # noqa: B018 - reading it checks it
        except ValueError:
            raise ValueError("has an invalid port") from None
        return url
